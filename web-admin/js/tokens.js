// Admin tokens (tokens:manage): the tokens in scope (a tenant-owner sees its
// tenant's; never the secrets), creating one (shown once) with a role at or
// below the signed-in one, a scope inside its own and an optional expiry,
// and revoking one (calls with it get 401 at once).
import { api } from "./api.js";
import { confirmDialog, copyButton, errorBox, formatTime, h, toast } from "./dom.js";
import { principal, rolesAtOrBelow, scopeText } from "./principal.js";
import { dataTable } from "./table.js";

const EXPIRIES = [
  ["", "Never"],
  [String(3600), "1 hour"],
  [String(86400), "1 day"],
  [String(7 * 86400), "7 days"],
  [String(30 * 86400), "30 days"],
  [String(90 * 86400), "90 days"],
  [String(365 * 86400), "1 year"],
];

// Roles that may be limited to some apps of their tenant.
const APP_SCOPED = ["deployer", "viewer"];

function stateOf(t) {
  if (t.revoked_at) return ["revoked", "down"];
  if (t.expires_at && t.expires_at <= Date.now()) return ["expired", "retired"];
  return ["active", "active"];
}

/** A token as a member of a tenant: also the tenant page's members table. */
export const MEMBER_COLUMNS = [
  { label: "Label", cellClass: "token-label", cell: (t) => [t.label, t.configured ? h("span", { class: "muted" }, " (EDDY_ADMIN_TOKEN)") : null] },
  { label: "Role", cellClass: "token-role", cell: (t) => h("span", { class: "badge" }, t.role) },
  { label: "Scope", cellClass: "token-scope", cell: (t) => scopeText(t) },
  {
    label: "State",
    cell: (t) => {
      const [state, badge] = stateOf(t);
      return h("span", { class: `badge ${badge}` }, state);
    },
  },
  { label: "Last used", cell: (t) => formatTime(t.last_used_at) },
];

export async function tokensPage({ main }) {
  const list = h("div", { class: "panel table-wrap", id: "tokens" }, h("p", { class: "muted" }, "Loading tokens…"));
  const created = h("div", { "aria-live": "polite" });
  const { tenant } = principal();
  main.append(
    h("h1", {}, "Admin tokens"),
    h(
      "p",
      { class: "muted" },
      "Tokens are stored hashed: a token is shown once, when it is made. Revoking one ends every session that uses it.",
      tenant ? ` You see and make the tokens of tenant ${tenant}.` : "",
    ),
    createForm(created, list),
    created,
    h("h2", {}, tenant ? `Tokens of tenant ${tenant}` : "All tokens"),
    list,
  );
  await refresh(list);
}

async function refresh(list) {
  try {
    const tokens = await api("GET", "/tokens");
    const columns = [
      { label: "Id", class: "num", cell: (t) => t.id },
      ...MEMBER_COLUMNS.slice(0, 4),
      { label: "Created", class: "hide-narrow", cell: (t) => formatTime(t.created_at) },
      MEMBER_COLUMNS[4],
      { label: "Expires", class: "hide-narrow", cell: (t) => (t.expires_at ? formatTime(t.expires_at) : "never") },
      { label: h("span", { class: "visually-hidden" }, "Actions"), cell: (t) => revokeButton(t, list) },
    ];
    list.replaceChildren(dataTable(columns, tokens, { rowAttrs: (t) => ({ "data-token-id": t.id }) }));
  } catch (error) {
    list.replaceChildren(errorBox(error));
  }
}

function revokeButton(token, list) {
  if (stateOf(token)[0] === "revoked") return null;
  return h(
    "button",
    { type: "button", class: "ghost", "aria-label": `Revoke token ${token.id} (${token.label})`, onclick: () => revoke(token, list) },
    "Revoke",
  );
}

async function revoke(token, list) {
  const ok = await confirmDialog(
    `Revoke token ${token.id}?`,
    `Every call with “${token.label}” gets 401 from now on. If it is the token you signed in with, you are signed out.`,
    "Revoke",
    true,
  );
  if (!ok) return;
  try {
    await api("DELETE", `/tokens/${token.id}`);
    toast(`Token ${token.id} revoked`);
    await refresh(list);
  } catch (error) {
    list.prepend(errorBox(error));
  }
}

/**
 * The new token's scope: its tenant (a platform token chooses one, or none
 * for a platform-admin; a tenant token's is its own) and, for the roles
 * that may have one, a list of that tenant's apps (none ticked: every app).
 */
