// One app: live numbers, deployments (upload, activate, roll back), limits,
// keys, connected sockets, the handler's log, key-value data, deletion.
import { api, stream, upload } from "./api.js";
import { format } from "./chart.js";
import { chartPanel } from "./overview.js";
import { confirmDialog, copyButton, errorBox, formatBytes, formatTime, h, toast } from "./dom.js";

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
];

export async function appPage({ main, signal }, slug) {
  let app;
  try {
    app = await api("GET", `/apps/${slug}`);
  } catch (error) {
    main.append(h("h1", {}, slug), errorBox(error), h("p", {}, h("a", { href: "#/apps" }, "← All apps")));
    return;
  }
  const title = h("h1", {}, app.name, " ", h("span", { class: "muted mono" }, app.slug));
  const strip = h("div", { class: "grid compact" });
  const body = h("div", { role: "tabpanel", id: "tabpanel" });
  const tabs = [
    ["Deployments", () => deploymentsTab(body, slug, refreshHeader)],
    ["Limits", () => limitsTab(body, slug)],
    ["Keys", () => keysTab(body, slug)],
    ["Sockets", () => socketsTab(body, slug)],
    ["Log", () => logTab(body, slug, signal)],
    ["Data", () => dataTab(body, slug)],
    ["Delete", () => deleteTab(body, app)],
  ];
  let logAbort = null;
  const tabBar = h(
    "div",
    { class: "tabs", role: "tablist", "aria-label": "App sections" },
    tabs.map(([label, open], i) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${label.toLowerCase()}`,
          "aria-controls": "tabpanel",
          "aria-selected": i === 0 ? "true" : "false",
          onclick: (e) => {
            for (const b of tabBar.children) b.setAttribute("aria-selected", "false");
            e.currentTarget.setAttribute("aria-selected", "true");
            logAbort?.abort();
            body.replaceChildren();
            const result = open();
            if (result instanceof AbortController) logAbort = result;
          },
          onkeydown: (e) => {
            const buttons = [...tabBar.children];
            const at = buttons.indexOf(e.currentTarget);
            const next = e.key === "ArrowRight" ? at + 1 : e.key === "ArrowLeft" ? at - 1 : null;
            if (next !== null) buttons[(next + buttons.length) % buttons.length].focus();
          },
        },
        label,
      ),
    ),
  );
  const charts = {
    events: chartPanel("Events in and messages out per second"),
    latency: chartPanel("Handler latency (µs)"),
  };
  main.append(
    h("p", {}, h("a", { href: "#/apps" }, "← All apps")),
    title,
    h("p", { class: "muted" }, "Clients connect at ", h("code", {}, `/apps/${app.slug}/socket.io/`)),
    strip,
    h("div", { class: "charts" }, Object.values(charts).map((c) => c.el)),
    tabBar,
    body,
  );
  async function refreshHeader() {
    try {
      app = await api("GET", `/apps/${slug}`);
    } catch {}
  }
  const cells = {};
  for (const [key, label] of [
    ["version", "Active version"],
    ["connections", "Connections"],
    ["in", "Events in / s"],
    ["out", "Messages out / s"],
    ["p99", "Handler p99 (last 5 s)"],
    ["cpu", "Handler busy (share of a core)"],
    ["memory", "Handler memory"],
    ["faults", "Faults (timeouts / traps)"],
    ["breaches", "Limit breaches"],
  ]) {
    const value = h("div", { class: "value", id: `stat-${key}` }, "–");
    cells[key] = value;
    strip.append(h("div", { class: "panel stat" }, value, h("div", { class: "label" }, label)));
  }
  stream(
    "/stream",
    (frame) => {
      const a = frame.apps.find((x) => x.slug === slug);
      if (!a) return;
      cells.version.textContent = a.active_version ?? "none";
      cells.connections.textContent = format(a.connections);
      cells.in.textContent = format(a.events_in_per_second);
      cells.out.textContent = format(a.emits_per_second);
      cells.p99.textContent = `${format(a.handler_p99_us)} µs`;
      cells.cpu.textContent = `${(a.handler_busy_us_per_second / 1e4).toFixed(1)} %`;
      cells.memory.textContent = formatBytes(a.handler_memory_bytes);
      cells.faults.textContent = `${format(a.handler_faults)} (${format(a.handler_timeouts)} / ${format(a.handler_traps)})`;
      cells.breaches.textContent = format(a.limit_breaches);
      charts.events.chart.push("in", a.events_in_per_second);
      charts.events.chart.push("out", a.emits_per_second);
      charts.latency.chart.push("p50", a.handler_p50_us);
      charts.latency.chart.push("p99", a.handler_p99_us);
      Object.values(charts).forEach((c) => c.chart.draw());
    },
    signal,
  );
  deploymentsTab(body, slug, refreshHeader);
}

async function deploymentsTab(body, slug, refreshHeader) {
  const result = h("div", { "aria-live": "polite" });
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const input = h("input", { type: "file", id: "wasm-file", accept: ".wasm,application/wasm", hidden: true });
  const table = h("div", { class: "table-wrap" });
  const drop = h(
    "div",
    { class: "drop", id: "drop" },
    h("p", {}, "Drop a handler component (.wasm) here, or ", h("button", { type: "button", class: "ghost", onclick: () => input.click() }, "choose a file"), "."),
    h("p", { class: "muted" }, "Built with ", h("code", {}, "cargo build --release --target wasm32-wasip2"), ". It is checked, compiled and test-started before it goes live."),
    bar,
  );
  const send = async (file) => {
    result.replaceChildren();
    // Say so at once when it is plainly not WebAssembly (the server checks
    // everything again).
    const magic = new Uint8Array(await file.slice(0, 4).arrayBuffer());
    if (magic.length < 4 || magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) {
      result.replaceChildren(
        errorBox({ message: `${file.name} is not a WebAssembly file. Upload the .wasm that cargo build --release --target wasm32-wasip2 writes under target/wasm32-wasip2/release/. Nothing was changed.` }),
      );
      return;
    }
    bar.hidden = false;
    bar.value = 0;
    try {
      const report = await upload(slug, file, { onProgress: (p) => (bar.value = p) });
      const d = report.deployment;
      result.replaceChildren(
        h(
          "div",
          { class: "alert ok", role: "alert", id: "deploy-result" },
          `Version ${d.version} is live (${d.hash.slice(0, 12)}, ${formatBytes(d.size)}). Steps: `,
          report.steps.map((s) => `${s.step} ${s.millis} ms`).join(" · "),
        ),
      );
      await refreshHeader();
      await renderDeployments(table, slug, result);
    } catch (error) {
      result.replaceChildren(errorBox(error));
    } finally {
      bar.hidden = true;
    }
  };
  input.addEventListener("change", () => {
    const file = input.files[0];
    // Cleared so that choosing the same file again (a retry) is a change too.
    input.value = "";
    if (file) send(file);
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) send(file);
  });
  body.append(drop, input, result, h("h2", {}, "Versions"), table);
  await renderDeployments(table, slug, result);
}

async function renderDeployments(table, slug, result) {
  let list;
  try {
    list = await api("GET", `/apps/${slug}/deployments`);
  } catch (error) {
    table.replaceChildren(errorBox(error));
    return;
  }
  if (!list.length) {
    table.replaceChildren(h("p", { class: "empty" }, "No versions yet: drop a component above. Until one is live, clients are refused with “this app has no active deployment”."));
    return;
  }
  const activate = async (d) => {
    const ok = await confirmDialog(`Make version ${d.version} live?`, "New events run on it at once; connected clients stay connected.", `Activate ${d.version}`);
    if (!ok) return;
    try {
      await api("POST", `/apps/${slug}/deployments/${d.version}/activate`);
      toast(`Version ${d.version} is live`);
      await renderDeployments(table, slug, result);
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  };
  const rollback = h(
    "button",
    {
      type: "button",
      class: "ghost",
      id: "rollback",
      onclick: async () => {
        const ok = await confirmDialog("Roll back?", "The version that was live before the current one goes live again.", "Roll back");
        if (!ok) return;
        try {
          const d = await api("POST", `/apps/${slug}/rollback`, {});
          toast(`Rolled back to version ${d.version}`);
          await renderDeployments(table, slug, result);
        } catch (error) {
          result.replaceChildren(errorBox(error));
        }
      },
    },
    "Roll back",
  );
  table.replaceChildren(
    h("div", { class: "row" }, rollback),
    h(
      "table",
      { id: "deployments" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Version", "Status", "SHA-256", "Size", "By", "When", "Notes", ""].map((t) => h("th", { class: ["Size", "Version"].includes(t) ? "num" : "" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        list.map((d) =>
          h(
            "tr",
            { "data-version": d.version },
            h("td", { class: "num" }, d.version),
            h("td", {}, h("span", { class: `badge ${d.status}` }, d.status)),
            h("td", { class: "mono" }, d.hash.slice(0, 12)),
            h("td", { class: "num" }, formatBytes(d.size)),
            h("td", {}, d.created_by),
            h("td", {}, formatTime(d.created_at)),
            h("td", {}, d.notes),
            h("td", {}, d.status === "active" ? "" : h("button", { type: "button", class: "ghost", onclick: () => activate(d) }, "Activate")),
          ),
        ),
      ),
    ),
  );
}

// The app as the registry has it, or null with the error shown in `body`.
async function appOrError(body, slug) {
  try {
    return await api("GET", `/apps/${slug}`);
  } catch (error) {
    body.append(errorBox(error));
    return null;
  }
}

async function limitsTab(body, slug) {
  const status = h("div", { "aria-live": "polite" });
  const app = await appOrError(body, slug);
  if (!app) return;
  const inputs = {};
  const fields = LIMITS.map(([key, label, hint, min, max]) => {
    const input = h("input", { id: `limit-${key}`, name: key, inputmode: "numeric", value: String(app.limits[key]) });
    const err = h("span", { class: "field-error", id: `limit-${key}-error` });
    inputs[key] = { input, err, min, max, label };
    return h("label", { for: `limit-${key}` }, label, input, h("span", { class: "hint" }, `${hint} (${min}–${format(max)})`), err);
  });
  const origins = h("textarea", { id: "limit-allowed_origins", name: "allowed_origins", rows: "3", spellcheck: "false" }, app.limits.allowed_origins.join("\n"));
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
    h("div", { class: "limits" }, fields),
    h("p", {}, h("button", { type: "submit", id: "save-limits" }, "Save limits")),
    status,
  );
  body.append(form);
}

async function keysTab(body, slug) {
  const out = h("div", { "aria-live": "polite" });
  const app = await appOrError(body, slug);
  if (!app) return;
  body.append(
    h(
      "div",
      { class: "panel" },
      h("p", {}, "Public key: ", h("code", {}, app.public_key), " ", copyButton(app.public_key)),
      h("p", { class: "muted" }, "The secret authenticates your backend to the tenant server API (", h("code", {}, `/apps/${slug}/api/v1/…`), ", ", h("code", {}, "Authorization: Bearer <secret>"), "). It is stored hashed: a lost secret cannot be shown, only replaced."),
      h(
        "button",
        {
          type: "button",
          id: "rotate",
          onclick: async () => {
            const ok = await confirmDialog("Replace the secret?", "The current secret stops working at once; your backend needs the new one.", "Replace secret", true);
            if (!ok) return;
            try {
              const key = await api("POST", `/apps/${slug}/secret`);
              out.replaceChildren(h("div", { class: "alert ok", role: "alert" }, h("p", {}, "The new secret, shown this once:"), h("div", { class: "secret" }, h("code", {}, key.secret), copyButton(key.secret))));
            } catch (error) {
              out.replaceChildren(errorBox(error));
            }
          },
        },
        "Replace secret",
      ),
      out,
    ),
  );
}

async function socketsTab(body, slug) {
  const list = h("div", { class: "table-wrap" });
  const refresh = async () => {
    try {
      const { total, sockets } = await api("GET", `/apps/${slug}/sockets`);
      if (!sockets.length) {
        list.replaceChildren(h("p", { class: "empty" }, "No sockets connected on this node."));
        return;
      }
      list.replaceChildren(
        h("p", { class: "muted" }, total > sockets.length ? `Showing ${sockets.length} of ${total} sockets on this node.` : `${total} socket${total === 1 ? "" : "s"} on this node.`),
        h(
          "table",
          { id: "sockets" },
          h("thead", {}, h("tr", {}, ["Socket", "Namespace", "Rooms", "Transport", "Address", "Connected", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            sockets.map((s) =>
              h(
                "tr",
                {},
                h("td", { class: "mono" }, s.id),
                h("td", { class: "mono" }, s.namespace),
                h("td", {}, s.rooms.join(", ") || "—"),
                h("td", {}, s.transport),
                h("td", { class: "mono" }, s.address ?? "—"),
                h("td", {}, formatTime(s.connected_at_ms)),
                h(
                  "td",
                  {},
                  h(
                    "button",
                    {
                      type: "button",
                      class: "ghost",
                      onclick: async () => {
                        if (!(await confirmDialog("Disconnect this socket?", "The client is told the server disconnected it and does not reconnect by itself.", "Disconnect", true))) return;
                        try {
                          await api("DELETE", `/apps/${slug}/sockets/${encodeURIComponent(s.id)}?namespace=${encodeURIComponent(s.namespace)}`);
                          toast("Disconnected");
                          await refresh();
                        } catch (error) {
                          list.prepend(errorBox(error));
                        }
                      },
                    },
                    "Disconnect",
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  body.append(h("div", { class: "row" }, h("button", { type: "button", class: "ghost", onclick: refresh }, "Refresh")), list);
  await refresh();
}

function logTab(body, slug, pageSignal) {
  const log = h("div", { class: "log", id: "log", role: "log", "aria-live": "polite", tabindex: "0" });
  const line = (l) =>
    h("div", { class: l.level }, h("span", { class: "time" }, new Date(l.at_ms).toLocaleTimeString(), " "), `${l.level.toUpperCase()} `, l.message);
  body.append(h("p", { class: "muted" }, "The handler's log lines, stdout, stderr and faults, live (rate limited per app)."), log);
  // Ends with the tab (another tab opened) or the page (navigated away).
  const abort = new AbortController();
  pageSignal.addEventListener("abort", () => abort.abort(), { once: true });
  (async () => {
    try {
      const recent = await api("GET", `/apps/${slug}/logs`);
      log.replaceChildren(...recent.map(line));
      if (!recent.length) log.append(h("div", { class: "muted" }, "Nothing logged yet."));
    } catch (error) {
      log.replaceChildren(errorBox(error));
    }
    stream(
      `/apps/${slug}/logs/stream`,
      (l) => {
        log.querySelector(".muted:only-child")?.remove();
        log.append(line(l));
        while (log.childElementCount > 1000) log.firstElementChild.remove();
        log.scrollTop = log.scrollHeight;
      },
      abort.signal,
    );
  })();
  return abort;
}

async function dataTab(body, slug) {
  const prefix = h("input", { id: "kv-prefix", placeholder: "key prefix" });
  const list = h("div", { class: "table-wrap" });
  let after = null;
  const load = async (reset) => {
    if (reset) after = null;
    try {
      const page = await api("GET", `/apps/${slug}/kv?prefix=${encodeURIComponent(prefix.value)}${after ? `&after=${encodeURIComponent(after)}` : ""}&limit=100`);
      const rows = page.entries.map((e) =>
        h("tr", {}, h("td", { class: "mono" }, e.key), h("td", { class: "num" }, formatBytes(e.size)), h("td", {}, e.expires_at ? formatTime(e.expires_at) : "never"), h("td", { class: "mono" }, e.preview ?? "(binary or long)")),
      );
      if (reset) {
        list.replaceChildren(
          rows.length
            ? h("table", {}, h("thead", {}, h("tr", {}, ["Key", "Size", "Expires", "Value"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
            : h("p", { class: "empty" }, "No keys."),
        );
      } else list.querySelector("tbody")?.append(...rows);
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

function deleteTab(body, app) {
  const confirmInput = h("input", { id: "confirm-slug", placeholder: app.slug });
  const out = h("div", { "aria-live": "polite" });
  body.append(
    h(
      "form",
      {
        class: "panel stack",
        onsubmit: async (e) => {
          e.preventDefault();
          if (confirmInput.value.trim() !== app.slug) {
            out.replaceChildren(h("div", { class: "alert error", role: "alert" }, `Type ${app.slug} to confirm.`));
            return;
          }
          try {
            await api("DELETE", `/apps/${app.slug}`);
            toast(`Deleted ${app.slug}`);
            location.hash = "#/apps";
          } catch (error) {
            out.replaceChildren(errorBox(error));
          }
        },
      },
      h("p", {}, "Deleting the app disconnects its clients and deletes its versions, its key-value data and its key. This cannot be undone."),
      h("label", { for: "confirm-slug" }, `Type ${app.slug} to confirm`, confirmInput),
      h("div", {}, h("button", { type: "submit", class: "danger" }, "Delete app")),
      out,
    ),
  );
}
