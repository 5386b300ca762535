// A tiny element builder: h("button", { onclick }, "Save").

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function toast(message) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3000);
}

/** Asks before something that cannot be undone. Resolves true on confirm. */
export function confirmDialog(title, body, confirmLabel = "Confirm", danger = false) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, title),
      h("p", {}, body),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { type: "button", class: danger ? "danger" : "", onclick: () => dialog.close("ok") }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function errorBox(error) {
  const step = error.step ? ` (step: ${error.step})` : "";
  // A refusal by role (the UI offered something the token may not do: a
  // stale page, or a role changed meanwhile) says so and names the permission.
  const refused = error.status === 403;
  const needs = refused && error.permission && !error.message.includes(error.permission) ? ` (needs the permission ${error.permission})` : "";
  return h(
    "div",
    { class: "alert error", role: "alert", "data-code": error.code },
    refused ? h("strong", {}, "Not allowed: ") : null,
    `${error.message}${step}${needs}`,
  );
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatTime(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

export function copyButton(text) {
  return h(
    "button",
    {
      type: "button",
      class: "ghost",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast("Copied");
        } catch {
          toast("Copy failed: select the text and copy it");
        }
      },
    },
    "Copy",
  );
}
