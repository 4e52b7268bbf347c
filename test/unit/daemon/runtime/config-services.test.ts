// lvsd --check on services: the schema's tunnel rules (keepalived's), and what unsupported() names
// for settings the schema takes but that mean nothing together.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LvsdService, type LvsdService as Service } from "../../../../src/daemon/config.js";
import { unsupported } from "../../../../src/daemon/runtime/config.js";
import type { LvsdConfig } from "../../../../src/daemon/config.js";

const svc = (over: Partial<Service> = {}): Service => ({
  name: "web",
  vip: "10.0.0.100",
  port: 80,
  protocol: "TCP",
  scheduler: "sh",
  forwarding: "DR",
  delayLoopSec: 6,
  quorum: 1,
  hysteresis: 0,
  realServers: [{ address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false }],
  ...over,
});
const cfg = (...services: Service[]): LvsdConfig => ({ version: 1, routerId: "lb1", statusPort: 9547, instances: [], syncGroups: [], services });
const tun = (tunnel: NonNullable<Service["realServers"][number]["tunnel"]>) => svc({ forwarding: "TUN", realServers: [{ address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false, tunnel }] });

test("tunnels: gue needs a port, ipip takes no checksum, gre no remcsum (keepalived's check_parser rules)", () => {
  assert.ok(LvsdService.safeParse(tun({ type: "gue", port: 6080, checksum: "remcsum" })).success);
  assert.ok(LvsdService.safeParse(tun({ type: "gre", checksum: "csum" })).success);
  assert.ok(LvsdService.safeParse(tun({ type: "ipip", checksum: "nocsum" })).success);
  assert.equal(LvsdService.safeParse(tun({ type: "gue" })).success, false);
  assert.equal(LvsdService.safeParse(tun({ type: "ipip", checksum: "csum" })).success, false);
  assert.equal(LvsdService.safeParse(tun({ type: "gre", checksum: "remcsum" })).success, false);
});

test("unsupported: sh-/mh- flags on another scheduler, and a persistence netmask of the other family", () => {
  assert.deepEqual(unsupported(cfg(svc({ schedulerFlags: ["sh-port", "sh-fallback", "flag-3"] }))), []);
  assert.deepEqual(unsupported(cfg(svc({ schedulerFlags: ["mh-port"] }))), ["services[0] (web).schedulerFlags: mh-port is a flag of the mh scheduler, the service uses sh"]);
  assert.deepEqual(unsupported(cfg(svc({ vip: "fd00::100", persistenceTimeoutSec: 60, persistenceNetmask: 64, realServers: [{ address: "fd00::21", port: 80, weight: 1, inhibitOnFailure: false }] }))), []);
  assert.match(unsupported(cfg(svc({ vip: "fd00::100", persistenceTimeoutSec: 60, persistenceNetmask: "255.255.255.0" })))[0]!, /an IPv4 mask on an IPv6 service/);
  assert.match(unsupported(cfg(svc({ persistenceTimeoutSec: 60, persistenceNetmask: 24 })))[0]!, /a prefix length on an IPv4 service/);
});
