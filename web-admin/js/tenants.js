// Every tenant with its quota and use, and creating one (tenants:manage, a
// platform token). A tenant's own page (tenant.js) edits its quota.
import { api } from "./api.js";
import { errorBox, formatTime, h, toast } from "./dom.js";
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
  await refresh(list);
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
