// Tables from column specs: a column is `{ label, class, cellClass, cell }`.
// `class` goes on the header and the cells alike (num, hide-narrow), so a
// column cannot be aligned or hidden in one and not the other; `cellClass`
// is added to the cells only (mono, or a hook for tests); `cell(item)` gives
// the cell's content (text, a node, or null for an empty cell).
import { h } from "./dom.js";

export function tableHead(columns) {
  return h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.class }, c.label))));
}

/** One row of `item`; `attrs` are the row's own (data-* for tests and styles). */
export function tableRow(columns, item, attrs = {}) {
  return h(
    "tr",
    attrs,
    columns.map((c) => h("td", { class: [c.class, c.cellClass].filter(Boolean).join(" ") || undefined }, c.cell(item))),
  );
}

/** A whole table: one row per item, `rowAttrs(item)` for each row's attributes. */
export function dataTable(columns, items, { id, rowAttrs = () => ({}) } = {}) {
  return h(
    "table",
    { id },
    tableHead(columns),
    h(
      "tbody",
      {},
      items.map((item) => tableRow(columns, item, rowAttrs(item))),
    ),
  );
}
