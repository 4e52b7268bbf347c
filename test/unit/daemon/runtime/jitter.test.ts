// Issue 4 item 4: adverts leave on time even when the daemon's main loop is busy. The engine runs
// in a worker (runtime/worker.ts); the main thread is blocked 200 ms out of every 250 ms for
// about 3 s while we record, in the worker, when each advert was handed to the (loopback)
// channel. An engine on the main thread runs through the same load at the same time as a control:
// it must suffer, or the load proves nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { Engine } from "../../../../src/daemon/runtime/engine.js";
import { realClock } from "../../../../src/daemon/runtime/clock.js";
import { FakeAddresses, FakeChannel, FakeGarp, FakeNet, FakeNotify } from "../../../../src/daemon/runtime/fakes.js";
import { EngineHost } from "../../../../src/daemon/runtime/worker.js";
import { createLogger } from "../../../../src/daemon/log.js";
import { config, instance } from "./helpers.js";

const INTERVAL_MS = 100; // VRRPv3, 10 cs
const LOAD_MS = 3000;
const BLOCK_MS = 200;
const PERIOD_MS = 250;

function jitter(times: number[], from: number, to: number): { n: number; p50: number; p99: number; max: number } {
  const ts = times.filter((t) => t >= from && t <= to);
  const j: number[] = [];
  for (let k = 1; k < ts.length; k++) j.push(Math.abs(ts[k]! - ts[k - 1]! - INTERVAL_MS));
  j.sort((a, b) => a - b);
  const q = (p: number) => j[Math.min(j.length - 1, Math.floor(p * j.length))] ?? NaN;
  return { n: j.length, p50: q(0.5), p99: q(0.99), max: j[j.length - 1] ?? NaN };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("timing: adverts from the worker keep their cadence while the main loop blocks 200 ms every 250 ms", { timeout: 30_000 }, async () => {
  const cfg = config([instance({ version: 3, advertIntervalCs: INTERVAL_MS / 10, priority: 255 })]);
  const host = await EngineHost.start({ config: cfg, adapters: "loopback", logLevel: "warn", onLog: () => undefined });
  // the control: the same engine on this (main) thread
  const channel = new FakeChannel(realClock);
  const addresses = new FakeAddresses();
  addresses.seed("eth0", "127.0.0.1", 8);
  const control = new Engine({ clock: realClock, channel, addresses, net: new FakeNet(["eth0"]), garp: new FakeGarp(), notify: new FakeNotify(), log: createLogger({ level: "error" }) });
  await control.start(cfg);
  try {
    await sleep(300); // warm up
    // The worker's performance.now() has its own origin: align windows by its own timestamps.
    const before = await host.loopbackSent();
    const workerFrom = before[before.length - 1]?.at ?? 0;
    const mainFrom = performance.now();
    const end = mainFrom + LOAD_MS;
    let blocked = 0;
    while (performance.now() < end) {
      const t = performance.now();
      while (performance.now() - t < BLOCK_MS) {
        /* busy: nothing else runs on this thread */
      }
      blocked += BLOCK_MS;
      await sleep(PERIOD_MS - BLOCK_MS);
    }
    const mainTo = performance.now();
    const sent = await host.loopbackSent();
    const w = jitter(sent.map((s) => s.at), workerFrom, workerFrom + (mainTo - mainFrom));
    const m = jitter(channel.sent.map((s) => s.at), mainFrom, mainTo);
    console.log(
      `advert jitter under load (interval ${INTERVAL_MS} ms, main loop blocked ${blocked} ms of ${Math.round(mainTo - mainFrom)} ms):\n` +
        `  worker engine:      n=${w.n} p50=${w.p50.toFixed(2)} ms p99=${w.p99.toFixed(2)} ms max=${w.max.toFixed(2)} ms\n` +
        `  main-thread engine: n=${m.n} p50=${m.p50.toFixed(2)} ms p99=${m.p99.toFixed(2)} ms max=${m.max.toFixed(2)} ms`,
    );
    assert.ok(w.n >= 20, `only ${w.n} adverts measured in the worker`);
    // the load was real: the control engine on the blocked loop missed its slots
    assert.ok(m.max > 100, `control max jitter ${m.max} ms: the load did not block the main loop`);
    // The worker is not held by the block: its p99 stays well under the control's worst. Relative,
    // not a fixed bound: on a loaded machine (2 cores shared with other work) scheduling alone has
    // given the worker a p99 of 88 ms, while a worker held by the block would share the control's
    // 150-200 ms. bench/failover measures the cadence itself.
    assert.ok(w.p99 < m.max / 2, `worker p99 jitter ${w.p99} ms is not well under the blocked control's max ${m.max} ms`);
  } finally {
    await control.shutdown();
    await host.shutdown();
  }
});
