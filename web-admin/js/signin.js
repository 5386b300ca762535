import { session } from "./api.js";
import { errorBox, h } from "./dom.js";
import { forgetPrincipal, loadPrincipal } from "./principal.js";

export function signinPage({ main }) {
  const notice = sessionStorage.getItem("eddy.admin.notice");
  sessionStorage.removeItem("eddy.admin.notice");
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
    placeholder: "et_…",
  });
  const status = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "stack panel",
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        session.set(input.value.trim());
        try {
          // Who the token is decides what the UI offers from here on.
          await loadPrincipal();
          location.hash = "#/";
        } catch (error) {
          session.clear();
          forgetPrincipal();
          status.append(
            errorBox(
              error.status === 401
                ? { message: "That token is not valid. Use the token printed at the server's first start, or one made with `eddy token`." }
                : error,
            ),
          );
          input.focus();
        }
      },
    },
    h("label", { for: "token" }, "Admin token", input, h("span", { class: "hint" }, "Kept in this tab only (session storage); signing out forgets it.")),
    h("div", {}, h("button", { type: "submit" }, "Sign in")),
    status,
  );
  main.append(h("h1", {}, "Sign in"));
  if (notice) main.append(h("div", { class: "alert error", role: "alert" }, notice));
  main.append(form);
  input.focus();
}
