// The admin app: a hash router over its pages, a live metrics stream.
// Pages: signin.js, overview.js, apps.js, app.js (one app; its tabs are the
// modules in app/), tenants.js (every tenant), tenant.js (one tenant: quota
// use and members), tokens.js, audit.js. Shared: api.js (the admin API,
// streams), principal.js (who is signed in, what the token may do), dom.js
// (elements, dialogs, formats), table.js (tables from column specs),
// quota.js (a tenant's quota and use), chart.js (line charts), faulted.js
// (an app whose handler fails to start).
import { session, whenUnauthorized } from "./api.js";
import { clear, errorBox, h, toast } from "./dom.js";
import { can, forgetPrincipal, loadPrincipal, notAllowed, principal, whoBadge } from "./principal.js";
import { signinPage } from "./signin.js";
import { overviewPage } from "./overview.js";
import { appsPage } from "./apps.js";
import { appPage } from "./app.js";
import { tenantsPage } from "./tenants.js";
import { tenantPage } from "./tenant.js";
import { tokensPage } from "./tokens.js";
import { auditPage } from "./audit.js";

// [hash pattern, page, the permission it needs]; the page gets the match's groups.
const ROUTES = [
  [/^\/$/, overviewPage],
  [/^\/apps$/, appsPage],
  [/^\/apps\/([a-z0-9-]+)$/, appPage],
  [/^\/tenant$/, ownTenantPage, "tenants:read"],
  [/^\/tenants$/, tenantsPage, "tenants:manage"],
  [/^\/tenants\/([^/]+)$/, (ctx, slug) => tenantPage(ctx, decodeURIComponent(slug)), "tenants:read"],
  [/^\/tokens$/, tokensPage, "tokens:manage"],
  [/^\/audit$/, auditPage, "apps:read"],
];

/** The signed-in token's own tenant; a platform token has none, but all of them. */
function ownTenantPage(ctx) {
  const own = principal().tenant;
  if (own) tenantPage(ctx, own);
  else location.hash = "#/tenants";
}

const main = document.getElementById("main");
let current = new AbortController();
let navigated = false;

whenUnauthorized(() => {
  session.clear();
  forgetPrincipal();
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
  forgetPrincipal();
  toast("Signed out");
  location.hash = "#/signin";
});

/** The header for who is signed in: their name, and only the links they may follow. */
function header(signedIn) {
  const who = document.getElementById("who");
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("live").hidden = !signedIn;
  who.hidden = !signedIn;
  if (!signedIn) return;
  const p = principal();
  who.replaceChildren(...whoBadge(p));
  who.dataset.role = p.role;
  for (const a of document.querySelectorAll("#nav a")) {
    const { needs, unless } = a.dataset;
    a.hidden = Boolean((needs && !can(needs)) || (unless && can(unless)));
  }
}

function route() {
  current.abort();
  current = new AbortController();
  const hash = location.hash.slice(1) || "/";
  const signedIn = Boolean(session.token);
  if (!signedIn && hash !== "/signin") {
    header(false);
    location.hash = "#/signin";
    return;
  }
  clear(main);
  // A reload keeps the token but not the principal: ask again, then route.
  if (signedIn && hash !== "/signin" && !principal()) {
    header(false);
    main.append(h("p", { class: "muted" }, "Loading…"));
    const signal = current.signal;
    loadPrincipal().then(
      () => signal.aborted || route(),
      // 401 has already gone back to sign-in.
      (error) => signal.aborted || error.status === 401 || main.replaceChildren(errorBox(error)),
    );
    return;
  }
  header(signedIn && hash !== "/signin");
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(1);
    const active = target === "/" ? hash === "/" : hash === target || hash.startsWith(`${target}/`);
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const ctx = { main, signal: current.signal };
  if (hash === "/signin") signinPage(ctx);
  else {
    const found = ROUTES.map(([pattern, page, needs]) => [hash.match(pattern), page, needs]).find(([m]) => m);
    if (!found) main.append(h("p", {}, "No such page."));
    else {
      const [match, page, needs] = found;
      if (needs && !can(needs)) main.append(notAllowed(needs));
      else page(ctx, ...match.slice(1));
    }
  }
  // Focus moves to the new page (for screen readers) on navigation, not on
  // the first load, and not when the page put it somewhere (sign-in field).
  if (navigated && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  navigated = true;
}

window.addEventListener("hashchange", route);
route();
