// The Bun side of bench_publish_bun.py: every connection subscribes to one
// topic; any message a client sends is published to that topic with
// server.publish (Bun's WebSocket server is uWebSockets). Loopback only,
// compression off.  bun bun_publish_server.js PORT
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
    open(ws) { ws.subscribe("t"); },
    message(ws, message) { server.publish("t", message); },
  },
});
