// The official socket.io-client against the real eddy binary: every
// transport, acks both ways, rooms, binary, namespaces, reconnection.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { admin, next, startServer } from "./server.mjs";

const PATH = "/apps/demo/socket.io/";

let server;
let demoSecret;
before(async () => {
  server = await startServer();
  // The demo app was seeded with a secret nobody saw: rotate to get one.
  demoSecret = (await admin(server).call("POST", "/apps/demo/secret")).secret;
});
after(async () => {
  assert.equal(await server.stop(), 0, "graceful shutdown exits 0");
});

function connect(options = {}, nsp = "/") {
  const socket = io(server.url + nsp, { path: PATH, reconnection: false, forceNew: true, ...options });
  return socket;
}

for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
  describe(`transports ${transports.join("+")}`, () => {
    test("connects and receives the handshake auth", async () => {
      const socket = connect({ transports, auth: { token: "abc" } });
      const [auth] = await next(socket, "auth");
      assert.deepEqual(auth, { token: "abc" });
      assert.ok(socket.connected);
      assert.match(socket.id, /^[A-Za-z0-9_-]{20}$/);
      socket.disconnect();
    });

    test("emits with an ack and gets message-back", async () => {
      const socket = connect({ transports });
      await next(socket, "connect");
      const reply = await socket.timeout(3000).emitWithAck("message-with-ack", 1, "two", { three: [true] });
      assert.deepEqual(reply, 1);
      const back = next(socket, "message-back");
      socket.emit("message", "hello", { n: 42 });
      assert.deepEqual(await back, ["hello", { n: 42 }]);
      socket.disconnect();
    });

    test("sends and receives binary attachments", async () => {
      const socket = connect({ transports });
      await next(socket, "connect");
      const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
      const back = next(socket, "message-back");
      socket.emit("message", "file", payload, { nested: Buffer.from("xyz") });
      const [name, data, nested] = await back;
      assert.equal(name, "file");
      assert.deepEqual(Buffer.from(data), payload);
      assert.deepEqual(Buffer.from(nested.nested), Buffer.from("xyz"));
      const acked = await socket.timeout(3000).emitWithAck("message-with-ack", Buffer.from([9, 8, 7]));
      assert.deepEqual(Buffer.from(acked), Buffer.from([9, 8, 7]));
      socket.disconnect();
    });

    test("answers a server-to-client emit with ack", async () => {
      const socket = connect({ transports });
      await next(socket, "connect");
      socket.on("question", (n, callback) => callback({ answer: n * 2 }));
      const reply = await admin(server).tenant("demo", demoSecret, "POST", "/emit", {
        socket: socket.id,
        event: "question",
        args: [21],
        ack_timeout_ms: 3000,
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json.ack, [{ answer: 42 }]);
      socket.disconnect();
    });
  });
}

test("upgrades from polling to websocket", async () => {
  const socket = connect({ transports: ["polling", "websocket"] });
  assert.equal(socket.io.engine.transport.name, "polling");
  const upgraded = next(socket.io.engine, "upgrade");
  await next(socket, "connect");
  await upgraded;
  assert.equal(socket.io.engine.transport.name, "websocket");
  // The session survived the upgrade: the same socket keeps talking.
  assert.equal(await socket.timeout(3000).emitWithAck("message-with-ack", "after"), "after");
  socket.disconnect();
});

test("rooms: a broadcast reaches members, not the sender or outsiders", async () => {
  const [alice, bob, carol] = [connect(), connect({ transports: ["polling"] }), connect()];
  await Promise.all([alice, bob, carol].map((s) => next(s, "connect")));
  assert.deepEqual(await alice.timeout(3000).emitWithAck("join", "lobby"), 1);
  assert.deepEqual(await bob.timeout(3000).emitWithAck("join", "lobby"), 2);
  let carolGot = false;
  carol.on("room-message", () => (carolGot = true));
  let aliceEcho = false;
  alice.on("room-message", () => (aliceEcho = true));
  const bobGets = next(bob, "room-message");
  assert.equal(await alice.timeout(3000).emitWithAck("to-room", "lobby", "hi", 3), 1);
  assert.deepEqual(await bobGets, ["hi", 3]);
  // A round trip on each socket proves nothing else is on its way.
  await carol.timeout(3000).emitWithAck("message-with-ack", 0);
  await alice.timeout(3000).emitWithAck("message-with-ack", 0);
  assert.equal(carolGot, false);
  assert.equal(aliceEcho, false);
  assert.deepEqual(await bob.timeout(3000).emitWithAck("leave", "lobby"), 1);
  [alice, bob, carol].forEach((s) => s.disconnect());
});

test("a binary event with a placeholder past its attachments drops its sender, not the room", async () => {
  const bob = connect();
  await next(bob, "connect");
  assert.deepEqual(await bob.timeout(3000).emitWithAck("join", "hall"), 1);
  let bobLeft = null;
  bob.on("disconnect", (reason) => (bobLeft = reason));
  // A raw client joins the room and sends what no official client would.
  const raw = new WebSocket(`${server.url.replace("http", "ws")}${PATH}?EIO=4&transport=websocket`);
  const frames = [];
  raw.on("message", (data) => frames.push(data.toString()));
  await next(raw, "open");
  raw.send("40");
  const joined = new Promise((resolve) => raw.on("message", (d) => String(d).startsWith("431") && resolve()));
  raw.send('421["join","hall"]');
  await joined;
  raw.send('451-["to-room","hall",{"_placeholder":true,"num":1}]');
  raw.send(Buffer.from([1, 2, 3]));
  const [code] = await next(raw, "close");
  assert.equal(code, 1002);
  // Bob got nothing illegal and is still connected and answered.
  assert.deepEqual(await bob.timeout(3000).emitWithAck("message-with-ack", "ok"), "ok");
  assert.equal(bobLeft, null);
  assert.ok(bob.connected);
  bob.disconnect();
});

test("namespaces: /custom is accepted, others are refused", async () => {
  const custom = connect({ auth: { a: 1 } }, "/custom");
  assert.deepEqual((await next(custom, "auth"))[0], { a: 1 });
  const refused = connect({}, "/random");
  const [error] = await next(refused, "connect_error");
  assert.equal(error.message, "Invalid namespace");
  custom.disconnect();
  refused.disconnect();
});

test("an unknown app is a clear 404", async () => {
  const res = await fetch(`${server.url}/apps/nope/socket.io/?EIO=4&transport=polling`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(body.code, "unknown_app");
});

for (const transports of [["websocket"], ["polling"]]) {
test(`reconnects after the server closes the connection (${transports})`, async () => {
  const own = await startServer();
  const socket = io(own.url, {
    path: PATH,
    transports,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
  });
  await next(socket, "connect");
  const firstId = socket.id;
  const disconnected = next(socket, "disconnect");
  assert.equal(await own.stop(), 0);
  const [reason] = await disconnected;
  // A websocket sees the close frame; a long-poll sees a 503 (no close
  // packet: python-socketio would take one as "do not reconnect").
  assert.equal(reason, transports[0] === "websocket" ? "transport close" : "transport error");
  const again = await startServer({ port: own.port });
  await next(socket, "connect", 10_000);
  assert.notEqual(socket.id, firstId);
  assert.equal(await socket.timeout(3000).emitWithAck("message-with-ack", "back"), "back");
  socket.disconnect();
  await again.stop();
});
}
