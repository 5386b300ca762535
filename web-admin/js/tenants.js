// Every tenant with its quota and use, and creating one (tenants:manage, a
// platform token), and the platform's ceilings and defaults (platform:read).
// A tenant's own page (tenant.js) edits its quota.
import { api } from "./api.js";
import { errorBox, formatTime, h, toast } from "./dom.js";
import { can } from "./principal.js";
import { QUOTAS, connectedNow, quotaCell, quotaFields } from "./quota.js";
import { dataTable } from "./table.js";

const COLUMNS = [
  { label: "Tenant", cell: (t) => h("a", { href: `#/tenants/${encodeURIComponent(t.slug)}` }, t.slug) },
  { label: "Name", cell: (t) => t.name },
  ...QUOTAS.map((q) => ({ label: `${q.label} (used / max)`, class: q.key === "max_apps" ? "num" : "num hide-narrow", cellClass: `quota-${q.key}`, cell: (t) => quotaCell(t, q) })),
  { label: "Connected now", class: "num", cell: (t) => connectedNow(t) },
  { label: "Created", class: "hide-narrow", cell: (t) => formatTime(t.created_at) },
];

export async function tenantsPage({ main }) {
  const list = h("div", { class: "panel table-wrap", id: "tenants" }, h("p", { class: "muted" }, "Loading tenants…"));
  const status = h("div", { "aria-live": "polite" });
  main.append(
    h("h1", {}, "Tenants"),
    h("p", { class: "muted" }, "A tenant owns apps; its quota caps how many, and the sums of their limits. Its tokens (tenant-owner, deployer, viewer) see only its apps."),
    createForm(status, list),
    status,
    h("h2", {}, "All tenants"),
    list,
  );
  if (can("platform:read")) main.append(h("h2", {}, "Platform ceilings"), platformPanel());
  await refresh(list);
}

const NUMBER = new Intl.NumberFormat("en");

/** GET /platform: how far a tenant's quota and an app's limits may go, and what new ones get. */
function platformPanel() {
  const el = h("div", { class: "panel table-wrap", id: "platform" }, h("p", { class: "muted" }, "Loading…"));
  const columns = (defaults) => [
    { label: "Setting", cellClass: "mono", cell: (c) => c.name },
    { label: "Default", class: "num", cell: (c) => (defaults?.[c.name] === undefined ? "—" : NUMBER.format(defaults[c.name])) },
    { label: "Range", class: "num", cell: (c) => `${NUMBER.format(c.min)} – ${NUMBER.format(c.max)}` },
  ];
  api("GET", "/platform").then(
    (p) =>
      el.replaceChildren(
        h("p", { class: "muted" }, "Fixed in this release: no tenant's quota and no app's limit may go past them."),
        h("h3", {}, "A tenant's quota"),
        dataTable(columns(p.default_tenant_quota), p.tenant_quota),
        h("h3", {}, "An app's limits"),
        dataTable(columns(p.default_app_limits), p.app_limits),
      ),
    (error) => el.replaceChildren(errorBox(error)),
  );
  return el;
}

async function refresh(list) {
  try {
    const tenants = await api("GET", "/tenants");
    list.replaceChildren(dataTable(COLUMNS, tenants, { rowAttrs: (t) => ({ "data-tenant": t.slug }) }));
  } catch (error) {
    list.replaceChildren(errorBox(error));
  }
}

function createForm(status, list) {
  const slug = h("input", { id: "tenant-slug", name: "slug", required: true, maxlength: 63, pattern: "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?", placeholder: "acme" });
  const name = h("input", { id: "tenant-name", name: "name", maxlength: 200, placeholder: "Acme (optional)" });
  const quota = quotaFields("tenant-quota");
  const button = h("button", { type: "submit" }, "Create tenant");
  return h(
    "form",
    {
      class: "panel stack",
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        const q = quota.read();
        if (!q) {
          status.replaceChildren(h("div", { class: "alert error", role: "alert" }, "Nothing was created: fix the highlighted quota."));
          return;
        }
        button.disabled = true;
        try {
          const body = { slug: slug.value.trim() };
          if (name.value.trim()) body.name = name.value.trim();
          if (Object.keys(q).length) body.quota = q;
          const tenant = await api("POST", "/tenants", body);
          toast(`Tenant ${tenant.slug} created`);
          status.replaceChildren(
            h("div", { class: "alert ok", role: "alert" }, `Tenant ${tenant.slug} created. `, h("a", { href: "#/tokens" }, "Make a tenant-owner token for it →")),
          );
          slug.value = "";
          name.value = "";
          await refresh(list);
        } catch (error) {
          status.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", {}, "Create a tenant"),
    h("label", { for: "tenant-slug" }, "Slug", slug, h("span", { class: "hint" }, "Lowercase letters, digits and -.")),
    h("label", { for: "tenant-name" }, "Name", name),
    h("details", {}, h("summary", {}, "Quota (blank: the platform's default)"), quota.el),
    h("div", {}, button),
  );
}
