// Who is signed in: the principal from GET /whoami (label, role, tenant,
// apps, permissions), read once per sign-in and per page load. Every page
// and control asks `can(permission)` before it offers something, never the
// role's name, so the UI follows the server's table of roles; the server
// checks every call again (a refusal is shown by errorBox).
import { api } from "./api.js";
import { h } from "./dom.js";

/** The roles from least to most; a token may make tokens at or below its own. */
export const ROLES = ["viewer", "deployer", "tenant-owner", "platform-admin"];

let current = null;

/** Asks the server who the token is; rejects with the ApiError (401: not valid). */
export async function loadPrincipal() {
  current = await api("GET", "/whoami");
  return current;
}

export function principal() {
  return current;
}

export function forgetPrincipal() {
  current = null;
}

export function can(permission) {
  return Boolean(current?.permissions?.includes(permission));
}

/** The roles a token of `role` may give to the tokens it makes. */
export function rolesAtOrBelow(role) {
  return ROLES.slice(0, ROLES.indexOf(role) + 1);
}

/** "tenant acme", "tenant acme, apps chat, news", or "platform". */
export function scopeText({ tenant, apps }) {
  if (!tenant) return "platform";
  return apps ? `tenant ${tenant}, apps ${apps.join(", ") || "(none)"}` : `tenant ${tenant}`;
}

/** The header's "signed in as": label, role, scope. */
export function whoBadge(p) {
  return [
    h("span", { class: "visually-hidden" }, "Signed in as "),
    h("strong", { id: "who-label" }, p.label),
    " ",
    h("span", { class: "badge", id: "who-role" }, p.role),
    " ",
    h("span", { class: "muted", id: "who-scope" }, scopeText(p)),
  ];
}

/** A page the token may not open (a typed or stale link): says why, plainly. */
export function notAllowed(permission) {
  return h(
    "div",
    { class: "alert error", role: "alert" },
    h("strong", {}, "Not allowed: "),
    `this page needs the permission ${permission}, which a ${current?.role ?? "signed-in"} token does not have.`,
  );
}
