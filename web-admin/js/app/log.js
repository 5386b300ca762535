// The Log tab: the handler's recent log lines, then new ones live until the
// tab closes (the server rate-limits them per app).
import { api, stream } from "../api.js";
import { errorBox, h } from "../dom.js";

/** Lines kept on screen; older ones are dropped as new ones come. */
const KEEP = 1000;

export async function logTab(body, { slug, signal }) {
  const log = h("div", { class: "log", id: "log", role: "log", "aria-live": "polite", tabindex: "0" });
  const line = (l) =>
    h("div", { class: l.level }, h("span", { class: "time" }, new Date(l.at_ms).toLocaleTimeString(), " "), `${l.level.toUpperCase()} `, l.message);
  body.append(h("p", { class: "muted" }, "The handler's log lines, stdout, stderr and faults, live (rate limited per app)."), log);
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
      while (log.childElementCount > KEEP) log.firstElementChild.remove();
      log.scrollTop = log.scrollHeight;
    },
    signal,
  );
}
