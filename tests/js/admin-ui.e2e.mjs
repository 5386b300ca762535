// The admin UI in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): sign in, create an app, upload handlers, watch clients
// connect on the dashboard, roll back, and the bad inputs a person makes;
// then what a tenant-owner and a viewer are shown and refused.
// Screenshots of every page go to EDDY_SCREENSHOTS (a test artefact) and,
// with EDDY_DOCS_SCREENSHOTS=1, to docs/admin/ for the admin guide.
//
// Run by tests/tests/all/admin_ui.rs (which sets EDDY_BIN and EDDY_PLUGINS_DIR).
import { test as nodeTest, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import { ADMIN_TOKEN, admin, next, plugin, startServer } from "./server.mjs";

const CHROMIUM = process.env.EDDY_TEST_CHROMIUM || "/usr/bin/chromium";
// The shared server's key for app secrets (32 bytes as hex).
const SECRET_KEY = "5e".repeat(32);
const SHOTS = process.env.EDDY_SCREENSHOTS || join(import.meta.dirname, "../../target/e2e-screenshots");
const DOCS = join(import.meta.dirname, "../../docs/admin");

let server;
let browser;
const clients = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium, or set EDDY_TEST_CHROMIUM`);
  mkdirSync(SHOTS, { recursive: true });
  // The real ping interval: the dashboard should not see clients churn.
  server = await startServer({ ping: [25000, 20000], env: { EDDY_SECRET_KEY: SECRET_KEY } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
});

after(async () => {
  for (const c of clients) c.disconnect();
  await browser?.close();
  await server?.stop();
});

/** Screenshots the viewport, with `focus` (a CSS selector) scrolled to its middle. */
async function shot(page, name, focus) {
  if (focus) await page.locator(focus).first().evaluate((el) => el.scrollIntoView({ block: "center" }));
  await page.waitForFunction(() => !document.querySelector("#toast.show"), null, { timeout: 5000 });
  const file = join(SHOTS, `${name}.png`);
  // The viewport, as a person sees it (a full-page shot misplaces the sticky header).
  await page.screenshot({ path: file });
  if (process.env.EDDY_DOCS_SCREENSHOTS === "1") {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

const pages = [];

/** A test that, when it fails, leaves a picture of where it stopped. */
function test(name, body) {
  nodeTest(name, async () => {
    pages.length = 0;
    try {
      await body();
    } catch (error) {
      for (const [i, page] of pages.entries()) {
        if (!page.isClosed()) {
          const file = `FAILED-${name.slice(0, 40).replace(/\W+/g, "-")}-${i}.png`;
          await page.screenshot({ path: join(SHOTS, file), fullPage: true }).catch(() => {});
        }
      }
      throw error;
    }
  });
}

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light", ...options });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Errors in the console are bugs, except the HTTP errors the tests provoke.
  const provoked = /status of 4\d\d|ERR_CONNECTION_RESET/;
  page.on("console", (m) => m.type() === "error" && !provoked.test(m.text()) && problems.push(`console: ${m.text()}`));
  pages.push(page);
  return { page, context, problems };
}

async function signIn(page, on = server, token = ADMIN_TOKEN) {
  await page.goto(`${on.url}/admin/`);
  await page.locator("#token").fill(token);
  await page.locator("#token").press("Enter");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}

/** Waits until `fn` (run in the page) returns true. */
async function until(page, fn, arg, timeout = 8000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 100 });
}

test("signing in: a wrong token is refused with advice, the right one opens the overview", async () => {
  const { page, context, problems } = await newPage();
  await page.goto(`${server.url}/admin`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.match(page.url(), /\/admin\/#\/signin$/);
  // The token field has the focus: keyboard only from here.
  await page.keyboard.type("et_not-the-token");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: "That token is not valid" }).waitFor();
  await shot(page, "signin-refused");
  await page.locator("#token").fill(ADMIN_TOKEN);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  // The demo app is there, live.
  await page.locator('#apps-live tr[data-app="demo"]').waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await shot(page, "signin");
  assert.deepEqual(problems, []);
  await context.close();
});

test("the tenant story: create, deploy, watch clients arrive, roll back", async () => {
  const { page, context, problems } = await newPage();
  await signIn(page);

  // Create the app; the secret is shown once, with a copy button.
  await page.getByRole("link", { name: "Apps" }).click();
  await page.locator("#new-slug").fill("chat");
  await page.locator("#new-name").fill("Team chat");
  await page.getByRole("button", { name: "Create app" }).click();
  const secret = await page.locator("#new-secret").textContent();
  assert.match(secret, /\S{20,}/);
  await page.getByRole("button", { name: "Copy" }).first().waitFor();
  await shot(page, "apps-created");

  // A taken slug says so.
  await page.locator("#new-slug").fill("chat");
  await page.getByRole("button", { name: "Create app" }).click();
  await page.getByRole("alert").filter({ hasText: /already|taken|exists/ }).waitFor();

  // The app page: nothing deployed yet.
  await page.goto(`${server.url}/admin/#/apps/chat`);
  await page.getByText("No versions yet").waitFor();
  await until(page, () => document.querySelector("#stat-connections")?.textContent === "0");
  await shot(page, "app-empty");

  // A file that is not WebAssembly: refused before upload, nothing changes.
  await page.locator("#wasm-file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.getByRole("alert").filter({ hasText: "notes.txt is not a WebAssembly file" }).waitFor();
  // A WebAssembly file of the wrong kind: the server names the failed step.
  await page.locator("#wasm-file").setInputFiles({
    name: "core.wasm",
    mimeType: "application/wasm",
    buffer: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  });
  await page.getByRole("alert").filter({ hasText: "core WebAssembly module" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "(step: validate)" }).waitFor();
  await shot(page, "app-upload-refused", "#drop");
  // A network error in the middle of an upload: said plainly, nothing deployed.
  await page.route("**/deployments?**", (route) => route.abort("connectionreset"));
  await page.locator("#wasm-file").setInputFiles(plugin("chat"));
  await page.getByRole("alert").filter({ hasText: "the upload was interrupted" }).waitFor();
  await page.unroute("**/deployments?**");
  assert.deepEqual(await admin(server).call("GET", "/apps/chat/deployments"), []);

  // Version 1: chat. Version 2: echo. Both go live in turn.
  await page.locator("#wasm-file").setInputFiles(plugin("chat"));
  await page.locator("#deploy-result").filter({ hasText: "Version 1 is live" }).waitFor();
  await page.locator("#wasm-file").setInputFiles(plugin("echo"));
  await page.locator("#deploy-result").filter({ hasText: "Version 2 is live" }).waitFor();
  await page.locator('#deployments tr[data-version="2"] .badge.active').waitFor();
  await until(page, () => document.querySelector("#stat-version")?.textContent === "2");
  // Each version says which contract it was built against.
  const row = await page.locator('#deployments tr[data-version="2"]').textContent();
  assert.match(row, /0\.2\.0/, `the contract version is shown: ${row}`);
  await until(page, () => document.querySelector("#stat-timers")?.textContent === "0");

  // Clients connect; the dashboard counts them.
  const url = server.url;
  for (let i = 0; i < 3; i++) {
    const c = io(url, { path: "/apps/chat/socket.io/", transports: ["websocket"], auth: { name: `user${i}` } });
    clients.push(c);
    await next(c, "connect");
  }
  await until(page, () => document.querySelector("#stat-connections")?.textContent === "3");
  // Traffic shows up in the live numbers.
  for (const c of clients) c.emit("message", "hello");
  await shot(page, "app-deployments", "#deploy-result");

  // Roll back (with confirmation): version 1 is live again, clients stay.
  await page.locator("#rollback").click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await page.locator('#deployments tr[data-version="1"] .badge.active').waitFor();
  await until(page, () => document.querySelector("#stat-version")?.textContent === "1");
  assert.ok(clients.every((c) => c.connected), "no client dropped on rollback");
  // New events run on version 1 (chat): join acks with the member count.
  assert.equal(await clients[0].timeout(3000).emitWithAck("join", "lobby"), 1);

  // The log tab shows the deploy notices and the handler's own lines, live.
  await page.getByRole("tab", { name: "Log" }).click();
  await page.locator("#log").filter({ hasText: "version 1 is live" }).waitFor();
  assert.equal(await clients[1].timeout(3000).emitWithAck("join", "lobby"), 2);
  // (They connected under version 2, which kept no name: chat calls them anonymous.)
  await page.locator("#log").filter({ hasText: "anonymous joined lobby (2 there)" }).waitFor();
  await shot(page, "app-log", "#log");

  // The sockets tab lists them; one is disconnected from here.
  await page.getByRole("tab", { name: "Sockets" }).click();
  await page.locator("#sockets tbody tr").nth(2).waitFor();
  assert.equal(await page.locator("#sockets tbody tr").count(), 3);
  await page.locator("#sockets tbody tr", { hasText: clients[0].id }).getByText("lobby").waitFor();
  await shot(page, "app-sockets", "#sockets");
  const gone = next(clients[2], "disconnect");
  await page.locator("#sockets tbody tr", { hasText: clients[2].id }).getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Disconnect" }).click();
  assert.deepEqual((await gone).slice(0, 1), ["io server disconnect"]);
  await until(page, () => document.querySelectorAll("#sockets tbody tr").length === 2);

  // Limits: text where a number belongs is caught; nothing is saved.
  await page.getByRole("tab", { name: "Limits" }).click();
  await page.locator("#limit-max_connections").fill("lots");
  await page.locator("#save-limits").click();
  await page.locator("#limit-max_connections-error").filter({ hasText: "whole number" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "Nothing was saved" }).waitFor();
  await shot(page, "app-limits-invalid", "#save-limits");
  let app = await admin(server).call("GET", "/apps/chat");
  assert.equal(app.limits.max_connections, 10000);
  await page.locator("#limit-max_connections").fill("500");
  await page.locator("#save-limits").click();
  await page.getByRole("alert").filter({ hasText: "Saved" }).waitFor();
  app = await admin(server).call("GET", "/apps/chat");
  assert.equal(app.limits.max_connections, 500);

  // The overview has it all, live.
  await page.getByRole("link", { name: "Overview" }).click();
  await until(page, () => document.querySelector('#apps-live tr[data-app="chat"] .connections')?.textContent === "2");
  // One node, no broker: the cluster panel says so.
  await page.locator("#broker", { hasText: "single node" }).waitFor();
  assert.equal(await page.locator("#nodes tbody tr").count(), 1);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(3000); // a few more samples on the charts; the toast fades
  await shot(page, "overview");
  assert.deepEqual(problems, []);
  await context.close();
});

