// The Deployments tab: upload a component (checked, compiled and test-started
// by the server before it goes live), and the versions, to activate one or
// roll back. Uploading, activating and rolling back need deployments:write;
// without it the tab lists the versions only.
import { api, upload } from "../api.js";
import { confirmDialog, errorBox, formatBytes, formatTime, h, toast } from "../dom.js";
import { can } from "../principal.js";
import { dataTable } from "../table.js";

export async function deploymentsTab(body, { slug }) {
  const result = h("div", { "aria-live": "polite" });
  const table = h("div", { class: "table-wrap" });
  if (!can("deployments:write")) {
    body.append(result, h("h2", {}, "Versions"), table);
    await renderDeployments(table, slug, result);
    return;
  }
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const input = h("input", { type: "file", id: "wasm-file", accept: ".wasm,application/wasm", hidden: true });
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
    const next = can("deployments:write") ? ": drop a component above" : "";
    table.replaceChildren(h("p", { class: "empty" }, `No versions yet${next}. Until one is live, clients are refused with “this app has no active deployment”.`));
    return;
  }
  const rerender = () => renderDeployments(table, slug, result);
  const writes = can("deployments:write");
  const activate = async (d) => {
    const ok = await confirmDialog(`Make version ${d.version} live?`, "New events run on it at once; connected clients stay connected.", `Activate ${d.version}`);
    if (!ok) return;
    try {
      await api("POST", `/apps/${slug}/deployments/${d.version}/activate`);
      toast(`Version ${d.version} is live`);
      await rerender();
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
          await rerender();
        } catch (error) {
          result.replaceChildren(errorBox(error));
        }
      },
    },
    "Roll back",
  );
  const columns = [
    { label: "Version", class: "num", cell: (d) => d.version },
    { label: "Status", cell: (d) => h("span", { class: `badge ${d.status}` }, d.status) },
    { label: "SHA-256", cellClass: "mono", cell: (d) => d.hash.slice(0, 12) },
    { label: "Size", class: "num", cell: (d) => formatBytes(d.size) },
    // What built it: the eddy:handler contract and the SDK's stamp.
    { label: "Contract", cellClass: "mono", cell: (d) => d.contract ?? "–" },
    { label: "SDK", cellClass: "mono", cell: (d) => d.sdk_version ?? "–" },
    { label: "By", cell: (d) => d.created_by },
    { label: "When", cell: (d) => formatTime(d.created_at) },
    { label: "Notes", cell: (d) => d.notes },
    { label: "", cell: (d) => (d.status === "active" || !writes ? null : h("button", { type: "button", class: "ghost", onclick: () => activate(d) }, "Activate")) },
  ];
  table.replaceChildren(
    writes ? h("div", { class: "row" }, rollback) : "",
    dataTable(columns, list, { id: "deployments", rowAttrs: (d) => ({ "data-version": d.version }) }),
  );
}
