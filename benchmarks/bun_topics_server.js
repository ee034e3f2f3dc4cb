// The Bun side of bench_topics_bun.py (Bun's WebSocket server is
// uWebSockets): a text message "sub NAME NAME ..." subscribes its
// connection to those topics (ws.subscribe) and is answered "ok"; a binary
// message is published (server.publish) to topic "t<N>", N being its
// first 4 bytes (big-endian). Loopback only, compression off.
//   bun bun_topics_server.js PORT
const port = Number(process.argv[2]);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(req, server) {
    if (server.upgrade(req)) return;
    return new Response("upgrade required", { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    idleTimeout: 0,
    message(ws, message) {
      if (typeof message === "string") {
        const names = message.split(" ");
        if (names[0] === "sub") {
          for (let i = 1; i < names.length; i++) ws.subscribe(names[i]);
          ws.send("ok");
        }
        return;
      }
      server.publish("t" + message.readUInt32BE(0), message);
    },
  },
});