test("tokens: create one with an expiry, see it listed without its secret, revoke it", async () => {
  const { page, context, problems } = await newPage();
  await signIn(page);
  await page.getByRole("link", { name: "Tokens" }).click();
  await page.getByRole("heading", { name: "Admin tokens" }).waitFor();
  await page.locator("#token-label").fill("e2e laptop");
  await page.locator("#token-expiry").selectOption({ label: "7 days" });
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.locator("#new-token").textContent()).trim();
  assert.match(secret, /^et_/);
  const row = page.locator("#tokens tr", { hasText: "e2e laptop" });
  await row.getByText("active").waitFor();
  assert.ok(!(await page.locator("#tokens").textContent()).includes(secret), "the list shows no secret");
  await shot(page, "tokens", "#tokens");
  await row.getByRole("button", { name: /Revoke token/ }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await row.getByText("revoked").waitFor();
  // The revoked token is refused at once.
  const refused = await fetch(`${server.url}/admin/api/v1/apps`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(refused.status, 401);
  assert.deepEqual(problems, []);
  await context.close();
});

/** The names of the main navigation's links that are shown. */
async function navLinks(page) {
  return page.locator("#nav a:visible").allTextContents();
}

/** A token made by the platform token (POST /tokens); returns its secret. */
async function tokenFor(body) {
  return (await admin(server).call("POST", "/tokens", body)).token;
}

test("roles: the platform admin manages tenants, a tenant-owner sees only its tenant", async () => {
  const api = admin(server);
  await api.call("POST", "/tenants", { slug: "acme", name: "Acme", quota: { max_apps: 3 } });
  await api.call("POST", "/apps", { slug: "acme-chat", tenant: "acme" });
  const owner = await tokenFor({ label: "alice", role: "tenant-owner", tenant: "acme" });
  await tokenFor({ label: "victor", role: "viewer", tenant: "acme", apps: ["acme-chat"] });

  // The platform admin: a Tenants tab, acme in it with its use of the quota.
  {
    const { page, context, problems } = await newPage();
    await signIn(page);
    assert.equal(await page.locator("#who-role").textContent(), "platform-admin");
    assert.deepEqual(await navLinks(page), ["Overview", "Apps", "Tenants", "Tokens", "Audit"]);
    await page.getByRole("link", { name: "Tenants" }).click();
    const acme = page.locator('#tenants tr[data-tenant="acme"]');
    assert.equal((await acme.locator(".quota-max_apps").textContent()).trim(), "1 / 3");
    await page.locator("#platform td", { hasText: "max_apps" }).first().waitFor();
    await shot(page, "tenants", "#tenants");
    // The audit log names the token and its role.
    await page.getByRole("link", { name: "Audit" }).click();
    await page.locator("#audit tr", { hasText: "acme-chat" }).first().locator(".audit-actor", { hasText: "platform-admin" }).waitFor();
    // A tenant with apps cannot be deleted; an empty one can, with its tokens.
    await page.goto(`${server.url}/admin/#/tenants/acme`);
    assert.equal(await page.locator("#delete-tenant").isDisabled(), true);
    await api.call("POST", "/tenants", { slug: "initech" });
    const gone = await tokenFor({ label: "peter", role: "viewer", tenant: "initech" });
    await page.goto(`${server.url}/admin/#/tenants/initech`);
    await page.locator("#delete-tenant:enabled").click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.locator('#tenants tr[data-tenant="acme"]').waitFor();
    assert.equal(await page.locator('#tenants tr[data-tenant="initech"]').count(), 0);
    const refused = await fetch(`${server.url}/admin/api/v1/whoami`, { headers: { authorization: `Bearer ${gone}` } });
    assert.equal(refused.status, 401, "the deleted tenant's token stopped working");
    assert.deepEqual(problems, []);
    await context.close();
  }

  const { page, context, problems } = await newPage();
  await signIn(page, server, owner);
  // Who is signed in, in the header; no Tenants tab, its own Tenant instead.
  assert.equal(await page.locator("#who-label").textContent(), "alice");
  assert.equal(await page.locator("#who-role").textContent(), "tenant-owner");
  assert.equal(await page.locator("#who-scope").textContent(), "tenant acme");
  assert.deepEqual(await navLinks(page), ["Overview", "Apps", "Tenant", "Tokens", "Audit"]);
  // No cluster view without cluster:read.
  assert.equal(await page.locator("#nodes").count(), 0);

  // Only its tenant's apps, and it may create one.
  await page.getByRole("link", { name: "Apps", exact: true }).click();
  await page.locator('#apps tr[data-app="acme-chat"]').waitFor();
  assert.equal(await page.locator('#apps tr[data-app="chat"]').count(), 0, "an app of another tenant is not listed");
  assert.equal(await page.locator('#apps tr[data-app="demo"]').count(), 0);
  await page.getByRole("button", { name: "Create app" }).waitFor();
  // Another tenant's app, even by its URL, does not exist for it.
  await page.goto(`${server.url}/admin/#/apps/chat`);
  await page.getByRole("alert").waitFor();
  assert.equal(await page.locator("#tabpanel").count(), 0);

  // Its tenant: quota use, its apps, its members (its tokens, no others).
  await page.getByRole("link", { name: "Tenant", exact: true }).click();
  const apps = page.locator('#quota-use [data-quota="max_apps"]');
  await apps.waitFor();
  assert.equal((await apps.locator(".value").textContent()).trim(), "1");
  assert.match(await apps.locator(".label").textContent(), /of 3/);
  const memoryNow = page.locator('#quota-use [data-quota="handler-memory-now"]');
  assert.match(await memoryNow.locator(".label").textContent(), /^Handler memory in use, of [\d,]+ MiB$/);
  await page.locator('#tenant-apps tr[data-app="acme-chat"]').waitFor();
  await page.locator("#members tr", { hasText: "alice" }).locator(".token-role", { hasText: "tenant-owner" }).waitFor();
  await page.locator("#members tr", { hasText: "victor" }).locator(".token-scope", { hasText: "apps acme-chat" }).waitFor();
  assert.equal(await page.locator("#members tr", { hasText: "e2e laptop" }).count(), 0, "no token of another tenant");
  assert.equal(await page.locator("#quota-form").count(), 0, "the quota is the platform's to change");
  await shot(page, "tenant-owner", "#quota-use");

  // Tokens: its tenant's only; new ones at or below its own role.
  await page.getByRole("link", { name: "Tokens", exact: true }).click();
  await page.locator("#tokens tr", { hasText: "victor" }).waitFor();
  assert.equal(await page.locator("#tokens tr", { hasText: "e2e laptop" }).count(), 0);
  assert.deepEqual(await page.locator("#token-role option").allTextContents(), ["tenant-owner", "deployer", "viewer"]);
  await page.locator("#token-label").fill("deploy bot");
  await page.locator("#token-role").selectOption("deployer");
  await page.locator("#token-apps label", { hasText: "acme-chat" }).locator("input").check();
  await page.getByRole("button", { name: "Create token" }).click();
  assert.match((await page.locator("#new-token").textContent()).trim(), /^et_/);
  const bot = page.locator("#tokens tr", { hasText: "deploy bot" });
  await bot.locator(".token-role", { hasText: "deployer" }).waitFor();
  assert.equal((await bot.locator(".token-scope").textContent()).trim(), "tenant acme, apps acme-chat");
  // The platform's pages are not for it, even by their URL.
  await page.goto(`${server.url}/admin/#/tenants`);
  await page.getByRole("alert").filter({ hasText: "tenants:manage" }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test("roles: a viewer sees the apps in its scope and is offered no change", async () => {
  const viewer = await tokenFor({ label: "vera", role: "viewer", tenant: "acme", apps: ["acme-chat"] });
  await admin(server).deploy("acme-chat", "echo");
  const { page, context, problems } = await newPage();
  await signIn(page, server, viewer);
  assert.equal(await page.locator("#who-role").textContent(), "viewer");
  assert.equal(await page.locator("#who-scope").textContent(), "tenant acme, apps acme-chat");
  assert.deepEqual(await navLinks(page), ["Overview", "Apps", "Audit"]);

  await page.getByRole("link", { name: "Apps", exact: true }).click();
  await page.locator('#apps tr[data-app="acme-chat"]').waitFor();
  assert.equal(await page.getByRole("button", { name: "Create app" }).count(), 0);

  // The app page: versions, but no upload, activate, roll back or delete.
  await page.goto(`${server.url}/admin/#/apps/acme-chat`);
  await page.locator('#deployments tr[data-version="1"]').waitFor();
  for (const gone of ["#drop", "#wasm-file", "#rollback", "#tab-delete"]) assert.equal(await page.locator(gone).count(), 0, `${gone} is not shown`);
  assert.equal(await page.getByRole("button", { name: "Activate" }).count(), 0);
  await shot(page, "app-viewer");
  await page.getByRole("tab", { name: "Limits" }).click();
  await page.locator("#limit-max_connections").waitFor();
  assert.ok(await page.locator("#limit-max_connections").getAttribute("readonly") !== null, "limits are read-only");
  assert.equal(await page.locator("#save-limits").count(), 0);
  await page.getByRole("tab", { name: "Keys" }).click();
  await page.getByText("Public key").waitFor();
  assert.equal(await page.locator("#rotate").count(), 0);

  // The server refuses what the UI does not offer: 403 naming the permission.
  const refused = await page.evaluate(async (token) => {
    const r = await fetch("/admin/api/v1/apps/acme-chat/rollback", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
    return { status: r.status, body: await r.json() };
  }, viewer);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "forbidden");
  assert.equal(refused.body.permission, "deployments:write");
  assert.match(refused.body.detail, /deployments:write/);

  // A stale UI (it believes the token may delete): the refusal is shown, named.
  await page.route("**/admin/api/v1/whoami", async (route) => {
    const response = await route.fetch();
    const who = await response.json();
    await route.fulfill({ response, json: { ...who, permissions: [...who.permissions, "apps:delete"] } });
  });
  await page.reload();
  await page.locator("#tab-delete").click();
  await page.locator("#confirm-slug").fill("acme-chat");
  await page.getByRole("button", { name: "Delete app" }).click();
  await page.getByRole("alert").filter({ hasText: "Not allowed" }).filter({ hasText: "apps:delete" }).waitFor();
  await admin(server).call("GET", "/apps/acme-chat");
  await page.unroute("**/admin/api/v1/whoami");
  await shot(page, "app-viewer-refused", "#tabpanel");
  assert.deepEqual(problems, []);
  await context.close();
});

test("roles: a deployer deploys, activates and rolls back, and changes nothing else", async () => {
  const deployer = await tokenFor({ label: "dee", role: "deployer", tenant: "acme" });
  const { page, context, problems } = await newPage();
  await signIn(page, server, deployer);
  assert.deepEqual(await navLinks(page), ["Overview", "Apps", "Audit"]);
  await page.goto(`${server.url}/admin/#/apps/acme-chat`);
  await page.locator("#drop").waitFor();
  await page.locator("#rollback").waitFor();
  assert.equal(await page.locator("#tab-delete").count(), 0);
  await page.getByRole("tab", { name: "Limits" }).click();
  await page.locator("#limit-max_connections").waitFor();
  assert.equal(await page.locator("#save-limits").count(), 0);
  await page.getByRole("tab", { name: "Keys" }).click();
  await page.getByText("Public key").waitFor();
  assert.equal(await page.locator("#rotate").count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("config: a variable and a secret are set, the secret never shows, a viewer only looks", async () => {
  const SECRET = "tok-e2e-7f3a9c-never-shown";
  await admin(server).createApp("conf");
  const { page, context, problems } = await newPage();
  await signIn(page);
  await page.goto(`${server.url}/admin/#/apps/conf`);
  await page.getByRole("tab", { name: "Config" }).click();
  await page.getByText("No config yet.").waitFor();

  // A bad name is caught before it is sent.
  await page.locator("#config-name").fill("has space");
  await page.locator("#config-save").click();
  await page.locator("#config-name-error").filter({ hasText: "A–Z" }).waitFor();

  // A plain variable: listed with its value.
  await page.locator("#config-name").fill("API_URL");
  await page.locator("#config-value").fill("https://api.example");
  await page.locator("#config-save").click();
  await page.getByRole("alert").filter({ hasText: "Saved variable API_URL" }).waitFor();
  await page.locator('#config tr[data-config="API_URL"] .config-value', { hasText: "https://api.example" }).waitFor();

  // A secret: masked while typed, gone from the form once sent, listed by name.
  await page.locator("#config-name").fill("API_TOKEN");
  await page.locator("#config-secret").check();
  await page.locator("#config-value").fill(SECRET);
  assert.ok(await page.locator("#config-value").evaluate((el) => el.classList.contains("masked")), "masked while typed");
  await page.locator("#config-save").click();
  await page.getByRole("alert").filter({ hasText: "Saved secret API_TOKEN" }).waitFor();
  await page.locator('#config tr[data-config="API_TOKEN"] .config-value', { hasText: "secret" }).waitFor();
  assert.equal(await page.locator("#config-value").inputValue(), "");
  const shown = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText + [...document.querySelectorAll("input, textarea")].map((e) => e.value).join(""));
  assert.ok(!shown.includes(SECRET), "the secret is nowhere in the page");
  // Nor in what the API answers the page.
  const listed = await page.evaluate(async () => (await fetch("/admin/api/v1/apps/conf/config", { headers: { authorization: `Bearer ${sessionStorage.getItem("eddy.admin.token")}` } })).text());
  assert.ok(!listed.includes(SECRET), listed);
  await shot(page, "app-config", "#config");

  // Delete, with confirmation.
  await page.locator('#config tr[data-config="API_URL"]').getByRole("button", { name: "Delete API_URL" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await until(page, () => !document.querySelector('#config tr[data-config="API_URL"]'));
  assert.deepEqual(problems, []);
  await context.close();

  // A viewer sees the names and no control to change them.
  const viewer = await tokenFor({ label: "cora", role: "viewer", tenant: "default" });
  const v = await newPage();
  await signIn(v.page, server, viewer);
  await v.page.goto(`${server.url}/admin/#/apps/conf`);
  await v.page.getByRole("tab", { name: "Config" }).click();
  await v.page.locator('#config tr[data-config="API_TOKEN"]').waitFor();
  await v.page.locator("#config-read-only").waitFor();
  assert.equal(await v.page.locator("#config-form").count(), 0);
  assert.equal(await v.page.locator("#config button").count(), 0, "no delete buttons");
  assert.ok(!(await v.page.content()).includes(SECRET));
  assert.deepEqual(v.problems, []);
  await v.context.close();
});

test("config: a server without a secret key refuses a secret and says how to fix it", async () => {
  const own = await startServer({ ping: [25000, 20000] });
  const { page, context, problems } = await newPage();
  try {
    await admin(own).createApp("nokey");
    await signIn(page, own);
    await page.goto(`${own.url}/admin/#/apps/nokey`);
    await page.getByRole("tab", { name: "Config" }).click();
    await page.getByText("No config yet.").waitFor();
    await page.locator("#config-name").fill("API_TOKEN");
    await page.locator("#config-secret").check();
    await page.locator("#config-value").fill("never-stored");
    await page.locator("#config-save").click();
    const refusal = page.locator('.alert.error[data-code="secret_key_missing"]');
    await refusal.filter({ hasText: "EDDY_SECRET_KEY" }).waitFor();
    assert.equal(await page.locator("#config-value").inputValue(), "", "the refused secret is not kept in the form");
    await shot(page, "app-config-no-key", "#config-form");
    // Plain variables work without a key.
    await page.locator("#config-secret").uncheck();
    await page.locator("#config-name").fill("MODE");
    await page.locator("#config-value").fill("test");
    await page.locator("#config-save").click();
    await page.locator('#config tr[data-config="MODE"]').waitFor();
    assert.equal(await page.locator('#config tr[data-config="API_TOKEN"]').count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await own.stop();
  }
});

test("an expired session goes back to sign-in and says why", async () => {
  const { page, context } = await newPage();
  await page.goto(`${server.url}/admin/`);
  await page.evaluate(() => sessionStorage.setItem("eddy.admin.token", "et_revoked"));
  await page.goto(`${server.url}/admin/#/apps`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "session ended" }).waitFor();
  await context.close();
});

test("phone width and dark mode", async () => {
  const { page, context, problems } = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  await signIn(page);
  await page.locator('#apps-live tr[data-app="chat"]').waitFor();
  // Nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the overview is ${overflow}px wider than a phone`);
  await shot(page, "overview-phone-dark");
  await page.goto(`${server.url}/admin/#/apps/chat`);
  await page.locator("#deployments").waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(17, 19, 24)", "dark colours by prefers-color-scheme");
  await shot(page, "app-phone-dark");
  assert.deepEqual(problems, []);
  await context.close();
});

test("keyboard: the skip link and the tabs are reachable", async () => {
  const { page, context } = await newPage();
  await signIn(page);
  await page.goto(`${server.url}/admin/#/apps/chat`);
  await page.reload();
  await page.locator("#deployments").waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  await page.locator("#tab-deployments").focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-limits");
  await page.keyboard.press("Enter");
  await page.locator("#save-limits").waitFor();
  await context.close();
});

/**
 * Waits until `hostile-start-flaky` (plugins/hostile/start-flaky) would start
 * in its lucky half of the clock's 8 s period (start-up returns) or its
 * unlucky half (start-up spins), with at least `room` ms of that half left.
 */
async function flakyPhase(unlucky, room) {
  const period = 8000;
  const half = period / 2;
  const phase = Date.now() % period;
  const [start, end] = unlucky ? [half, period] : [0, half];
  const wait = phase >= start && phase + room <= end ? 0 : (start + period - phase) % period;
  await new Promise((resolve) => setTimeout(resolve, wait));
}

test("an app whose handler fails to start is shown as faulted, until it tries again", async () => {
  // Its own server, with a short start deadline: a spinning start-up costs
  // 300 ms of a core, and the shared server's apps stay as they are.
  const own = await startServer({ ping: [25000, 20000], config: "wasm_start_timeout_ms = 300\n" });
  const { page, context, problems } = await newPage();
  const client = io(own.url, { path: "/apps/flaky/socket.io/", transports: ["websocket"], autoConnect: false });
  try {
    const api = admin(own);
    await api.createApp("flaky");
    await api.createApp("warm");
    const wasm = readFileSync(plugin("hostile-start-flaky"));
    // Compiled once (cached by content hash), so the real deploy is quick;
    // this one's trial start may pass or fail, whichever half it lands in.
    await api.call("POST", "/apps/warm/deployments?activate=false", wasm, "application/wasm").catch(() => {});
    await signIn(page, own);
    await page.goto(`${own.url}/admin/#/apps/flaky`);
    await page.getByText("No versions yet").waitFor();
    assert.ok(await page.locator("#faulted").isHidden(), "a new app is not faulted");

    // The trial start passes in a lucky half; the client connects on that
    // instance, and a crash loses it.
    await flakyPhase(false, 3000);
    await api.deploy("flaky", plugin("hostile-start-flaky"));
    client.connect();
    await next(client, "connect");
    assert.equal((await client.timeout(3000).emitWithAck("crash")).error.code, "handler_trap");
    // In the unlucky half every new instance spins past its deadline: the
    // first failure faults the app for 1 s, the next (once that is over)
    // for 2 s; events in between are refused at once.
    await flakyPhase(true, 3000);
    const codes = new Set();
    for (const started = Date.now(); Date.now() - started < 2000; ) {
      const reply = await client.timeout(3000).emitWithAck("ping");
      codes.add(reply?.error?.code ?? "ok");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(codes.has("handler_start_timeout") && codes.has("app_unavailable"), [...codes].join(", "));

    // The app page says so, live, with what it means for clients ...
    const notice = page.locator("#faulted");
    await notice.waitFor({ state: "visible" });
    assert.match(await notice.textContent(), /Faulted\..*tries again in [\d.]+ s.*app_unavailable/);
    await shot(page, "app-faulted", "#faulted");
    // ... and clears it when the backoff is over.
    await notice.waitFor({ state: "hidden" });
    assert.deepEqual(problems, []);
  } finally {
    client.disconnect();
    await context.close();
    await own.stop();
  }
});

// Leaves a record of what ran for the CI artefacts.
after(() => writeFileSync(join(SHOTS, "README.txt"), `Screenshots from tests/js/admin-ui.e2e.mjs, ${new Date().toISOString()}\n`));
