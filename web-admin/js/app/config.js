// The Config tab: the app's config variables and secrets, which its handlers
// read with config.get(name). Secrets are listed by name only (the server
// never returns their value); a secret typed here is masked while typed and
// cleared from the form once sent. Setting and deleting need config:write;
// without it the list is all there is. A change reaches running handlers on
// every node within a second.
import { api } from "../api.js";
import { confirmDialog, errorBox, formatTime, h, toast } from "../dom.js";
import { can } from "../principal.js";
import { dataTable } from "../table.js";

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_VALUE_BYTES = 64 * 1024;

export async function configTab(body, { slug }) {
  const list = h("div", { class: "table-wrap", id: "config" });
  const status = h("div", { "aria-live": "polite" });
  const writable = can("config:write");

  const remove = async (entry) => {
    const what = entry.secret ? "secret" : "variable";
    if (!(await confirmDialog(`Delete the ${what} ${entry.name}?`, "Handlers reading it get nothing from within a second on.", "Delete", true))) return;
    try {
      await api("DELETE", `/apps/${slug}/config/${encodeURIComponent(entry.name)}`);
      toast(`Deleted ${entry.name}`);
      await refresh();
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  };

  const columns = [
    { label: "Name", cellClass: "mono config-name", cell: (e) => e.name },
    {
      label: "Value",
      cellClass: "config-value",
      cell: (e) =>
        e.secret
          ? [h("span", { class: "badge" }, "secret"), e.readable === false ? h("span", { class: "badge down", title: "The server cannot decrypt it (no secret key, or not the one it was set with): set it again." }, "unreadable") : null]
          : h("code", {}, e.value),
    },
    { label: "Updated", class: "hide-narrow", cell: (e) => formatTime(e.updated_at) },
  ];
  if (writable) {
    columns.push({
      label: h("span", { class: "visually-hidden" }, "Actions"),
      cell: (e) => h("button", { type: "button", class: "ghost", "aria-label": `Delete ${e.name}`, onclick: () => remove(e) }, "Delete"),
    });
  }

  const refresh = async () => {
    try {
      const entries = await api("GET", `/apps/${slug}/config`);
      list.replaceChildren(
        entries.length
          ? dataTable(columns, entries, { rowAttrs: (e) => ({ "data-config": e.name }) })
          : h("p", { class: "empty" }, "No config yet."),
      );
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };

  body.append(
    h("p", { class: "muted" }, "Handlers read these with ", h("code", {}, "config.get(name)"), "; a change reaches them on every node within a second, without a redeploy. Secrets are encrypted at rest and never shown again, here or by the API."),
    writable ? setForm(slug, status, refresh) : h("p", { class: "muted", id: "config-read-only" }, "Read only: setting config needs the permission config:write."),
    status,
    list,
  );
  await refresh();
}

/** Add or replace a variable or a secret. */
function setForm(slug, status, refresh) {
  const name = h("input", { id: "config-name", name: "name", autocomplete: "off", spellcheck: "false", placeholder: "API_URL" });
  const value = h("textarea", { id: "config-value", name: "value", rows: "2", autocomplete: "off", spellcheck: "false" });
  const secret = h("input", { type: "checkbox", id: "config-secret", name: "secret", onchange: () => value.classList.toggle("masked", secret.checked) });
  const nameErr = h("span", { class: "field-error", id: "config-name-error" });
  const valueErr = h("span", { class: "field-error", id: "config-value-error" });
  return h(
    "form",
    {
      class: "panel stack",
      id: "config-form",
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        nameErr.textContent = valueErr.textContent = "";
        const key = name.value.trim();
        let valid = true;
        if (!NAME.test(key)) {
          nameErr.textContent = "Use 1 to 128 of A–Z a–z 0–9 _ . -";
          valid = false;
        }
        if (new TextEncoder().encode(value.value).length > MAX_VALUE_BYTES) {
          valueErr.textContent = "A value is at most 64 KiB";
          valid = false;
        }
        if (!valid) return;
        const isSecret = secret.checked;
        try {
          await api("PUT", `/apps/${slug}/config/${encodeURIComponent(key)}`, { value: value.value, secret: isSecret });
          // Nothing of a secret stays in the page once it is sent.
          name.value = value.value = "";
          status.replaceChildren(h("div", { class: "alert ok", role: "alert" }, `Saved ${isSecret ? "secret" : "variable"} ${key}. Handlers read it within a second, on every node.`));
          await refresh();
        } catch (error) {
          if (isSecret) value.value = "";
          status.replaceChildren(errorBox(error));
        }
      },
    },
    h("label", { for: "config-name" }, "Name", name, nameErr),
    h("label", { for: "config-value" }, "Value", value, h("span", { class: "hint" }, "UTF-8 text, up to 64 KiB; an existing name is replaced"), valueErr),
    h("label", { class: "check", for: "config-secret" }, secret, "Secret (encrypted, write-only)"),
    h("p", {}, h("button", { type: "submit", id: "config-save" }, "Save")),
  );
}
