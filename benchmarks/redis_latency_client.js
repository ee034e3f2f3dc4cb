// The receiving side of bench_redis_latency.py --client bun: CONNECTIONS
// WebSocket clients (Bun's, a compiled client, so that 1,000 connections
// at 1,000 messages/s each are not limited by the reader), in one process.
//   bun redis_latency_client.js ws PORT CONNECTIONS SECONDS
//   bun redis_latency_client.js sio PORT CONNECTIONS SECONDS
// ws: wsfast's ws://127.0.0.1:PORT/sub, each message a CLOCK_MONOTONIC
// stamp in ns. sio: a socket.io server's Engine.IO v4 WebSocket transport,
// spoken directly (open "0{...}", connect "40", ping "2" answered "3",
// events '42["m","STAMP"]'). Prints 'ready' once every connection is
// open (and, for sio, connected to the namespace), then for SECONDS takes
// every message and prints one line of JSON: the count and the
// latencies' p50/p99/max in microseconds.
const [mode, port, connections, seconds] = [process.argv[2], Number(process.argv[3]),
  Number(process.argv[4]), Number(process.argv[5])];
const url = mode === "ws" ? `ws://127.0.0.1:${port}/sub`
  : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&sub=1`;
// Bun's process.hrtime counts from the process's start; the stamps are
// CLOCK_MONOTONIC (Python's time.monotonic_ns, Node's hrtime): read that
// clock once through libc, next to hrtime, for the offset.
const { dlopen, ptr } = require("bun:ffi");
const libc = dlopen("libc.so.6", { clock_gettime: { args: ["i32", "ptr"], returns: "i32" } });
const ts = new BigInt64Array(2);
const before = process.hrtime.bigint();
libc.symbols.clock_gettime(1, ptr(ts)); // CLOCK_MONOTONIC
const after = process.hrtime.bigint();
const offset = ts[0] * 1000000000n + ts[1] - (before + after) / 2n;
const monotonic = () => process.hrtime.bigint() + offset;
const latencies = [];
let ready = 0;

function onReady() {
  if (++ready === connections) {
    console.log("ready");
    setTimeout(finish, seconds * 1000);
  }
}

function finish() {
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const pick = (q) => (n ? latencies[Math.min(n - 1, Math.floor(q * n))] / 1000 : null);
  console.log(JSON.stringify({ count: n, p50_us: pick(0.5), p99_us: pick(0.99), max_us: pick(1) }));
  process.exit(0);
}

function open(i) {
  const ws = new WebSocket(url);
  if (mode === "ws") {
    ws.onopen = onReady;
    ws.onmessage = (e) => {
      latencies.push(Number(monotonic() - BigInt(e.data)));
    };
  } else {
    ws.onmessage = (e) => {
      const data = e.data;
      if (data.startsWith("42")) {
        const now = monotonic();
        latencies.push(Number(now - BigInt(JSON.parse(data.slice(2))[1])));
      } else if (data === "2") {
        ws.send("3");
      } else if (data.startsWith("0")) {
        ws.send("40");
      } else if (data.startsWith("40")) {
        onReady();
      }
    };
  }
  ws.onerror = (e) => { console.error("connection", i, "failed"); process.exit(1); };
}

// Open in small batches: a burst of 1,000 handshakes overflows backlogs.
let next = 0;
(function batch() {
  for (let k = 0; k < 50 && next < connections; k++) open(next++);
  if (next < connections) setTimeout(batch, 10);
})();
