// The whole control-plane story with the official client, on the registry
// named by EDDY_STORY_DATABASE (SQLite in the data directory when unset):
// create an app with the CLI, deploy, connect, deploy a second version
// while clients stay connected, roll back, publish from the tenant server
// API, restart the server and find everything still there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { io } from "socket.io-client";
import { ADMIN_TOKEN, admin, next, plugin, startServer } from "./server.mjs";

const database = process.env.EDDY_STORY_DATABASE;

// Asynchronous, so the connected clients keep answering heartbeats while
// the CLI runs (a deploy compiles for a while on a busy machine).
async function cli(server, ...args) {
  const { stdout } = await promisify(execFile)(process.env.EDDY_BIN, args, {
    env: { ...process.env, EDDY_SERVER: server.url, EDDY_ADMIN_TOKEN: ADMIN_TOKEN },
    encoding: "utf8",
  });
  return stdout;
}

test(`the control-plane story (${database ? "postgres" : "sqlite"})`, async () => {
  const args = ["--no-demo", ...(database ? ["--database", database] : [])];
  let server = await startServer({ args, keepData: true });
  const created = await cli(server, "app", "create", "story", "--max-events-per-second", "1000");
  const secret = created.match(/secret:\s+(sk_\S+)/)[1];
  assert.match(await cli(server, "deploy", "--app", "story", plugin("echo")), /version 1 of story is live/);

  const clients = ["websocket", "polling", "websocket"].map((t) =>
    io(server.url, {
      path: "/apps/story/socket.io/",
      transports: [t],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    }),
  );
  await Promise.all(clients.map((c) => next(c, "connect")));
  let drops = 0;
  clients.forEach((c) => c.on("disconnect", () => drops++));
  for (const c of clients) await c.timeout(3000).emitWithAck("join", "lobby");

  // Version 2 (the chat handler) goes live while everyone stays connected;
  // their rooms are the server's, so they carry over.
  assert.match(await cli(server, "deploy", "--app", "story", plugin("chat"), "--notes", "chat"), /version 2 of story is live/);
  assert.equal(await clients[0].timeout(3000).emitWithAck("members", "lobby"), 3);
  const said = next(clients[1], "message");
  assert.equal(await clients[0].timeout(3000).emitWithAck("say", "lobby", "v2 here"), 2);
  assert.equal((await said)[0].text, "v2 here");
  assert.equal(drops, 0);

  // Roll back to version 1: echo answers again, same connections.
  assert.match(await cli(server, "rollback", "--app", "story"), /version 1 of story is live again/);
  assert.equal(await clients[2].timeout(3000).emitWithAck("message-with-ack", "v1"), "v1");
  const listing = await cli(server, "deployments", "--app", "story");
  assert.match(listing, /\s1\s+active/);
  assert.match(listing, /\s2\s+retired/);

  // The tenant's backend publishes into the room.
  const got = Promise.all(clients.map((c) => next(c, "announcement")));
  const published = await admin(server).tenant("story", secret, "POST", "/emit", {
    room: "lobby",
    event: "announcement",
    args: ["from the backend"],
  });
  assert.equal(published.status, 200);
  assert.equal(published.json.delivered, 3);
  assert.deepEqual((await got).map((a) => a[0]), ["from the backend", "from the backend", "from the backend"]);
  assert.equal(drops, 0);

  // Restart on the same registry: the clients come back by themselves and
  // find the app, its versions and its active version as they were.
  const port = server.port;
  const dataDir = server.dataDir;
  const reconnected = Promise.all(clients.map((c) => next(c, "connect", 15_000)));
  assert.equal(await server.stop(), 0);
  server = await startServer({ args, port, dataDir });
  await reconnected;
  assert.equal(await clients[0].timeout(3000).emitWithAck("message-with-ack", "after restart"), "after restart");
  const again = await cli(server, "deployments", "--app", "story");
  assert.match(again, /\s1\s+active/);
  assert.match(again, /\s2\s+retired\s.*chat/);
  clients.forEach((c) => c.disconnect());
  await server.stop();
});
