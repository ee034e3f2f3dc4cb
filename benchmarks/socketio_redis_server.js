// The socket.io side of bench_redis_latency.py: a socket.io server on the
// Redis adapter (@socket.io/redis-adapter, node-redis clients), the same
// roles as redis_bench_app.py. A connection with ?sub=1 joins the room
// "bench"; an event "pub" makes the server emit "m" to that room with
// its CLOCK_MONOTONIC time in nanoseconds (process.hrtime), taken at the
// call. WebSocket transport only, compression off. Prints its port.
//   NODE_PATH=DIR/node_modules node socketio_redis_server.js REDIS_URL
const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const pub = createClient({ url: process.argv[2] });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ["websocket"],
    perMessageDeflate: false,
    adapter: createAdapter(pub, sub),
  });
  io.on("connection", (socket) => {
    if (socket.handshake.query.sub) socket.join("bench");
    socket.on("pub", () => io.to("bench").emit("m", String(process.hrtime.bigint())));
  });
  httpServer.listen(0, "127.0.0.1", () => console.log(httpServer.address().port));
}

main();
