// The reference peer for Eddy's benchmarks: a Node.js Socket.IO 4.8 server
// whose handlers do the same work as Eddy's `echo` app, on the same path
// and with the same heartbeat, so `loadgen` drives both with one command.
//
//   node server.js --port 8081 [--path /apps/demo/socket.io/] [--redis redis://127.0.0.1:6379]
//
// With --redis, rooms span every process started with the same Redis (the
// official @socket.io/redis-adapter): the cluster comparison.
// Prints "listening on PORT" once ready.

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "8081" },
    host: { type: "string", default: "127.0.0.1" },
    path: { type: "string", default: "/apps/demo/socket.io/" },
    redis: { type: "string" },
  },
});

const http = createServer();
const io = new Server(http, {
  path: opts.path,
  // Eddy's defaults, so both servers do the same heartbeat work.
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  serveClient: false,
  cors: { origin: "*" },
});

if (opts.redis) {
  const [{ createClient }, { createAdapter }] = await Promise.all([
    import("redis"),
    import("@socket.io/redis-adapter"),
  ]);
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: `eddy-bench-${opts.path}` }));
}

// The same contract as Eddy's echo (server/src/dispatch/echo.rs).
io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth ?? {});
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", async (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(io.sockets.adapter.rooms.get(room)?.size ?? 0);
  });
  socket.on("leave", async (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack(io.sockets.adapter.rooms.get(room)?.size ?? 0);
  });
  socket.on("to-room", (room, ...rest) => {
    const ack = typeof rest[rest.length - 1] === "function" ? rest.pop() : null;
    socket.to(room).emit("room-message", ...rest);
    if (ack) ack((io.sockets.adapter.rooms.get(room)?.size ?? 1) - 1);
  });
});

http.listen(Number(opts.port), opts.host, () => {
  console.log(`listening on ${http.address().port}`);
});

const stop = () => io.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
