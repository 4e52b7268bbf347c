// The main-thread handle of the VRRP worker: spawn, start, status, reload, shutdown (loopback mode).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineHost } from "../../../../src/daemon/runtime/worker.js";
import type { LogRecord } from "../../../../src/daemon/log.js";
import { config, instance } from "./helpers.js";

test("EngineHost: the worker boots first, starts on request, answers status and reload, stops cleanly", { timeout: 20_000 }, async () => {
  const logs: LogRecord[] = [];
  let crashed: string | undefined;
  const host = EngineHost.spawn({ adapters: "loopback", logLevel: "info", onLog: (r) => logs.push(r), onCrash: (r) => (crashed = r) });
  // requests before start are refused, not lost
  await assert.rejects(host.snapshot(), /not started/);
  await host.start(config([instance({ priority: 255 })]));
  const s = await host.snapshot();
  assert.equal(s.instances[0]!.state, "MASTER");
  assert.ok(logs.some((l) => l.msg === "entering MASTER state" && l.thread === "vrrp"));
  const sum = await host.reload(config([instance({ priority: 255 }), instance({ name: "VI_2", vrid: 52 })]));
  assert.deepEqual(sum, { added: ["VI_2"], removed: [], changed: [], unchanged: ["VI_1"] });
  await host.shutdown();
  assert.equal(crashed, undefined);
  assert.ok(logs.some((l) => l.msg === "entering STOPPED state"));
});

test("EngineHost: a second start is refused and leaves the running engine alone", { timeout: 20_000 }, async () => {
  let crashed: string | undefined;
  const host = EngineHost.spawn({ adapters: "loopback", onLog: () => undefined, onCrash: (r) => (crashed = r) });
  await host.start(config([instance()]));
  await assert.rejects(host.start(config([instance()])), /already started/);
  assert.equal((await host.snapshot()).instances[0]!.state, "BACKUP");
  assert.equal(crashed, undefined);
  await host.terminate();
});
