// A tenant's quota and its use (the API's TenantView): how many apps it
// has and the sums of its apps' limits, against the ceilings the platform
// set; and the fields that set those ceilings (tenants:manage).
import { formatBytes, h } from "./dom.js";

// `key` in `quota`, `used` in `usage`.
export const QUOTAS = [
  { key: "max_apps", used: "apps", label: "Apps", hint: "apps in the tenant" },
  { key: "max_connections", used: "max_connections", label: "Connections", hint: "sum of its apps' max connections" },
  { key: "max_handler_memory_mb", used: "handler_memory_mb", label: "Handler memory (MiB)", hint: "sum of its apps' handler memory" },
  { key: "kv_quota_bytes", used: "kv_quota_bytes", label: "Key-value quota", hint: "sum of its apps' key-value quotas", bytes: true },
];

const NUMBER = new Intl.NumberFormat("en");

/** Sockets connected to its apps on this node now (the contract has it in `usage`; accept it beside it too). */
export function connectedNow(tenant) {
  return tenant.usage?.connections ?? tenant.connections ?? 0;
}

function show(n, bytes) {
  if (n === null || n === undefined) return "no limit";
  return bytes ? formatBytes(n) : NUMBER.format(n);
}

/** "2 / 10" for a table cell. */
export function quotaCell(tenant, q) {
  return `${show(tenant.usage?.[q.used] ?? 0, q.bytes)} / ${show(tenant.quota?.[q.key], q.bytes)}`;
}

/** A panel per quota: what the tenant's apps take of it, with a meter. */
export function quotaUse(tenant) {
  return h(
    "div",
    { class: "grid", id: "quota-use" },
    QUOTAS.map((q) => {
      const used = tenant.usage?.[q.used] ?? 0;
      const max = tenant.quota?.[q.key];
      return h(
        "div",
        { class: "panel stat", "data-quota": q.key },
        h("div", { class: "value" }, show(used, q.bytes)),
        h("div", { class: "label" }, `${q.label}, of ${show(max, q.bytes)}`),
        max ? h("meter", { min: "0", max: String(max), value: String(Math.min(used, max)), high: String(max * 0.9), "aria-label": `${q.label}: ${show(used, q.bytes)} of ${show(max, q.bytes)}` }) : null,
        h("div", { class: "hint" }, q.hint),
      );
    }),
    h(
      "div",
      { class: "panel stat", "data-quota": "connections" },
      h("div", { class: "value" }, show(connectedNow(tenant))),
      h("div", { class: "label" }, "Connected now"),
      h("div", { class: "hint" }, "sockets on this node"),
    ),
    h(
      "div",
      { class: "panel stat", "data-quota": "handler-memory-now" },
      h("div", { class: "value" }, formatBytes(tenant.handler_memory_bytes ?? 0)),
      h("div", { class: "label" }, `Handler memory in use, of ${show(tenant.quota?.max_handler_memory_mb)} MiB`),
      h("div", { class: "hint" }, "its handler instances on this node; past the quota a call that needs more fails"),
    ),
  );
}

/**
 * Inputs for the quota (`id` prefixes their ids), filled from `quota` when
 * given. `read()` returns the quota to send (blank fields left out: the
 * default when creating, unchanged when editing) or null
 * after marking what is not a whole number.
 */
export function quotaFields(id, quota = {}) {
  const blank = Object.keys(quota).length ? "unchanged" : "default";
  const inputs = QUOTAS.map((q) => {
    const input = h("input", { id: `${id}-${q.key}`, name: q.key, inputmode: "numeric", value: quota[q.key] ?? "", placeholder: blank });
    const err = h("span", { class: "field-error" });
    return { q, input, err, el: h("label", { for: `${id}-${q.key}` }, `Max ${q.label.toLowerCase()}`, input, h("span", { class: "hint" }, q.bytes ? "bytes" : q.hint), err) };
  });
  return {
    el: h("div", { class: "limits" }, inputs.map((i) => i.el)),
    read() {
      const out = {};
      let valid = true;
      for (const { q, input, err } of inputs) {
        const text = input.value.trim().replaceAll(",", "");
        err.textContent = "";
        input.removeAttribute("aria-invalid");
        if (!text) continue;
        if (!/^\d+$/.test(text)) {
          err.textContent = `${q.label} must be a whole number`;
          input.setAttribute("aria-invalid", "true");
          valid = false;
          continue;
        }
        out[q.key] = Number(text);
      }
      return valid ? out : null;
    },
  };
}
