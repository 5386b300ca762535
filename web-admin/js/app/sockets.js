// The Sockets tab: the app's sockets on this node, and disconnecting one
// (with sockets:disconnect).
import { api } from "../api.js";
import { confirmDialog, errorBox, formatTime, h, toast } from "../dom.js";
import { can } from "../principal.js";
import { dataTable } from "../table.js";

export async function socketsTab(body, { slug }) {
  const list = h("div", { class: "table-wrap" });
  const disconnect = async (s) => {
    if (!(await confirmDialog("Disconnect this socket?", "The client is told the server disconnected it and does not reconnect by itself.", "Disconnect", true))) return;
    try {
      await api("DELETE", `/apps/${slug}/sockets/${encodeURIComponent(s.id)}?namespace=${encodeURIComponent(s.namespace)}`);
      toast("Disconnected");
      await refresh();
    } catch (error) {
      list.prepend(errorBox(error));
    }
  };
  const columns = [
    { label: "Socket", cellClass: "mono", cell: (s) => s.id },
    { label: "Namespace", cellClass: "mono", cell: (s) => s.namespace },
    { label: "Rooms", cell: (s) => s.rooms.join(", ") || "—" },
    { label: "Transport", cell: (s) => s.transport },
    { label: "Address", cellClass: "mono", cell: (s) => s.address ?? "—" },
    { label: "Connected", cell: (s) => formatTime(s.connected_at_ms) },
  ];
  if (can("sockets:disconnect")) columns.push({ label: "", cell: (s) => h("button", { type: "button", class: "ghost", onclick: () => disconnect(s) }, "Disconnect") });
  const refresh = async () => {
    try {
      const { total, sockets } = await api("GET", `/apps/${slug}/sockets`);
      if (!sockets.length) {
        list.replaceChildren(h("p", { class: "empty" }, "No sockets connected on this node."));
        return;
      }
      list.replaceChildren(
        h("p", { class: "muted" }, total > sockets.length ? `Showing ${sockets.length} of ${total} sockets on this node.` : `${total} socket${total === 1 ? "" : "s"} on this node.`),
        dataTable(columns, sockets, { id: "sockets" }),
      );
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  body.append(h("div", { class: "row" }, h("button", { type: "button", class: "ghost", onclick: refresh }, "Refresh")), list);
  await refresh();
}
