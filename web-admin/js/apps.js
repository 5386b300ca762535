// The apps list (the apps in the token's scope), and creating an app (its
// secret is shown once) for tokens with apps:create.
import { api } from "./api.js";
import { copyButton, errorBox, formatTime, h } from "./dom.js";
import { faultedBadge } from "./faulted.js";
import { can, principal } from "./principal.js";
import { dataTable } from "./table.js";

const COLUMNS = [
  { label: "App", cell: (a) => [h("a", { href: `#/apps/${a.slug}` }, a.slug), faultedBadge(a.faulted_for_ms)] },
  { label: "Name", cell: (a) => a.name },
  { label: "Version", class: "num", cell: (a) => a.active_version ?? "—" },
  { label: "Connections", class: "num", cell: (a) => a.connections },
  { label: "Created", class: "hide-narrow", cell: (a) => formatTime(a.created_at) },
];

// A platform token sees every tenant's apps: which one each is in.
const TENANT_COLUMN = {
  label: "Tenant",
  cell: (a) => (can("tenants:read") ? h("a", { href: `#/tenants/${encodeURIComponent(a.tenant)}` }, a.tenant) : a.tenant),
};

export async function appsPage({ main }) {
  const list = h("div", { class: "panel table-wrap", id: "apps" }, h("p", { class: "muted" }, "Loading apps…"));
  const created = h("div", { "aria-live": "polite" });
  const { tenant } = principal();
  main.append(h("h1", {}, "Apps"));
  if (can("apps:create")) main.append(createForm(created, list), created);
  main.append(h("h2", {}, tenant ? `Apps of tenant ${tenant}` : "All apps"), list);
  await refresh(list);
}

async function refresh(list) {
  try {
    const apps = await api("GET", "/apps");
    if (!apps.length) {
      list.replaceChildren(h("p", { class: "empty" }, can("apps:create") ? "No apps yet. Create the first one above." : "No apps that this token may see."));
      return;
    }
    const columns = principal().tenant ? COLUMNS : [COLUMNS[0], TENANT_COLUMN, ...COLUMNS.slice(1)];
    list.replaceChildren(dataTable(columns, apps, { rowAttrs: (a) => ({ "data-app": a.slug }) }));
  } catch (error) {
    list.replaceChildren(errorBox(error));
  }
}

/** A platform token chooses the tenant (from the tenants it may list); others create in their own. */
async function tenantChoice() {
  if (principal().tenant || !can("tenants:manage")) return null;
  const select = h("select", { id: "new-tenant", name: "tenant" }, h("option", { value: "default" }, "default"));
  api("GET", "/tenants").then(
    (tenants) => select.replaceChildren(...tenants.map((t) => h("option", { value: t.slug, selected: t.slug === "default" }, t.name && t.name !== t.slug ? `${t.slug} (${t.name})` : t.slug))),
    () => {}, // the default tenant is still offered; the list's error shows elsewhere
  );
  return select;
}

function createForm(created, list) {
  const slug = h("input", { id: "new-slug", name: "slug", required: true, pattern: "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?", maxlength: 63, placeholder: "chat" });
  const name = h("input", { id: "new-name", name: "name", maxlength: 200, placeholder: "Chat (optional)" });
  const tenantField = h("div");
  let tenant = null;
  tenantChoice().then((select) => {
    tenant = select;
    if (select) tenantField.replaceChildren(h("label", { for: "new-tenant" }, "Tenant", select, h("span", { class: "hint" }, "Its quota bounds the app's limits.")));
  });
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
          const body = { slug: slug.value.trim(), name: name.value.trim() || null };
          if (tenant) body.tenant = tenant.value;
          const result = await api("POST", "/apps", body);
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
          await refresh(list);
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
    tenantField,
    h("div", {}, button),
  );
}
