// Bun's WebSocket echo server (uWebSockets inside), for side-by-side runs:
//   bun benchmarks/bun_echo.js --port 9001
//   wsfast bench --server 'bun=bun benchmarks/bun_echo.js --port {port}'
// 127.0.0.1 only, no compression, every message echoed as it came.
const i = process.argv.indexOf("--port");
const port = i > 0 ? parseInt(process.argv[i + 1], 10) : 9001;
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response("WebSocket endpoint: upgrade required\n", { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    message(ws, message) {
      ws.send(message);
    },
  },
});
