// The Delete tab: deleting the app, confirmed by typing its slug.
import { api } from "../api.js";
import { errorBox, h, toast } from "../dom.js";

export function deleteTab(body, { app }) {
  const confirmInput = h("input", { id: "confirm-slug", placeholder: app.slug });
  const out = h("div", { "aria-live": "polite" });
  body.append(
    h(
      "form",
      {
        class: "panel stack",
        onsubmit: async (e) => {
          e.preventDefault();
          if (confirmInput.value.trim() !== app.slug) {
            out.replaceChildren(h("div", { class: "alert error", role: "alert" }, `Type ${app.slug} to confirm.`));
            return;
          }
          try {
            await api("DELETE", `/apps/${app.slug}`);
            toast(`Deleted ${app.slug}`);
            location.hash = "#/apps";
          } catch (error) {
            out.replaceChildren(errorBox(error));
          }
        },
      },
      h("p", {}, "Deleting the app disconnects its clients and deletes its versions, its key-value data and its key. This cannot be undone."),
      h("label", { for: "confirm-slug" }, `Type ${app.slug} to confirm`, confirmInput),
      h("div", {}, h("button", { type: "submit", class: "danger" }, "Delete app")),
      out,
    ),
  );
}
