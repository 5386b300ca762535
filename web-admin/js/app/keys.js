// The Keys tab: the public key, and replacing the secret (shown once; the
// registry keeps only its hash) for tokens with apps:rotate-secret.
import { api } from "../api.js";
import { confirmDialog, copyButton, errorBox, h } from "../dom.js";
import { can } from "../principal.js";

export async function keysTab(body, { slug, reload }) {
  const out = h("div", { "aria-live": "polite" });
  const app = await reload();
  if (!app) return;
  body.append(
    h(
      "div",
      { class: "panel" },
      h("p", {}, "Public key: ", h("code", {}, app.public_key), " ", copyButton(app.public_key)),
      h("p", { class: "muted" }, "The secret authenticates your backend to the tenant server API (", h("code", {}, `/apps/${slug}/api/v1/…`), ", ", h("code", {}, "Authorization: Bearer <secret>"), "). It is stored hashed: a lost secret cannot be shown, only replaced."),
      can("apps:rotate-secret") &&
      h(
        "button",
        {
          type: "button",
          id: "rotate",
          onclick: async () => {
            const ok = await confirmDialog("Replace the secret?", "The current secret stops working at once; your backend needs the new one.", "Replace secret", true);
            if (!ok) return;
            try {
              const key = await api("POST", `/apps/${slug}/secret`);
              out.replaceChildren(h("div", { class: "alert ok", role: "alert" }, h("p", {}, "The new secret, shown this once:"), h("div", { class: "secret" }, h("code", {}, key.secret), copyButton(key.secret))));
            } catch (error) {
              out.replaceChildren(errorBox(error));
            }
          },
        },
        "Replace secret",
      ),
      out,
    ),
  );
}
