// Admin tokens: the list (never the secrets), creating one (shown once,
// optionally expiring), revoking one (calls with it get 401 at once).
import { api } from "./api.js";
import { confirmDialog, copyButton, errorBox, formatTime, h, toast } from "./dom.js";
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

export async function tokensPage({ main }) {
  const list = h("div", { class: "panel table-wrap", id: "tokens" }, h("p", { class: "muted" }, "Loading tokens…"));
  const created = h("div", { "aria-live": "polite" });
  main.append(
    h("h1", {}, "Admin tokens"),
    h(
      "p",
      { class: "muted" },
      "Tokens are stored hashed: a token is shown once, when it is made. Revoking one ends every session that uses it.",
    ),
    createForm(created, list),
    created,
    h("h2", {}, "All tokens"),
    list,
  );
  await refresh(list);
}

function stateOf(t) {
  if (t.revoked_at) return ["revoked", "down"];
  if (t.expires_at && t.expires_at <= Date.now()) return ["expired", "retired"];
  return ["active", "active"];
}

async function refresh(list) {
  try {
    const tokens = await api("GET", "/tokens");
    const columns = [
      { label: "Id", class: "num", cell: (t) => t.id },
      { label: "Label", cell: (t) => [t.label, t.configured ? h("span", { class: "muted" }, " (EDDY_ADMIN_TOKEN)") : null] },
      {
        label: "State",
        cell: (t) => {
          const [state, badge] = stateOf(t);
          return h("span", { class: `badge ${badge}` }, state);
        },
      },
      { label: "Created", class: "hide-narrow", cell: (t) => formatTime(t.created_at) },
      { label: "Last used", cell: (t) => formatTime(t.last_used_at) },
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

function createForm(created, list) {
  const label = h("input", { id: "token-label", name: "label", required: true, maxlength: 100, placeholder: "ci" });
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
      onsubmit: async (e) => {
        e.preventDefault();
        created.replaceChildren();
        button.disabled = true;
        try {
          const body = { label: label.value.trim() };
          if (expiry.value) body.expires_in_seconds = Number(expiry.value);
          const result = await api("POST", "/tokens", body);
          created.replaceChildren(
            h(
              "div",
              { class: "alert ok", role: "alert" },
              h("p", {}, h("strong", {}, `Token ${result.id} (${result.label}) created.`), " It is shown this once:"),
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
    h("label", { for: "token-expiry" }, "Expires after", expiry),
    h("div", {}, button),
  );
}
