// Builders for runtime tests: a valid LvsdConfig and an Engine wired to fakes.
import type { LvsdConfig, LvsdInstance } from "../../../../src/daemon/config.js";
import { Engine } from "../../../../src/daemon/runtime/engine.js";
import { FakeAddresses, FakeChannel, FakeClock, FakeGarp, FakeNet, FakeNotify, type FakeSegment } from "../../../../src/daemon/runtime/fakes.js";
import { createLogger, type LogRecord } from "../../../../src/daemon/log.js";

export function instance(over: Partial<LvsdInstance> = {}): LvsdInstance {
  return {
    name: "VI_1",
    interface: "eth0",
    vrid: 51,
    priority: 100,
    state: "BACKUP",
    version: 2,
    advertIntervalCs: 100,
    unicastPeers: [],
    vips: [{ address: "10.88.0.100", prefix: 24, dev: "eth0", label: "eth0:vip" }],
    nopreempt: false,
    preemptDelaySec: 0,
    trackInterfaces: [],
    garp: { masterDelaySec: 5, masterRepeat: 5, masterRefreshSec: 0 },
    notify: {},
    ...over,
  };
}

export function config(instances: LvsdInstance[], over: Partial<LvsdConfig> = {}): LvsdConfig {
  return { version: 1, routerId: "lvs1", statusPort: 9100, instances, syncGroups: [], services: [], ...over };
}

export interface Rig {
  engine: Engine;
  clock: FakeClock;
  channel: FakeChannel;
  addresses: FakeAddresses;
  net: FakeNet;
  garp: FakeGarp;
  notify: FakeNotify;
  logs: LogRecord[];
}

export function rig(opts: { primary?: string; segment?: FakeSegment; clock?: FakeClock; ifnames?: string[] } = {}): Rig {
  const clock = opts.clock ?? new FakeClock();
  const channel = new FakeChannel(clock, opts.segment);
  const addresses = new FakeAddresses();
  addresses.seed("eth0", opts.primary ?? "10.88.0.2", 24);
  const net = new FakeNet(opts.ifnames ?? ["eth0", "eth1"]);
  const garp = new FakeGarp();
  const notify = new FakeNotify();
  const logs: LogRecord[] = [];
  const log = createLogger({ sink: (r) => logs.push(r), level: "debug" });
  const engine = new Engine({ clock, channel, addresses, net, garp, notify, log, wallNow: () => new Date(0) });
  return { engine, clock, channel, addresses, net, garp, notify, logs };
}

/** Let queued promise chains (address operations) run. */
export async function settle(r: Rig | Rig[]): Promise<void> {
  for (let k = 0; k < 3; k++) {
    for (const x of Array.isArray(r) ? r : [r]) await x.engine.idle();
    await new Promise((res) => setImmediate(res));
  }
}
