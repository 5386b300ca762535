// The apps list, and creating an app (its secret is shown once).
import { api } from "./api.js";
import { copyButton, errorBox, formatTime, h } from "./dom.js";
import { faultedBadge } from "./faulted.js";
import { dataTable } from "./table.js";

const COLUMNS = [
  { label: "App", cell: (a) => [h("a", { href: `#/apps/${a.slug}` }, a.slug), faultedBadge(a.faulted_for_ms)] },
  { label: "Name", cell: (a) => a.name },
  { label: "Version", class: "num", cell: (a) => a.active_version ?? "—" },
  { label: "Connections", class: "num", cell: (a) => a.connections },
  { label: "Created", class: "hide-narrow", cell: (a) => formatTime(a.created_at) },
];

export async function appsPage({ main }) {
  const list = h("div", { class: "panel table-wrap" }, h("p", { class: "muted" }, "Loading apps…"));
  const created = h("div", { "aria-live": "polite" });
  main.append(h("h1", {}, "Apps"), createForm(created), created, h("h2", {}, "All apps"), list);
  await refresh(list);
}

async function refresh(list) {
  try {
    const apps = await api("GET", "/apps");
    if (!apps.length) {
      list.replaceChildren(h("p", { class: "empty" }, "No apps yet. Create the first one above."));
      return;
    }
    list.replaceChildren(dataTable(COLUMNS, apps));
  } catch (error) {
    list.replaceChildren(errorBox(error));
  }
}

function createForm(created) {
  const slug = h("input", { id: "new-slug", name: "slug", required: true, pattern: "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?", maxlength: 63, placeholder: "chat" });
  const name = h("input", { id: "new-name", name: "name", maxlength: 200, placeholder: "Chat (optional)" });
  const button = h("button", { type: "submit" }, "Create app");
  return h(
    "form",
    {
      class: "panel stack",
      onsubmit: async (e) => {
        e.preventDefault();
        created.replaceChildren();
        button.disabled = true;
        try {
          const result = await api("POST", "/apps", { slug: slug.value.trim(), name: name.value.trim() || null });
          created.replaceChildren(
            h(
              "div",
              { class: "alert ok", role: "alert" },
              h("p", {}, h("strong", {}, `App ${result.app.slug} created.`), " Clients connect at ", h("code", {}, `/apps/${result.app.slug}/socket.io/`), "."),
              h("p", {}, "Its secret (for your backend and the tenant server API) is shown this once:"),
              h("div", { class: "secret" }, h("code", { id: "new-secret" }, result.secret), copyButton(result.secret)),
              h("p", {}, "Public key: ", h("code", {}, result.public_key)),
              h("p", {}, h("a", { href: `#/apps/${result.app.slug}` }, "Go to the app to deploy a handler →")),
            ),
          );
          slug.value = "";
          name.value = "";
          await refresh(document.querySelector("main .panel.table-wrap"));
        } catch (error) {
          created.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", {}, "Create an app"),
    h("label", { for: "new-slug" }, "Slug", slug, h("span", { class: "hint" }, "Lowercase letters, digits and -; it is part of the URL.")),
    h("label", { for: "new-name" }, "Name", name),
    h("div", {}, button),
  );
}
