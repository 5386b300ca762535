// Starts the eddy binary named by EDDY_BIN on a free port and waits for its
// "eddy listening on http://…" line. Every server is stopped by the caller.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
 * is the text of an eddy.toml to use.
 */
export async function startServer({ args = [], port = 0, config } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "eddy-js-"));
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
      "--ping-interval-ms", "300",
      "--ping-timeout-ms", "200",
      "--connect-timeout-ms", "1000",
      "--log", "warn",
      "--data-dir", dataDir,
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: withoutEddyConfig(process.env) },
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
      rmSync(dataDir, { recursive: true, force: true });
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

function withoutEddyConfig(env) {
  const clean = { ...env };
  delete clean.EDDY_CONFIG;
  return clean;
}
