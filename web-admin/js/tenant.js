// One tenant (tenants:read: a tenant-owner its own, a platform token any):
// its quota and how much of it its apps take, its apps, and its members
// (its tokens: label, role, scope, last used) with tokens:manage. With
// tenants:manage (platform) its quota can be changed here.
import { api } from "./api.js";
import { confirmDialog, errorBox, formatTime, h, toast } from "./dom.js";
import { can } from "./principal.js";
import { quotaFields, quotaUse } from "./quota.js";
import { dataTable } from "./table.js";
import { MEMBER_COLUMNS } from "./tokens.js";

const APP_COLUMNS = [
  { label: "App", cell: (a) => h("a", { href: `#/apps/${a.slug}` }, a.slug) },
  { label: "Name", cell: (a) => a.name },
  { label: "Version", class: "num", cell: (a) => a.active_version ?? "—" },
  { label: "Max connections", class: "num hide-narrow", cell: (a) => a.limits?.max_connections ?? "—" },
  { label: "Connections", class: "num", cell: (a) => a.connections },
];

export async function tenantPage({ main }, slug) {
  const use = h("div", { id: "tenant-quota" }, h("p", { class: "muted" }, "Loading…"));
  const apps = h("div", { class: "panel table-wrap", id: "tenant-apps" });
  const members = h("div", { class: "panel table-wrap", id: "members" });
  const title = h("h1", {}, "Tenant ", h("span", { class: "mono" }, slug));
  main.append(
    can("tenants:manage") ? h("p", {}, h("a", { href: "#/tenants" }, "← All tenants")) : "",
    title,
    h("h2", {}, "Quota use"),
    use,
    h("h2", {}, "Apps"),
    apps,
  );
  if (can("tokens:manage")) {
    main.append(
      h("h2", {}, "Members ", h("span", { class: "muted" }, "(its tokens) "), h("a", { href: "#/tokens", class: "small" }, "Manage tokens →")),
      members,
    );
  }
  const tenant = await show(slug, title, use);
  if (!tenant) return;
  api("GET", "/apps").then(
    (all) => {
      const mine = all.filter((a) => a.tenant === slug);
      apps.replaceChildren(mine.length ? dataTable(APP_COLUMNS, mine, { rowAttrs: (a) => ({ "data-app": a.slug }) }) : h("p", { class: "empty" }, "No apps in this tenant yet."));
    },
    (error) => apps.replaceChildren(errorBox(error)),
  );
  if (can("tokens:manage")) {
    api("GET", "/tokens").then(
      (all) => {
        const mine = all.filter((t) => t.tenant === slug);
        members.replaceChildren(mine.length ? dataTable(MEMBER_COLUMNS, mine, { rowAttrs: (t) => ({ "data-token-id": t.id }) }) : h("p", { class: "empty" }, "No tokens for this tenant yet."));
      },
      (error) => members.replaceChildren(errorBox(error)),
    );
  }
  if (can("tenants:manage")) main.append(h("h2", {}, "Quota"), quotaForm(tenant, title, use), h("h2", {}, "Delete"), deleteTenant(tenant));
}

/** Deleting a tenant (tenants:manage): only once it has no apps; its tokens go with it. */
function deleteTenant(tenant) {
  const status = h("div", { "aria-live": "polite" });
  const apps = tenant.usage?.apps ?? 0;
  const button = h(
    "button",
    {
      type: "button",
      class: "danger",
      id: "delete-tenant",
      disabled: apps > 0 || tenant.slug === "default",
      onclick: async () => {
        const sure = await confirmDialog(`Delete tenant ${tenant.slug}?`, "Its tokens stop working at once, on every node. This cannot be undone.", "Delete", true);
        if (!sure) return;
        try {
          await api("DELETE", `/tenants/${encodeURIComponent(tenant.slug)}`);
          toast(`Deleted tenant ${tenant.slug}`);
          location.hash = "#/tenants";
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      },
    },
    "Delete tenant",
  );
  const why =
    tenant.slug === "default"
      ? "The default tenant cannot be deleted."
      : apps > 0
        ? `It still has ${apps} app${apps === 1 ? "" : "s"}: delete them first.`
        : "It has no apps; its tokens are deleted with it.";
  return h("div", { class: "panel" }, h("p", { class: "muted" }, why), h("p", {}, button), status);
}

/** Reads the tenant and shows its quota use; null (with the error shown) if that fails. */
async function show(slug, title, use) {
  try {
    const tenant = await api("GET", `/tenants/${encodeURIComponent(slug)}`);
    title.replaceChildren("Tenant ", h("span", { class: "mono" }, tenant.slug), tenant.name && tenant.name !== tenant.slug ? h("span", { class: "muted" }, ` ${tenant.name}`) : "");
    use.replaceChildren(quotaUse(tenant), h("p", { class: "muted" }, `Created ${formatTime(tenant.created_at)}.`));
    return tenant;
  } catch (error) {
    use.replaceChildren(errorBox(error));
    return null;
  }
}

function quotaForm(tenant, title, use) {
  const fields = quotaFields("quota", tenant.quota);
  const status = h("div", { "aria-live": "polite" });
  return h(
    "form",
    {
      class: "panel",
      id: "quota-form",
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        const quota = fields.read();
        if (!quota) {
          status.replaceChildren(h("div", { class: "alert error", role: "alert" }, "Nothing was saved: fix the highlighted quota."));
          return;
        }
        try {
          await api("PATCH", `/tenants/${encodeURIComponent(tenant.slug)}`, { quota });
          status.replaceChildren(h("div", { class: "alert ok", role: "alert" }, "Saved. New apps and limit changes are held to it from now on."));
          await show(tenant.slug, title, use);
        } catch (error) {
          // A quota below what the apps already take is refused with the numbers.
          status.replaceChildren(errorBox(error));
        }
      },
    },
    fields.el,
    h("p", {}, h("button", { type: "submit", id: "save-quota" }, "Save quota")),
    status,
  );
}
