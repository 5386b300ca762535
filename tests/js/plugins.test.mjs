// The example plugins (WebAssembly handlers) driven by the official
// socket.io-client through a real eddy, plus the hostile ones: each is
// stopped at its limit while a bystander app keeps answering.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { io } from "socket.io-client";
import { admin, next, plugin, startServer } from "./server.mjs";

const APPS = {
  "wasm-echo": "echo",
  chat: "chat",
  presence: "presence",
  "auth-token": "auth-token",
  counter: "counter",
  spin: "hostile-spin",
  grow: "hostile-grow",
  panic: "hostile-panic",
  flood: "hostile-flood",
};

let server;
before(async () => {
  server = await startServer();
  const api = admin(server);
  for (const [slug, name] of Object.entries(APPS)) {
    const limits = {
      // The memory cap is under test: the (wall-clock) deadline must not
      // cut the growth short on a busy machine.
      grow: { handler_memory_mb: 16, handler_deadline_ms: 5000 },
      spin: { handler_deadline_ms: 50 },
      // The bystander makes round trips as fast as it can.
      "wasm-echo": { max_events_per_second: 100_000 },
    }[slug] ?? {};
    await api.appWith(slug, name, limits);
  }
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

function connect(app, options = {}, nsp = "/") {
  return io(server.url + nsp, {
    path: `/apps/${app}/socket.io/`,
    reconnection: false,
    forceNew: true,
    transports: ["websocket"],
    ...options,
  });
}

describe("echo as WebAssembly", () => {
  test("behaves like the reference server", async () => {
    const socket = connect("wasm-echo", { auth: { token: "w" }, transports: ["polling", "websocket"] });
    assert.deepEqual((await next(socket, "auth"))[0], { token: "w" });
    const back = next(socket, "message-back");
    socket.emit("message", 1, "2", { 3: [true] });
    assert.deepEqual(await back, [1, "2", { 3: [true] }]);
    assert.deepEqual(await socket.timeout(3000).emitWithAck("message-with-ack", "x", { y: 1 }), "x");
    const bin = next(socket, "message-back");
    socket.emit("message", Buffer.from([1, 2, 3]));
    assert.deepEqual(Buffer.from((await bin)[0]), Buffer.from([1, 2, 3]));
    const refused = connect("wasm-echo", {}, "/random");
    assert.equal((await next(refused, "connect_error"))[0].message, "Invalid namespace");
    const custom = connect("wasm-echo", {}, "/custom");
    assert.deepEqual((await next(custom, "auth"))[0], {});
    [socket, refused, custom].forEach((s) => s.disconnect());
  });
});

test("chat: rooms, broadcast except sender, member counts", async () => {
  const ada = connect("chat", { auth: { name: "Ada" } });
  const bob = connect("chat", { auth: { name: "Bob" }, transports: ["polling"] });
  await Promise.all([next(ada, "connect"), next(bob, "connect")]);
  assert.equal(await ada.timeout(3000).emitWithAck("join", "lobby"), 1);
  const adaSeesBob = next(ada, "joined");
  assert.equal(await bob.timeout(3000).emitWithAck("join", "lobby"), 2);
  assert.deepEqual((await adaSeesBob)[0], { name: "Bob", count: 2 });
  const bobGets = next(bob, "message");
  assert.equal(await ada.timeout(3000).emitWithAck("say", "lobby", "hello"), 1);
  const [message] = await bobGets;
  assert.equal(message.from, "Ada");
  assert.equal(message.text, "hello");
  assert.ok(Math.abs(message.at - Date.now()) < 60_000);
  const error = await ada.timeout(3000).emitWithAck("say", "lobby");
  assert.equal(error.error.code, "bad_arguments");
  assert.equal(await bob.timeout(3000).emitWithAck("members", "lobby"), 2);
  ada.disconnect();
  bob.disconnect();
});

test("presence: rosters in kv, cleaned up on disconnect", async () => {
  const a = connect("presence");
  const b = connect("presence");
  await Promise.all([next(a, "connect"), next(b, "connect")]);
  assert.deepEqual(await a.timeout(3000).emitWithAck("enter", "room", "Ada"), ["Ada"]);
  const bSees = next(b, "presence");
  assert.deepEqual(await b.timeout(3000).emitWithAck("enter", "room", "Bob"), ["Ada", "Bob"]);
  assert.deepEqual((await bSees)[0], { room: "room", online: ["Ada", "Bob"] });
  const gone = next(b, "presence");
  a.disconnect();
  assert.deepEqual((await gone)[0], { room: "room", online: ["Bob"] });
  assert.deepEqual(await b.timeout(3000).emitWithAck("who", "room"), ["Bob"]);
  b.disconnect();
});

test("auth-token: only valid signed tokens connect", async () => {
  const sign = (user, expires, secret = "eddy-demo-secret") =>
    `${user}.${expires}.${createHmac("sha256", secret).update(`${user}.${expires}`).digest("hex")}`;
  const good = connect("auth-token", { auth: { token: sign("ada", Date.now() + 60_000) } });
  await next(good, "connect");
  assert.equal(await good.timeout(3000).emitWithAck("whoami"), "ada");
  good.disconnect();
  const cases = [
    [{}, "missing token"],
    [{ token: "garbage" }, "malformed token"],
    [{ token: sign("ada", Date.now() - 1000) }, "token expired"],
    [{ token: sign("ada", Date.now() + 60_000, "wrong secret") }, "bad signature"],
  ];
  for (const [auth, message] of cases) {
    const socket = connect("auth-token", { auth });
    const [error] = await next(socket, "connect_error");
    assert.equal(error.message, message);
    socket.disconnect();
  }
});

test("counter: atomic increments broadcast to everyone", async () => {
  const a = connect("counter");
  const [start] = await next(a, "counter");
  const b = connect("counter");
  assert.equal((await next(b, "counter"))[0], start);
  const bSees = next(b, "counter");
  assert.equal(await a.timeout(3000).emitWithAck("increment", 5), start + 5);
  assert.equal((await bSees)[0], start + 5);
  const both = await Promise.all([
    a.timeout(3000).emitWithAck("increment"),
    b.timeout(3000).emitWithAck("increment"),
  ]);
  assert.deepEqual(both.sort(), [start + 6, start + 7]);
  assert.equal(await b.timeout(3000).emitWithAck("get"), start + 7);
  a.disconnect();
  b.disconnect();
});

describe("hostile handlers", () => {
  /** Echo round trips on the bystander app while `work` runs; returns the worst latency. */
  async function bystanderDuring(work) {
    const bystander = connect("wasm-echo");
    await next(bystander, "connect");
    let running = true;
    let worst = 0;
    let count = 0;
    const loop = (async () => {
      while (running) {
        const t0 = performance.now();
        assert.equal(await bystander.timeout(2000).emitWithAck("message-with-ack", count), count);
        worst = Math.max(worst, performance.now() - t0);
        count++;
      }
    })();
    try {
      await work();
    } finally {
      running = false;
      await loop;
      bystander.disconnect();
    }
    assert.ok(count > 0, "the bystander made round trips");
    return worst;
  }

  test("an infinite loop is stopped at the deadline; the next event works", async () => {
    const socket = connect("spin");
    await next(socket, "connect");
    const worst = await bystanderDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const reply = await socket.timeout(3000).emitWithAck("spin");
        assert.equal(reply.error.code, "handler_timeout");
        assert.ok(performance.now() - t0 < 1000, "stopped near its 50 ms deadline");
        assert.deepEqual(await socket.timeout(3000).emitWithAck("ok", i), i);
      }
    });
    assert.ok(worst < 500, `bystander stayed responsive (worst ${worst} ms)`);
    socket.disconnect();
  });

  test("unbounded memory growth is stopped at the app's cap", async () => {
    const socket = connect("grow");
    await next(socket, "connect");
    await bystanderDuring(async () => {
      for (let i = 0; i < 3; i++) {
        const reply = await socket.timeout(5000).emitWithAck("grow");
        assert.equal(reply.error.code, "handler_memory_limit");
        assert.deepEqual(await socket.timeout(3000).emitWithAck("small", i), i);
      }
    });
    socket.disconnect();
  });

  test("a panic on every event is a trap, answered with an error", async () => {
    const socket = connect("panic");
    await next(socket, "connect");
    await bystanderDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const reply = await socket.timeout(3000).emitWithAck("anything", i);
        assert.equal(reply.error.code, "handler_trap");
      }
    });
    assert.ok(socket.connected, "a trapping handler does not cost the client its connection");
    socket.disconnect();
  });

  test("an emit flood is capped per call", async () => {
    const socket = connect("flood");
    await next(socket, "connect");
    let received = 0;
    socket.on("drop", () => received++);
    await bystanderDuring(async () => {
      const sent = await socket.timeout(5000).emitWithAck("flood", 100_000);
      assert.equal(sent, 1000, "emits per call are capped at 1000");
    });
    assert.equal(await socket.timeout(3000).emitWithAck("ok", 1), 1);
    assert.equal(received, 1000);
    socket.disconnect();
  });

  test("fault counters are exported", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const sample = (name) => Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
    assert.ok(sample('eddy_handler_timeouts_total\\{app="spin"\\}') >= 5);
    assert.ok(sample('eddy_handler_memory_faults_total\\{app="grow"\\}') >= 3);
    assert.ok(sample('eddy_handler_traps_total\\{app="panic"\\}') >= 5);
    assert.equal(sample('eddy_handler_traps_total\\{app="wasm-echo"\\}'), 0);
  });
});

test("a new version is live for the next event; no socket drops", async () => {
  const live = await startServer();
  const api = admin(live);
  await api.appWith("live", "echo");
  const socket = io(live.url, { path: "/apps/live/socket.io/", forceNew: true, transports: ["websocket"] });
  await next(socket, "connect");
  let disconnected = false;
  socket.on("disconnect", () => (disconnected = true));
  assert.equal(await socket.timeout(3000).emitWithAck("message-with-ack", "v1"), "v1");
  const deployed = await api.deploy("live", "counter");
  assert.equal(deployed.deployment.version, 2);
  // Activation is done when the deploy returns: the very next event runs
  // the counter handler, which answers "get" (echo would not answer).
  assert.equal(await socket.timeout(3000).emitWithAck("get"), 0);
  assert.equal(disconnected, false);
  assert.ok(socket.connected);
  // Roll back: echo answers again, on the same connection.
  await api.call("POST", "/apps/live/rollback", {});
  assert.equal(await socket.timeout(3000).emitWithAck("message-with-ack", "v1 again"), "v1 again");
  assert.equal(disconnected, false);
  socket.disconnect();
  assert.equal(await live.stop(), 0);
});
