// Echo round trips against a wsfast server with Node's `ws` client.
// usage: node node_ws_client.js URL deflate|plain [burst|sequential]
// burst (the default) sends every message at once; sequential sends one,
// waits for its echo, then sends the next.
// Prints one JSON line: {ok, error, received, extensions, closeCode, closeReason}.
"use strict";
const WebSocket = require("ws");
const crypto = require("crypto");

const [url, mode, pacing = "burst"] = process.argv.slice(2);
if (pacing !== "burst" && pacing !== "sequential") {
  console.log(JSON.stringify({ ok: false, error: "unknown pacing " + pacing }));
  process.exit(2);
}
const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const ws = new WebSocket(url, { perMessageDeflate: mode === "deflate", maxPayload: 8 << 20 });
const timer = setTimeout(() => { console.log(JSON.stringify({ ok: false, error: "timeout" })); process.exit(2); }, 30000);

const expected = [];
for (const n of sizes) {
  expected.push({ binary: false, data: "é".repeat(Math.floor(n / 2)) });
  expected.push({ binary: true, data: crypto.randomBytes(n) });
}
let next = 0;
let failure = null;

const sendNext = () => { const m = expected[next]; ws.send(m.data, { binary: m.binary }); };

ws.on("open", () => {
  if (pacing === "sequential") sendNext();
  else for (const m of expected) ws.send(m.data, { binary: m.binary });
});
ws.on("message", (data, isBinary) => {
  const want = expected[next++];
  const same = want.binary
    ? isBinary && Buffer.compare(data, want.data) === 0
    : !isBinary && data.toString("utf8") === want.data;
  if (!same && failure === null) failure = "message " + (next - 1) + " differs";
  if (next === expected.length) ws.close(1000, "done");
  else if (pacing === "sequential") sendNext();
});
ws.on("close", (code, reason) => {
  clearTimeout(timer);
  console.log(JSON.stringify({
    ok: failure === null && next === expected.length,
    error: failure,
    received: next,
    extensions: ws.extensions,
    closeCode: code,
    closeReason: reason.toString(),
  }));
});
ws.on("error", (err) => { console.log(JSON.stringify({ ok: false, error: String(err) })); process.exit(1); });
