// Starts the eddy binary named by EDDY_BIN on a free port and waits for its
// "eddy listening on http://…" line. Every server is stopped by the caller.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The plugin `name` built by the Rust test crate (EDDY_PLUGINS_DIR). */
export function plugin(name) {
  const dir = process.env.EDDY_PLUGINS_DIR;
  if (!dir) throw new Error("EDDY_PLUGINS_DIR must name the built plugins (the Rust test harness sets it)");
  return join(dir, `${name.replaceAll("-", "_")}.wasm`);
}

/**
 * Starts eddy on a free port (or `port`) with its own data directory; `config`
 * is the text of an eddy.toml to use, `env` extra variables (EDDY_SECRET_KEY).
 * The heartbeat is fast unless `ping` says otherwise (`[intervalMs, timeoutMs]`).
 */
export async function startServer({ args = [], port = 0, config, dataDir, keepData = false, ping = [300, 200], env = {} } = {}) {
  const ownDir = !dataDir;
  dataDir ??= mkdtempSync(join(tmpdir(), "eddy-js-"));
  if (config !== undefined) {
    writeFileSync(join(dataDir, "eddy.toml"), config);
    args = ["--config", join(dataDir, "eddy.toml"), ...args];
  }
  const bin = process.env.EDDY_BIN;
  if (!bin) throw new Error("EDDY_BIN must name the eddy binary (the Rust test harness sets it)");
  const child = spawn(
    bin,
    [
      "serve",
      "--listen", `127.0.0.1:${port}`,
      "--ping-interval-ms", String(ping[0]),
      "--ping-timeout-ms", String(ping[1]),
      "--connect-timeout-ms", "1000",
      "--log", "warn",
      "--data-dir", dataDir,
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...withoutEddyConfig(process.env), ...env } },
  );
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`eddy did not start: ${out}`)), 10_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/eddy listening on (http:\/\/[\d.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`eddy exited with ${code}: ${out}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    async stop(signal = "SIGTERM") {
      let code = child.exitCode;
      if (code === null) {
        child.kill(signal);
        [code] = await once(child, "exit");
      }
      if (ownDir && !keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Resolves with the arguments of the next `event` on `emitter`, or rejects after `ms`. */
export function next(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Every test server accepts this admin token. */
export const ADMIN_TOKEN = "eddy-test-admin-token-0123456789";

function withoutEddyConfig(env) {
  // Every test client comes from 127.0.0.1: no per-address limits here
  // (their own tests set them).
  const clean = {
    EDDY_MAX_CONNECTIONS_PER_ADDRESS: "0",
    EDDY_SESSIONS_PER_SECOND_PER_ADDRESS: "0",
    ...env,
    EDDY_ADMIN_TOKEN: ADMIN_TOKEN,
  };
  delete clean.EDDY_CONFIG;
  return clean;
}

/** The admin API of `server`, and the tenant API of its apps. */
export function admin(server) {
  const call = async (method, path, body, contentType = "application/json") => {
    const res = await fetch(`${server.url}/admin/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": contentType } : {}) },
      body: body === undefined ? undefined : contentType === "application/json" ? JSON.stringify(body) : body,
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return json;
  };
  return {
    call,
    /** Creates an app; returns its secret. */
    async createApp(slug, limits = {}) {
      return (await call("POST", "/apps", { slug, limits })).secret;
    },
    /** Uploads and activates the built plugin `name` (or a file path). */
    async deploy(slug, name) {
      const bytes = readFileSync(name.endsWith(".wasm") ? name : plugin(name));
      return call("POST", `/apps/${slug}/deployments`, bytes, "application/wasm");
    },
    /** An app running plugin `name`; returns its secret. */
    async appWith(slug, name, limits = {}) {
      const secret = await this.createApp(slug, limits);
      await this.deploy(slug, name);
      return secret;
    },
    /** A tenant server API call for `slug` with its `secret`. */
    async tenant(slug, secret, method, path, body) {
      const res = await fetch(`${server.url}/apps/${slug}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
  };
}
