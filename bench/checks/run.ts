// CPU of lvsd's health-check scheduler at a given check rate against real HTTP servers:
//   node --import tsx bench/checks/run.ts [--checks 1000] [--delay-loop 1] [--seconds 20] [--ports 50] [--floors] [--checker native|node|both]
// N HTTP_GET checks (delay_loop 1 s: N checks a second) through the same CheckScheduler and
// checkers lvsd runs (src/daemon/check), against tiny HTTP servers in a child process on
// 127.0.0.1; measures this process's user+system CPU over the steady window (after a 3 s warm-up),
// first with the daemon's checkers (connections in the native addon), then with the node:net
// ones (both by default).
// --floors: then, against the same servers, the same exchange on node:net alone (floor.ts) and in
// C with epoll (floor.c, when a C compiler is found): what any Node checker, and any C checker
// such as keepalived's, pays at this rate before its own logic.
// keepalived's checker cannot be measured beside it on this host: its checker process exits with
// "IPVS: Can't initialize ipvs" (FATAL) on a kernel without IPVS (see README.md).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CheckScheduler, genhash, nativeCheckers, realCheckers, type CheckerSet, type CheckSpec } from "../../src/daemon/check/index.js";
import { addonAvailable, loadAddon } from "../../src/daemon/native/index.js";
import { realClock } from "../../src/daemon/runtime/clock.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const checks = arg("checks", 1000);
const delayLoopSec = arg("delay-loop", 1);
const seconds = arg("seconds", 20);
const floors = process.argv.includes("--floors");
const ci = process.argv.indexOf("--checker");
const which = ci >= 0 ? process.argv[ci + 1] : "both"; // native | node | both
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

interface Run { checker: string; rate: number; cpuPct: number; userPct: number; usPerCheck: number; failed: number; down: number }
async function measure(checker: string, checkers: CheckerSet): Promise<Run> {
  const sched = new CheckScheduler({ clock: realClock, checkers, initialSpreadMs: delayLoopSec * 1000 });
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
  // let the last attempts finish before the next run starts
  await new Promise((r) => setTimeout(r, 500));
  return {
    checker,
    rate: done / wall,
    cpuPct: ((u.user + u.system) / 1e6 / wall) * 100,
    userPct: (u.user / 1e6 / wall) * 100,
    // CPU per completed check: the rate drifts below N/s when checks take long (the next one is
    // delay_loop after the end, as in keepalived), so this, times 1,000, is the like-for-like figure
    usPerCheck: (u.user + u.system) / Math.max(1, done),
    failed,
    down,
  };
}

// lvsd's own checkers (TCP_CHECK and HTTP_GET in the native addon), then the node:net ones
// (what lvsd ran before, and runs when the addon cannot be loaded)
const runs: Run[] = [];
if (which !== "node" && addonAvailable()) runs.push(await measure("lvsd: the addon's connections (the daemon's)", nativeCheckers(loadAddon())));
else if (which !== "node") console.error("no native row: the addon is not built (npm run build:native)");
if (which !== "native") runs.push(await measure("lvsd: node:net connections", realCheckers));

interface Floor { floor: string; checksPerSec: number; cpuPct: number; userPct: number; usPerCheck: number; failed: number }
const floorRuns: Floor[] = [];
if (floors) {
  const rateNow = String(Math.round(checks / delayLoopSec));
  const args = [rateNow, String(seconds), String(ports), String(base)];
  const node = spawnSync(process.execPath, ["--import", "tsx", join(here, "floor.ts"), ...args], { encoding: "utf8" });
  if (node.status === 0) floorRuns.push(JSON.parse(node.stdout) as Floor);
  else console.error(`floor.ts failed: ${node.stderr}`);
  if (addonAvailable()) {
    const nat = spawnSync(process.execPath, ["--import", "tsx", join(here, "floor.ts"), ...args, "--native"], { encoding: "utf8" });
    if (nat.status === 0) floorRuns.push(JSON.parse(nat.stdout) as Floor);
    else console.error(`floor.ts --native failed: ${nat.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "lvsd-floor-"));
  const cc = spawnSync("cc", ["-O2", "-o", join(dir, "floor"), join(here, "floor.c")], { encoding: "utf8" });
  if (cc.status === 0) {
    const c = spawnSync(join(dir, "floor"), args, { encoding: "utf8" });
    if (c.status === 0) floorRuns.push(JSON.parse(c.stdout) as Floor);
    else console.error(`floor.c failed: ${c.stderr}`);
  } else console.error(`no C floor: cc -O2 floor.c failed (${cc.error?.message ?? cc.stderr.trim()})`);
  rmSync(dir, { recursive: true, force: true });
}
server.kill();

const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end (${cpus().length} cores)`);
console.log("| checker | checks/s | CPU (% of one core) | of which user | CPU per check | at 1,000 checks/s | failed | RSS MiB |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of runs) console.log(`| ${r.checker} (CheckScheduler + HTTP_GET, digest) | ${r.rate.toFixed(0)} | ${r.cpuPct.toFixed(1)} | ${r.userPct.toFixed(1)} | ${r.usPerCheck.toFixed(0)} µs | ${(r.usPerCheck / 10).toFixed(1)}% | ${r.failed} (${r.down} down) | ${rss} |`);
for (const f of floorRuns) {
  const what =
    f.floor === "node-net" ? "floor: the same exchange on node:net alone (floor.ts)"
    : f.floor === "native" ? "floor: the same exchange through lvsd's addon alone (floor.ts --native)"
    : "floor: the same exchange in C with epoll (floor.c)";
  console.log(`| ${what} | ${f.checksPerSec} | ${f.cpuPct.toFixed(1)} | ${f.userPct.toFixed(1)} | ${f.usPerCheck} µs | ${(f.usPerCheck / 10).toFixed(1)}% | ${f.failed} | - |`);
}
console.log(`| keepalived 2.2.7 checker | - | not measured here: exits FATAL without IPVS | - | - | - | - | - |`);
const round = (r: Run) => ({ checker: r.checker, checksPerSec: Math.round(r.rate), cpuPct: Number(r.cpuPct.toFixed(2)), userPct: Number(r.userPct.toFixed(2)), usPerCheck: Math.round(r.usPerCheck), failed: r.failed, down: r.down });
console.log(JSON.stringify({ bench: "checks", checks, delayLoopSec, seconds, loadavg: Number(loadavg()[0]!.toFixed(2)), rssMiB: rss, lvsd: runs.map(round), floors: floorRuns, keepalived: null }));
process.exit(0);
