// The floor under lvsd's checker in Node: the same exchange as one HTTP_GET check (connect, the
// request, read to the server's close, close) on node:net alone, with no scheduler, no abort
// signal, no parsing and no digest. Started by run.ts --floors while its servers are up:
//   floor.ts RATE SECONDS PORTS BASE [--native]   (prints one line of JSON)
// --native: the same through lvsd's addon (checkStart, one callback an attempt) instead of
// node:net: what the daemon's checkers cost before the scheduler and the judging.
import { connect } from "node:net";
import { loadAddon } from "../../src/daemon/native/index.js";

const [rate, seconds, ports, base] = process.argv.slice(2, 6).map(Number) as [number, number, number, number];
const req = Buffer.from("GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1\r\n\r\n", "latin1");
let done = 0;
let failed = 0;
let k = 0;
function one(): void {
  const s = connect({ host: "127.0.0.1", port: base + (k++ % ports) });
  const chunks: Buffer[] = [];
  s.once("connect", () => s.write(req));
  s.on("data", (d: Buffer) => chunks.push(d));
  s.once("end", () => {
    s.destroy();
    if (Buffer.concat(chunks).length > 0) done++;
    else failed++;
  });
  s.once("error", () => failed++);
}
const native = process.argv.includes("--native");
const addon = native ? loadAddon() : undefined;
addon?.checkCallback((_id, code, _phase, data) => {
  if (code === undefined && data && data.length > 0) done++;
  else failed++;
});
function oneNative(): void {
  if (typeof addon!.checkStart("127.0.0.1", base + (k++ % ports), undefined, req, 65536) === "string") failed++;
}
// RATE a second in batches every 10 ms, as the C floor does
setInterval(() => {
  for (let i = 0; i < rate / 100; i++) (native ? oneNative : one)();
}, 10);
await new Promise((r) => setTimeout(r, 2000));
const u0 = process.cpuUsage();
const t0 = performance.now();
const d0 = done;
await new Promise((r) => setTimeout(r, seconds * 1000));
const u = process.cpuUsage(u0);
const wall = (performance.now() - t0) / 1000;
const n = done - d0;
console.log(JSON.stringify({ floor: native ? "native" : "node-net", checksPerSec: Math.round(n / wall), cpuPct: Number((((u.user + u.system) / 1e6 / wall) * 100).toFixed(2)), userPct: Number(((u.user / 1e6 / wall) * 100).toFixed(2)), usPerCheck: Math.round((u.user + u.system) / Math.max(1, n)), failed }));
process.exit(0);
