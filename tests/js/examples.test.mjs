// The contract 0.2 examples (timers, config, kv listing and atomic writes)
// driven by the official socket.io-client through a real eddy: `game`,
// `poll` and `moderated-chat` from plugins/. Each was built with the SDK,
// whose version the deploy reads from the component.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { admin, next, startServer } from "./server.mjs";

const APPS = { game: "game", poll: "poll", moderated: "moderated-chat" };

let server;
let api;
before(async () => {
  server = await startServer();
  api = admin(server);
  for (const [slug, name] of Object.entries(APPS)) {
    await api.createApp(slug);
    const report = await api.deploy(slug, name);
    assert.equal(report.deployment.contract, "0.2.0", JSON.stringify(report));
    assert.match(report.deployment.sdk_version, /^0\.2\.\d+$/, "the SDK stamped its version");
  }
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

function connect(app, options = {}) {
  return io(server.url, {
    path: `/apps/${app}/socket.io/`,
    reconnection: false,
    forceNew: true,
    transports: ["websocket"],
    ...options,
  });
}

/** Collects the arguments of `event` on `socket` for `ms` milliseconds. */
async function collect(socket, event, ms) {
  const seen = [];
  const listener = (...args) => seen.push(args);
  socket.on(event, listener);
  await new Promise((resolve) => setTimeout(resolve, ms));
  socket.off(event, listener);
  return seen;
}

/** Polls `check` until it returns true, or fails after `ms`. */
async function eventually(check, what, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves with the arguments of the first `event` on `socket` that `pick` accepts. */
function nextWhere(socket, event, pick, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    const listener = (...args) => {
      if (!pick(...args)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(args);
    };
    socket.on(event, listener);
  });
}

const timersPending = async (slug) => (await api.call("GET", `/apps/${slug}`)).timers_pending;

test("game: a 20 Hz tick while the room has players, stopped when it empties", async () => {
  const ada = connect("game", { auth: { name: "Ada" } });
  await next(ada, "connect");
  assert.deepEqual(await ada.timeout(3000).emitWithAck("join", "r1"), { room: "r1", players: 1 });
  const first = (await next(ada, "state"))[0];
  assert.deepEqual(first.players, [{ id: ada.id, name: "Ada", x: 0, y: 0 }]);

  // Never faster than 20 a second. Each tick is a round trip through the
  // registry, so a loaded machine runs it slower (20 a second idle; 5 with
  // the whole suite on two cores): the lower bound only says it keeps going.
  const seen = await collect(ada, "state", 2000);
  assert.ok(seen.length >= 6 && seen.length <= 41, `${seen.length} ticks in two seconds`);
  const ticks = seen.map(([s]) => s.tick);
  assert.deepEqual(ticks, ticks.slice().sort((a, b) => a - b), "ticks arrive in order");
  assert.equal(ticks.at(-1) - ticks[0], ticks.length - 1, "no tick skipped");

  const bob = connect("game", { auth: { name: "Bob" } });
  await next(bob, "connect");
  assert.deepEqual(await bob.timeout(3000).emitWithAck("join", "r1"), { room: "r1", players: 2 });
  assert.deepEqual(await bob.timeout(3000).emitWithAck("move", 4, 7), { x: 4, y: 7 });
  await eventually(async () => {
    const [state] = await next(ada, "state");
    return state.players.some((p) => p.name === "Bob" && p.x === 4 && p.y === 7);
  }, "Ada sees Bob's move");
  assert.equal(await timersPending("game"), 1, "one tick for the room, not one per player");

  ada.disconnect();
  assert.equal(await timersPending("game"), 1, "Bob still plays");
  bob.disconnect();
  await eventually(async () => (await timersPending("game")) === 0, "the tick stops");
});

test("poll: create, list options with counts, vote once, close at its time", async () => {
  const ada = connect("poll");
  const bob = connect("poll");
  await Promise.all([next(ada, "connect"), next(bob, "connect")]);
  const poll = { question: "Lunch?", options: ["pizza", "soup", "salad"], closes_in_ms: 1500 };
  const { id, closes_at } = await ada.timeout(3000).emitWithAck("create", poll);
  assert.ok(Math.abs(closes_at - (Date.now() + 1500)) < 1000);
  const watched = await bob.timeout(3000).emitWithAck("watch", id);
  assert.deepEqual(watched.options, [
    { text: "pizza", votes: 0 },
    { text: "soup", votes: 0 },
    { text: "salad", votes: 0 },
  ]);
  assert.deepEqual(await ada.timeout(3000).emitWithAck("polls"), [{ id, question: "Lunch?", closes_at }]);

  const adaHears = next(ada, "results");
  const after = await bob.timeout(3000).emitWithAck("vote", id, 1);
  assert.equal(after.options[1].votes, 1);
  assert.equal((await adaHears)[0].options[1].votes, 1);
  assert.equal((await bob.timeout(3000).emitWithAck("vote", id, 2)).error.code, "already_voted");
  assert.equal((await ada.timeout(3000).emitWithAck("vote", id, 7)).error.code, "no_such_option");
  assert.equal((await ada.timeout(3000).emitWithAck("vote", id, 2)).options[2].votes, 1);

  // The close timer tells both watchers, and later votes are refused.
  const [[closedForAda], [closedForBob]] = await Promise.all([next(ada, "closed", 5000), next(bob, "closed", 5000)]);
  assert.equal(closedForAda.open, false);
  assert.deepEqual(closedForBob.options.map((o) => o.votes), [0, 1, 1]);
  assert.ok(Date.now() >= closes_at, "not before its time");
  const late = connect("poll");
  await next(late, "connect");
  const refused = await late.timeout(3000).emitWithAck("vote", id, 0);
  assert.equal(refused.error.code, "poll_closed");
  assert.deepEqual(await late.timeout(3000).emitWithAck("polls"), []);
  [ada, bob, late].forEach((s) => s.disconnect());
});

test("moderated-chat: the word list and mode come from app config, without a redeploy", async () => {
  const setConfig = (name, value) =>
    api.call("PUT", `/apps/moderated/config/${name}`, { value, secret: false });
  const ada = connect("moderated", { auth: { name: "Ada" } });
  const bob = connect("moderated", { auth: { name: "Bob" } });
  await Promise.all([next(ada, "connect"), next(bob, "connect")]);

  let bobHears = next(bob, "message");
  assert.deepEqual(await ada.timeout(3000).emitWithAck("say", "buy spam now"), { delivered: 1, masked: false });
  assert.deepEqual((await bobHears)[0], { from: "Ada", text: "buy spam now" });

  // A config change reaches running instances within a second.
  await setConfig("banned_words", "spam, scam");
  await eventually(async () => (await ada.timeout(3000).emitWithAck("say", "spam?")).masked, "the word list applies");
  // (Bob may still be receiving the probes above.)
  bobHears = nextWhere(bob, "message", (m) => m.text.startsWith("no "));
  assert.deepEqual(await ada.timeout(3000).emitWithAck("say", "no SPAM, no scam"), { delivered: 1, masked: true });
  assert.equal((await bobHears)[0].text, "no ****, no ****");

  await setConfig("moderation", "refuse");
  await eventually(
    async () => (await ada.timeout(3000).emitWithAck("say", "spam"))?.error?.code === "message_refused",
    "refusal applies",
  );
  let heard = 0;
  bob.on("message", ({ text }) => text.endsWith("alert") && heard++);
  const refused = await ada.timeout(3000).emitWithAck("say", "scam alert");
  assert.equal(refused.error.code, "message_refused");
  const adaHears = nextWhere(ada, "message", (m) => m.text === "hello");
  assert.equal((await bob.timeout(3000).emitWithAck("say", "hello")).delivered, 1);
  assert.deepEqual((await adaHears)[0], { from: "Bob", text: "hello" });
  assert.equal(heard, 0, "a refused message reaches nobody");
  ada.disconnect();
  bob.disconnect();
});
