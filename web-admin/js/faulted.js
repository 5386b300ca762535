// An app is faulted while its handler's start-up failed: new instances are
// refused for a backoff (doubling with each further failure), warm ones keep
// serving, and events that need a new one get `app_unavailable`. The admin
// API says so with `faulted_for_ms` (absent when the app is not faulted).
import { h } from "./dom.js";

const EXPLAIN = "The handler's start-up failed: new instances are not started until the backoff ends.";

/** A badge next to the app's name, or null when it is not faulted. */
export function faultedBadge(faultedForMs) {
  if (faultedForMs == null) return null;
  return h("span", { class: "badge faulted", title: `${EXPLAIN} Retry in ${seconds(faultedForMs)}.` }, "faulted");
}

/** The app page's notice; `set(faultedForMs)` shows, updates or hides it. */
export function faultedNotice() {
  const text = h("span");
  const el = h(
    "div",
    { class: "alert warn", id: "faulted", hidden: true },
    h("strong", {}, "Faulted. "),
    text,
  );
  const set = (faultedForMs) => {
    el.hidden = faultedForMs == null;
    if (faultedForMs == null) return;
    text.textContent = `${EXPLAIN} It tries again in ${seconds(faultedForMs)}; warm instances keep serving, and events that need a new one are refused with app_unavailable. The Log tab has the cause.`;
  };
  return { el, set };
}

function seconds(ms) {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
