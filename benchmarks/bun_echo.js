// Bun's WebSocket echo server (uWebSockets inside), for side-by-side runs:
//   bun benchmarks/bun_echo.js --port 9001 [--deflate]
//   wsfast bench --stacks wsfast,bun     (finds bun itself; see README.md)
// 127.0.0.1 only, every message echoed as it came. Compression off, or with
// --deflate Bun's perMessageDeflate (as a browser negotiates it).
const arg = (name) => process.argv.indexOf(name);
const i = arg("--port");
const port = i > 0 ? parseInt(process.argv[i + 1], 10) : 9001;
const deflate = arg("--deflate") > 0;
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response("WebSocket endpoint: upgrade required\n", { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    message(ws, message) {
      ws.send(message);
    },
  },
});