function scopeFields(role) {
  const own = principal().tenant;
  const tenant = own
    ? h("select", { id: "token-tenant", name: "tenant", disabled: true }, h("option", { value: own }, own))
    : h("select", { id: "token-tenant", name: "tenant" });
  const apps = h("div", { class: "checks", id: "token-apps" });
  const appsField = h(
    "fieldset",
    { class: "scope-apps" },
    h("legend", {}, "Apps"),
    apps,
    h("span", { class: "hint" }, "None ticked: every app of the tenant, including later ones."),
  );
  let allApps = [];
  const sync = () => {
    const platform = role.value === "platform-admin";
    tenant.disabled = Boolean(own) || platform;
    appsField.hidden = platform || !APP_SCOPED.includes(role.value);
    const chosen = own ?? tenant.value;
    const ticked = new Set([...apps.querySelectorAll("input:checked")].map((i) => i.value));
    const inTenant = allApps.filter((a) => a.tenant === chosen);
    apps.replaceChildren(
      ...(inTenant.length
        ? inTenant.map((a) => h("label", { class: "check" }, h("input", { type: "checkbox", value: a.slug, checked: ticked.has(a.slug) }), a.slug))
        : [h("span", { class: "muted" }, "No apps in this tenant yet.")]),
    );
  };
  role.addEventListener("change", sync);
  tenant.addEventListener("change", sync);
  Promise.all([
    own ? null : api("GET", "/tenants").then((ts) => tenant.replaceChildren(...ts.map((t) => h("option", { value: t.slug }, t.slug)))),
    api("GET", "/apps").then((as) => (allApps = as)),
  ]).then(sync, () => sync());
  sync();
  return {
    el: [h("label", { for: "token-tenant" }, "Tenant", tenant, own ? null : h("span", { class: "hint" }, "Not used for a platform-admin token.")), appsField],
    /** The scope part of the POST /tokens body. */
    read() {
      if (role.value === "platform-admin") return {};
      const body = { tenant: own ?? tenant.value };
      const ticked = [...apps.querySelectorAll("input:checked")].map((i) => i.value);
      if (APP_SCOPED.includes(role.value) && ticked.length) body.apps = ticked;
      return body;
    },
  };
}

function createForm(created, list) {
  const label = h("input", { id: "token-label", name: "label", required: true, maxlength: 100, placeholder: "ci" });
  const mine = principal().role;
  const role = h(
    "select",
    { id: "token-role", name: "role" },
    rolesAtOrBelow(mine)
      .reverse()
      .map((r) => h("option", { value: r, selected: r === mine }, r)),
  );
  const scope = scopeFields(role);
  const expiry = h(
    "select",
    { id: "token-expiry", name: "expiry" },
    EXPIRIES.map(([value, text]) => h("option", { value }, text)),
  );
  const button = h("button", { type: "submit" }, "Create token");
  return h(
    "form",
    {
      class: "panel stack",
      id: "token-form",
      onsubmit: async (e) => {
        e.preventDefault();
        created.replaceChildren();
        button.disabled = true;
        try {
          const body = { label: label.value.trim(), role: role.value, ...scope.read() };
          if (expiry.value) body.expires_in_seconds = Number(expiry.value);
          const result = await api("POST", "/tokens", body);
          created.replaceChildren(
            h(
              "div",
              { class: "alert ok", role: "alert" },
              h("p", {}, h("strong", {}, `Token ${result.id} (${result.label}) created`), ` for ${result.role ?? role.value}, ${scopeText(result.role ? result : body)}. It is shown this once:`),
              h("div", { class: "secret" }, h("code", { id: "new-token" }, result.token), copyButton(result.token)),
              h("p", {}, result.expires_at ? `It expires ${formatTime(result.expires_at)}.` : "It does not expire."),
            ),
          );
          label.value = "";
          await refresh(list);
        } catch (error) {
          created.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", {}, "Create a token"),
    h("label", { for: "token-label" }, "Label", label, h("span", { class: "hint" }, "Who or what it is for; shown in the list and the audit log.")),
    h("label", { for: "token-role" }, "Role", role, h("span", { class: "hint" }, "At most your own role.")),
    scope.el,
    h("label", { for: "token-expiry" }, "Expires after", expiry),
    h("div", {}, button),
  );
}
