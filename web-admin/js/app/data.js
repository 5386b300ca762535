// The Data tab: the app's key-value entries by prefix, a page at a time.
import { api } from "../api.js";
import { errorBox, formatBytes, formatTime, h } from "../dom.js";
import { dataTable, tableRow } from "../table.js";

const PAGE = 100;

const COLUMNS = [
  { label: "Key", cellClass: "mono", cell: (e) => e.key },
  { label: "Size", class: "num", cell: (e) => formatBytes(e.size) },
  { label: "Expires", cell: (e) => (e.expires_at ? formatTime(e.expires_at) : "never") },
  { label: "Value", cellClass: "mono", cell: (e) => e.preview ?? "(binary or long)" },
];

export async function dataTab(body, { slug }) {
  const prefix = h("input", { id: "kv-prefix", placeholder: "key prefix" });
  const list = h("div", { class: "table-wrap" });
  let after = null;
  const load = async (reset) => {
    if (reset) after = null;
    try {
      const page = await api("GET", `/apps/${slug}/kv?prefix=${encodeURIComponent(prefix.value)}${after ? `&after=${encodeURIComponent(after)}` : ""}&limit=${PAGE}`);
      if (reset) list.replaceChildren(page.entries.length ? dataTable(COLUMNS, page.entries) : h("p", { class: "empty" }, "No keys."));
      else list.querySelector("tbody")?.append(...page.entries.map((e) => tableRow(COLUMNS, e)));
      after = page.next_after;
      more.hidden = !after;
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  const more = h("button", { type: "button", class: "ghost", hidden: true, onclick: () => load(false) }, "More");
  body.append(h("form", { class: "row", onsubmit: (e) => (e.preventDefault(), load(true)) }, prefix, h("button", { type: "submit" }, "Filter")), list, more);
  await load(true);
}
