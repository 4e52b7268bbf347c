// CPU of lvsd's health-check scheduler at a given check rate against real HTTP servers:
//   node --import tsx bench/checks/run.ts [--checks 1000] [--delay-loop 1] [--seconds 20] [--ports 50]
// N HTTP_GET checks (delay_loop 1 s: N checks a second) through the same CheckScheduler and
// checkers lvsd runs (src/daemon/check), against tiny HTTP servers in a child process on
// 127.0.0.1; measures this process's user+system CPU over the steady window (after a 3 s warm-up).
// keepalived's checker cannot be measured beside it on this host: its checker process exits with
// "IPVS: Can't initialize ipvs" (FATAL) on a kernel without IPVS (see README.md).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { CheckScheduler, genhash, realCheckers, type CheckSpec } from "../../src/daemon/check/index.js";
import { realClock } from "../../src/daemon/runtime/clock.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const checks = arg("checks", 1000);
const delayLoopSec = arg("delay-loop", 1);
const seconds = arg("seconds", 20);
const ports = arg("ports", 50);
const base = 28000;
const warmup = 3;

const here = dirname(fileURLToPath(import.meta.url));
const server = spawn(process.execPath, ["--import", "tsx", join(here, "server.ts"), String(ports), String(base)], { stdio: ["ignore", "pipe", "inherit"] });
await new Promise<void>((res, rej) => {
  server.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && res());
  server.once("exit", (c) => rej(new Error(`server exited ${c}`)));
});

// the body "ok\n": its MD5, so every check computes and compares the digest as genhash does
const digest = genhash(Buffer.from("ok\n"));
const specs: CheckSpec[] = Array.from({ length: checks }, (_, k) => ({
  id: `bench/${k}`,
  service: "bench",
  address: "127.0.0.1",
  port: base + (k % ports),
  weight: 1,
  target: { type: "HTTP", address: "127.0.0.1", port: base + (k % ports), urls: [{ path: "/", statusCodes: [200], digest }] },
  policy: { delayLoopMs: delayLoopSec * 1000, retry: 1, delayBeforeRetryMs: 1000, rise: 1, alpha: false, timeoutMs: 5000 },
}));

const sched = new CheckScheduler({ clock: realClock, checkers: realCheckers, initialSpreadMs: delayLoopSec * 1000 });
sched.set(specs);
await new Promise((r) => setTimeout(r, warmup * 1000));
const count = () => sched.snapshot().reduce((n, c) => n + c.checks, 0);
const fails = () => sched.snapshot().reduce((n, c) => n + Object.values(c.failed).reduce((a, b) => a + (b ?? 0), 0), 0);
const c0 = count();
const f0 = fails();
const u0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const u = process.cpuUsage(u0);
const wall = (performance.now() - t0) / 1000;
const done = count() - c0;
const failed = fails() - f0;
const down = sched.snapshot().filter((c) => !c.up).length;
sched.stop();
server.kill();

const cpuPct = ((u.user + u.system) / 1e6 / wall) * 100;
const rate = done / wall;
const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
console.log("| checker | checks/s | CPU (% of one core) | failed | RSS MiB |");
console.log("| --- | --- | --- | --- | --- |");
console.log(`| lvsd (CheckScheduler + HTTP_GET, digest) | ${rate.toFixed(0)} | ${cpuPct.toFixed(1)} | ${failed} (${down} down) | ${rss} |`);
console.log(`| keepalived 2.2.7 checker | - | not measured here: exits FATAL without IPVS | - | - |`);
console.log(JSON.stringify({ bench: "checks", checks, delayLoopSec, seconds: Math.round(wall), checksPerSec: Math.round(rate), lvsdCpuPct: Number(cpuPct.toFixed(2)), failed, down, rssMiB: rss, keepalived: null }));
process.exit(0);
