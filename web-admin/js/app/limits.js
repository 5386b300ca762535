// The Limits tab: the app's limits as a form, checked here before they are
// sent (the server checks them again); they apply at once, on every node.
// Without apps:update the form is read-only and has no save button.
import { api } from "../api.js";
import { format } from "../chart.js";
import { errorBox, h } from "../dom.js";
import { can } from "../principal.js";

// [key, label, hint, min, max]
const LIMITS = [
  ["max_connections", "Max connections", "sockets at once", 1, 1_000_000],
  ["max_events_per_second", "Events per second", "per socket (bursts of 2×)", 1, 100_000],
  ["max_payload", "Max payload", "bytes per message", 64, 100_000_000],
  ["handler_deadline_ms", "Handler deadline", "milliseconds per call", 1, 10_000],
  ["handler_memory_mb", "Handler memory", "MiB per instance", 1, 4096],
  ["kv_quota_bytes", "Key-value quota", "bytes (keys + values)", 0, 10_000_000_000],
  ["max_rooms_per_socket", "Rooms per socket", "rooms one socket may be in", 1, 10_000],
  ["max_room_name_bytes", "Room name length", "bytes per room name", 1, 4096],
  ["max_namespaces", "Namespaces", "at once, per node (empty ones are dropped)", 1, 10_000],
  ["max_timers", "Timers", "pending at once (contract 0.2 handlers)", 0, 10_000],
];

export async function limitsTab(body, { slug, reload }) {
  const status = h("div", { "aria-live": "polite" });
  const app = await reload();
  if (!app) return;
  const readOnly = !can("apps:update");
  const inputs = {};
  const fields = LIMITS.map(([key, label, hint, min, max]) => {
    const input = h("input", { id: `limit-${key}`, name: key, inputmode: "numeric", value: String(app.limits[key]), readonly: readOnly });
    const err = h("span", { class: "field-error", id: `limit-${key}-error` });
    inputs[key] = { input, err, min, max, label };
    return h("label", { for: `limit-${key}` }, label, input, h("span", { class: "hint" }, `${hint} (${min}–${format(max)})`), err);
  });
  const origins = h("textarea", { id: "limit-allowed_origins", name: "allowed_origins", rows: "3", spellcheck: "false", readonly: readOnly }, app.limits.allowed_origins.join("\n"));
  const originsErr = h("span", { class: "field-error", id: "limit-allowed_origins-error" });
  fields.push(
    h(
      "label",
      { for: "limit-allowed_origins" },
      "Allowed origins",
      origins,
      h("span", { class: "hint" }, "one per line, e.g. https://example.com; empty: any origin, without credentials"),
      originsErr,
    ),
  );
  const form = h(
    "form",
    {
      class: "panel",
      onsubmit: async (e) => {
        e.preventDefault();
        if (readOnly) return;
        status.replaceChildren();
        const limits = {};
        let valid = true;
        for (const [key, f] of Object.entries(inputs)) {
          const text = f.input.value.trim();
          f.err.textContent = "";
          f.input.removeAttribute("aria-invalid");
          if (!/^\d+$/.test(text)) {
            f.err.textContent = `${f.label} must be a whole number`;
            f.input.setAttribute("aria-invalid", "true");
            valid = false;
            continue;
          }
          const n = Number(text);
          if (n < f.min || n > f.max) {
            f.err.textContent = `${f.label} must be between ${f.min} and ${f.max}`;
            f.input.setAttribute("aria-invalid", "true");
            valid = false;
            continue;
          }
          limits[key] = n;
        }
        limits.allowed_origins = origins.value.split("\n").map((o) => o.trim()).filter(Boolean);
        originsErr.textContent = "";
        const badOrigin = limits.allowed_origins.find((o) => !/^https?:\/\/[A-Za-z0-9.\-:[\]]+$/.test(o));
        if (badOrigin) {
          originsErr.textContent = `${badOrigin} is not an origin: write scheme://host[:port], with no path`;
          valid = false;
        }
        if (!valid) {
          status.replaceChildren(h("div", { class: "alert error", role: "alert" }, "Nothing was saved: fix the highlighted limits."));
          return;
        }
        try {
          await api("PATCH", `/apps/${slug}`, { limits });
          status.replaceChildren(h("div", { class: "alert ok", role: "alert" }, "Saved. The new limits apply now, on every node."));
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      },
    },
    readOnly ? h("p", { class: "muted" }, "Read only: changing limits needs the permission apps:update.") : null,
    h("div", { class: "limits" }, fields),
    readOnly ? null : h("p", {}, h("button", { type: "submit", id: "save-limits" }, "Save limits")),
    status,
  );
  body.append(form);
}
