// One app: its live numbers and charts, and a tab bar whose tabs are the
// modules under app/ (deployments, limits, keys, config, sockets, log, data,
// delete).
// A tab is `open(body, tab)`: it fills `body` and stops its streams when
// `tab.signal` aborts (another tab opened, or the page left). A tab that
// only changes things is shown to tokens with its permission; the others
// offer their changes by permission (principal.js's `can`).
import { api, stream } from "./api.js";
import { chartPanel, format } from "./chart.js";
import { errorBox, formatBytes, h } from "./dom.js";
import { faultedNotice } from "./faulted.js";
import { can } from "./principal.js";
import { configTab } from "./app/config.js";
import { dataTab } from "./app/data.js";
import { deleteTab } from "./app/delete.js";
import { deploymentsTab } from "./app/deployments.js";
import { keysTab } from "./app/keys.js";
import { limitsTab } from "./app/limits.js";
import { logTab } from "./app/log.js";
import { socketsTab } from "./app/sockets.js";

// [label, tab, the permission it needs to be shown at all]
const TABS = [
  ["Deployments", deploymentsTab],
  ["Limits", limitsTab],
  ["Keys", keysTab],
  ["Config", configTab],
  ["Sockets", socketsTab],
  ["Log", logTab],
  ["Data", dataTab],
  ["Delete", deleteTab, "apps:delete"],
];

const STATS = [
  ["version", "Active version"],
  ["connections", "Connections"],
  ["in", "Events in / s"],
  ["out", "Messages out / s"],
  ["p99", "Handler p99 (last 5 s)"],
  ["cpu", "Handler busy (share of a core)"],
  ["memory", "Handler memory"],
  ["faults", "Faults (timeouts / traps)"],
  ["breaches", "Limit breaches"],
  ["timers", "Timers pending"],
];

export async function appPage({ main, signal }, slug) {
  let app;
  try {
    app = await api("GET", `/apps/${slug}`);
  } catch (error) {
    main.append(h("h1", {}, slug), errorBox(error), h("p", {}, h("a", { href: "#/apps" }, "← All apps")));
    return;
  }
  const faulted = faultedNotice();
  faulted.set(app.faulted_for_ms);
  const strip = h("div", { class: "grid compact" });
  const cells = {};
  for (const [key, label] of STATS) {
    cells[key] = h("div", { class: "value", id: `stat-${key}` }, "–");
    strip.append(h("div", { class: "panel stat" }, cells[key], h("div", { class: "label" }, label)));
  }
  const charts = {
    events: chartPanel("Events in and messages out per second"),
    latency: chartPanel("Handler latency (µs)"),
  };
  const body = h("div", { role: "tabpanel", id: "tabpanel" });
  main.append(
    h("p", {}, h("a", { href: "#/apps" }, "← All apps")),
    h("h1", {}, app.name, " ", h("span", { class: "muted mono" }, app.slug)),
    h("p", { class: "muted" }, "Clients connect at ", h("code", {}, `/apps/${app.slug}/socket.io/`), app.tenant ? ` · tenant ${app.tenant}` : ""),
    faulted.el,
    strip,
    h("div", { class: "charts" }, Object.values(charts).map((c) => c.el)),
    tabBar(body, { slug, app, signal }),
    body,
  );
  // Pending timers are a registry count, not part of the live frame: read
  // with the app, then every 5 s while the page is open.
  cells.timers.textContent = format(app.timers_pending ?? 0);
  const timers = setInterval(async () => {
    try {
      const fresh = await api("GET", `/apps/${slug}`);
      cells.timers.textContent = format(fresh.timers_pending ?? 0);
    } catch {
      // The stream shows the app going away; nothing to add here.
    }
  }, 5000);
  signal.addEventListener("abort", () => clearInterval(timers));
  stream(
    "/stream",
    (frame) => {
      const a = frame.apps.find((x) => x.slug === slug);
      if (!a) return;
      faulted.set(a.faulted_for_ms);
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
}

/** The tab bar over `body`; the first tab opens at once. */
function tabBar(body, { slug, app, signal }) {
  const tabs = TABS.filter(([, , needs]) => !needs || can(needs));
  let tabAbort = new AbortController();
  const open = (openTab) => {
    tabAbort.abort();
    tabAbort = new AbortController();
    body.replaceChildren();
    const tabSignal = AbortSignal.any([signal, tabAbort.signal]);
    openTab(body, {
      slug,
      app,
      signal: tabSignal,
      // The app as the registry has it now; null, with the error shown, if
      // that fails, and null if the tab closed meanwhile (its body is another's).
      reload: async () => {
        try {
          const fresh = await api("GET", `/apps/${slug}`);
          return tabSignal.aborted ? null : fresh;
        } catch (error) {
          if (!tabSignal.aborted) body.append(errorBox(error));
          return null;
        }
      },
    });
  };
  const bar = h(
    "div",
    { class: "tabs", role: "tablist", "aria-label": "App sections" },
    tabs.map(([label, openTab], i) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${label.toLowerCase()}`,
          "aria-controls": "tabpanel",
          "aria-selected": i === 0 ? "true" : "false",
          onclick: (e) => {
            for (const b of bar.children) b.setAttribute("aria-selected", "false");
            e.currentTarget.setAttribute("aria-selected", "true");
            open(openTab);
          },
          onkeydown: (e) => {
            const buttons = [...bar.children];
            const at = buttons.indexOf(e.currentTarget);
            const next = e.key === "ArrowRight" ? at + 1 : e.key === "ArrowLeft" ? at - 1 : null;
            if (next !== null) buttons[(next + buttons.length) % buttons.length].focus();
          },
        },
        label,
      ),
    ),
  );
  open(tabs[0][1]);
  return bar;
}
