// The overview: the node's totals and charts, every app's numbers, live.
// The stream carries only the apps in the token's scope, and the cluster
// view only for tokens with cluster:read.
import { stream } from "./api.js";
import { chartPanel, format } from "./chart.js";
import { formatBytes, h } from "./dom.js";
import { faultedBadge } from "./faulted.js";
import { can } from "./principal.js";
import { tableHead, tableRow } from "./table.js";

const NODE_COLUMNS = [
  { label: "Node", cell: (n) => [n.name, n.this_node ? h("span", { class: "muted" }, " (this node)") : null] },
  { label: "Connections", class: "num", cell: (n) => format(n.connections) },
  { label: "Apps with sockets", class: "num hide-narrow", cell: (n) => Object.values(n.apps).filter((c) => c > 0).length },
  { label: "Started", class: "hide-narrow", cell: (n) => new Date(n.started_ms).toLocaleString() },
  { label: "Last heard", class: "num hide-narrow", cell: (n) => (n.this_node ? "—" : `${(n.last_seen_ms_ago / 1000).toFixed(1)} s ago`) },
];

const APP_COLUMNS = [
  { label: "App", cell: (a) => [h("a", { href: `#/apps/${a.slug}` }, a.slug), faultedBadge(a.faulted_for_ms)] },
  { label: "Version", class: "num", cell: (a) => a.active_version ?? "—" },
  { label: "Connections", class: "num", cellClass: "connections", cell: (a) => a.connections },
  { label: "Events in/s", class: "num", cell: (a) => a.events_in_per_second },
  { label: "Out/s", class: "num", cell: (a) => a.emits_per_second },
  { label: "p50 µs", class: "num hide-narrow", cell: (a) => a.handler_p50_us },
  { label: "p99 µs", class: "num hide-narrow", cell: (a) => a.handler_p99_us },
  { label: "Memory", class: "num hide-narrow", cell: (a) => formatBytes(a.handler_memory_bytes) },
  { label: "Faults", class: "num hide-narrow", cell: (a) => a.handler_faults },
];

export function overviewPage({ main, signal }) {
  const stats = {
    apps: stat("Apps"),
    connections: stat("Connections"),
    eventsIn: stat("Events in / s"),
    emits: stat("Messages out / s"),
    traffic: stat("Traffic in / out per s"),
    p99: stat("Handler p99 (last 5 s)"),
    cpu: stat("Handler busy (share of a core)"),
    memory: stat("Handler memory"),
    faults: stat("Handler faults"),
    breaches: stat("Limit breaches"),
  };
  const charts = {
    connections: chartPanel("Connections"),
    events: chartPanel("Events in and messages out per second"),
    bytes: chartPanel("Bytes in and out per second", { bytes: true }),
    latency: chartPanel("Handler latency (µs)"),
  };
  const node = h("p", { class: "muted", id: "node" }, "Waiting for the first sample…");
  const rows = h("tbody");
  const nodeRows = h("tbody");
  const broker = h("span", { class: "badge", id: "broker" }, "…");
  main.append(
    h("h1", {}, "Overview"),
    node,
    h("div", { class: "grid", id: "totals" }, Object.values(stats).map((s) => s.el)),
    h("div", { class: "charts" }, Object.values(charts).map((c) => c.el)),
    ...(can("cluster:read")
      ? [h("h2", {}, "Cluster ", broker), h("div", { class: "panel table-wrap" }, h("table", { id: "nodes" }, tableHead(NODE_COLUMNS), nodeRows))]
      : []),
    h("h2", {}, "Apps"),
    h(
      "div",
      { class: "panel table-wrap" },
      h("table", { id: "apps-live" }, tableHead(APP_COLUMNS), rows),
    ),
  );
  const live = document.getElementById("live");
  stream(
    "/stream",
    (frame) => {
      const t = frame.totals;
      node.textContent = `Node ${frame.node} · up ${formatUptime(frame.uptime_s)} · updated ${new Date(frame.at_ms).toLocaleTimeString()}`;
      stats.apps.set(frame.apps.length);
      stats.connections.set(t.connections);
      stats.eventsIn.set(t.events_in_per_second);
      stats.emits.set(t.emits_per_second);
      stats.traffic.set(`${formatBytes(t.bytes_in_per_second)} / ${formatBytes(t.bytes_out_per_second)}`);
      stats.p99.set(`${format(t.handler_p99_us)} µs`);
      stats.cpu.set(`${(t.handler_busy_us_per_second / 1e4).toFixed(1)} %`);
      stats.memory.set(formatBytes(t.handler_memory_bytes));
      stats.faults.set(t.handler_faults);
      stats.breaches.set(t.limit_breaches);
      charts.connections.chart.push("connections", t.connections);
      charts.events.chart.push("in", t.events_in_per_second);
      charts.events.chart.push("out", t.emits_per_second);
      charts.bytes.chart.push("in", t.bytes_in_per_second);
      charts.bytes.chart.push("out", t.bytes_out_per_second);
      charts.latency.chart.push("p50", t.handler_p50_us);
      charts.latency.chart.push("p99", t.handler_p99_us);
      Object.values(charts).forEach((c) => c.chart.draw());
      const cluster = frame.cluster;
      if (cluster) {
        broker.textContent = cluster.broker.kind === "local" ? "single node" : `${cluster.broker.kind} ${cluster.broker.up ? "connected" : "unreachable"}`;
        broker.className = `badge ${cluster.broker.up ? "active" : "down"}`;
        broker.title = cluster.broker.last_error ?? "";
        nodeRows.replaceChildren(...cluster.nodes.map((n) => tableRow(NODE_COLUMNS, n, { "data-node": n.name })));
      }
      rows.replaceChildren(
        ...(frame.apps.length
          ? frame.apps.map((a) => tableRow(APP_COLUMNS, a, { "data-app": a.slug }))
          : [h("tr", {}, h("td", { colspan: APP_COLUMNS.length, class: "empty" }, "No apps yet. ", can("apps:create") ? h("a", { href: "#/apps" }, "Create one.") : null))]),
      );
    },
    signal,
    (up) => live.classList.toggle("down", !up),
  );
}

function stat(label) {
  const value = h("div", { class: "value" }, "–");
  const el = h("div", { class: "panel stat" }, value, h("div", { class: "label" }, label));
  return { el, set: (v) => (value.textContent = typeof v === "number" ? format(v) : v) };
}

function formatUptime(s) {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} days`;
}
