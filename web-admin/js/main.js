// The admin app: a hash router over five pages, a live metrics stream.
// Pages: signin.js, overview.js, apps.js, app.js (one app; its tabs are the
// modules in app/), tokens.js. Shared: api.js (the admin API, streams),
// dom.js (elements, dialogs, formats), table.js (tables from column specs),
// chart.js (line charts), faulted.js (an app whose handler fails to start).
import { session, whenUnauthorized } from "./api.js";
import { clear, toast } from "./dom.js";
import { signinPage } from "./signin.js";
import { overviewPage } from "./overview.js";
import { appsPage } from "./apps.js";
import { appPage } from "./app.js";
import { tokensPage } from "./tokens.js";

const main = document.getElementById("main");
let current = new AbortController();
let navigated = false;

whenUnauthorized(() => {
  session.clear();
  sessionStorage.setItem("eddy.admin.notice", "Your session ended or the token is no longer valid. Sign in again.");
  location.hash = "#/signin";
});

// The skip link must not change the hash: the hash is the router's.
document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  toast("Signed out");
  location.hash = "#/signin";
});

function route() {
  current.abort();
  current = new AbortController();
  const hash = location.hash.slice(1) || "/";
  const signedIn = Boolean(session.token);
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("live").hidden = !signedIn;
  if (!signedIn && hash !== "/signin") {
    location.hash = "#/signin";
    return;
  }
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(1);
    const active = target === "/" ? hash === "/" : hash.startsWith(target);
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clear(main);
  const ctx = { main, signal: current.signal };
  const appMatch = hash.match(/^\/apps\/([a-z0-9-]+)$/);
  if (hash === "/signin") signinPage(ctx);
  else if (hash === "/") overviewPage(ctx);
  else if (hash === "/apps") appsPage(ctx);
  else if (hash === "/tokens") tokensPage(ctx);
  else if (appMatch) appPage(ctx, appMatch[1]);
  else {
    main.append(Object.assign(document.createElement("p"), { textContent: "No such page." }));
  }
  // Focus moves to the new page (for screen readers) on navigation, not on
  // the first load, and not when the page put it somewhere (sign-in field).
  if (navigated && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  navigated = true;
}

window.addEventListener("hashchange", route);
route();
