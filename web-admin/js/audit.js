// The audit log (apps:read; a tenant's tokens see their tenant's entries):
// who changed what, newest first, a page at a time, optionally for one app.
// The actor is "<token label> (<role>, token <id>)".
import { api } from "./api.js";
import { errorBox, formatTime, h } from "./dom.js";
import { dataTable, tableRow } from "./table.js";

const PAGE = 100;

/** The token's label, then its role and id, quieter. */
function actor(text) {
  const m = /^(.*) \(([^()]*)\)$/.exec(text);
  if (!m) return text;
  return [h("strong", {}, m[1]), " ", h("span", { class: "muted" }, `(${m[2]})`)];
}

function detail(value) {
  if (value === null || value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === "{}" ? null : text;
}

const COLUMNS = [
  { label: "When", cell: (e) => formatTime(e.at) },
  { label: "Actor", cellClass: "audit-actor", cell: (e) => actor(e.actor) },
  { label: "Action", cellClass: "mono", cell: (e) => e.action },
  { label: "App", cell: (e) => (e.app ? h("a", { href: `#/apps/${e.app}` }, e.app) : "—") },
  { label: "Detail", class: "hide-narrow", cellClass: "mono", cell: (e) => detail(e.detail) },
];

export async function auditPage({ main }) {
  const app = h("input", { id: "audit-app", placeholder: "app slug (all apps when empty)" });
  const list = h("div", { class: "panel table-wrap", id: "audit" });
  let before = null;
  const load = async (reset) => {
    if (reset) before = null;
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (app.value.trim()) query.set("app", app.value.trim());
    if (before !== null) query.set("before", String(before));
    try {
      const entries = await api("GET", `/audit?${query}`);
      if (reset) list.replaceChildren(entries.length ? dataTable(COLUMNS, entries, { rowAttrs: (e) => ({ "data-audit-id": e.id }) }) : h("p", { class: "empty" }, "Nothing recorded."));
      else list.querySelector("tbody")?.append(...entries.map((e) => tableRow(COLUMNS, e, { "data-audit-id": e.id })));
      before = entries.length === PAGE ? entries[entries.length - 1].id : null;
      more.hidden = before === null;
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  const more = h("button", { type: "button", class: "ghost", hidden: true, onclick: () => load(false) }, "Older");
  main.append(
    h("h1", {}, "Audit log"),
    h("p", { class: "muted" }, "Every change made through the admin API or the CLI, and by which token."),
    h("form", { class: "row", onsubmit: (e) => (e.preventDefault(), load(true)) }, app, h("button", { type: "submit" }, "Filter")),
    list,
    more,
  );
  await load(true);
}
