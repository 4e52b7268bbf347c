// The prompt adoption advert (runtime/adopt.ts): which starts send it, what it carries, and that the
// short-lived kernel reader and channel are always closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { adoptionAdverts, announceAdoption, type AdoptionPorts, type KernelAddress } from "../../../../src/daemon/runtime/adopt.js";
import { FakeChannel, FakeClock, FakeGarp } from "../../../../src/daemon/runtime/fakes.js";
import type { LinkState } from "../../../../src/daemon/runtime/ports.js";
import { config, instance } from "./helpers.js";

const UP: LinkState[] = [
  { ifname: "eth0", up: true },
  { ifname: "eth1", up: true },
];
const PRIMARY: KernelAddress = { ifname: "eth0", address: "10.88.0.2", prefix: 24, secondary: false };
const VIP: KernelAddress = { ifname: "eth0", address: "10.88.0.100", prefix: 24, secondary: true };

test("VIPs on the interface at start: the advert the engine sends, at the configured priority, from the primary address", async () => {
  const cfg = config([instance({ priority: 150, state: "MASTER", authPass: "pw" })]);
  const { adverts, endpoints, garps } = await adoptionAdverts(cfg, UP, [PRIMARY, VIP]);
  assert.deepEqual(adverts, [
    { ifname: "eth0", vrid: 51, version: 2, priority: 150, intervalMs: 1000, addresses: ["10.88.0.100"], source: "10.88.0.2", authPass: "pw", unicastPeers: [] },
  ]);
  assert.deepEqual(endpoints, [{ ifname: "eth0", vrid: 51, version: 2, source: "10.88.0.2", unicastPeers: [] }]);
  // and the engine's start-up gratuitous ARP for the adopted VIPs (garp_master_repeat: 5)
  assert.deepEqual(garps, [{ ifname: "eth0", addresses: ["10.88.0.100"], count: 5 }]);
});

test("nopreempt: the adoption advert carries priority 1, so a master that took over meanwhile keeps the VIPs (state.ts)", async () => {
  const cfg = config([instance({ priority: 150, state: "BACKUP", nopreempt: true })]);
  const { adverts } = await adoptionAdverts(cfg, UP, [PRIMARY, VIP]);
  assert.deepEqual(
    adverts.map((a) => a.priority),
    [1],
  );
});

test("no VIPs on the interface: nothing, even for a configured MASTER (it starts as BACKUP)", async () => {
  const cfg = config([instance({ priority: 150, state: "MASTER" })]);
  assert.deepEqual(await adoptionAdverts(cfg, UP, [PRIMARY]).then((r) => [r.adverts, r.garps]), [[], []]);
});

test("a tracked link down: nothing (the instance starts in FAULT), though the VIPs are there", async () => {
  const cfg = config([instance({ trackInterfaces: ["eth1"] })]);
  const links = [UP[0]!, { ifname: "eth1", up: false }];
  assert.deepEqual((await adoptionAdverts(cfg, links, [PRIMARY, VIP])).adverts, []);
});

test("the address owner (priority 255) advertises at once, VIPs or not", async () => {
  const cfg = config([instance({ priority: 255, state: "MASTER" })]);
  const { adverts } = await adoptionAdverts(cfg, UP, [PRIMARY]);
  assert.deepEqual(
    adverts.map((a) => a.priority),
    [255],
  );
});

test("VRRPv3 unicast: the advert carries the peers and the centisecond interval", async () => {
  const cfg = config([instance({ version: 3, advertIntervalCs: 10, unicastPeers: ["10.88.0.3"] })]);
  const { adverts } = await adoptionAdverts(cfg, UP, [PRIMARY, VIP]);
  assert.equal(adverts.length, 1);
  assert.deepEqual({ v: adverts[0]!.version, i: adverts[0]!.intervalMs, p: adverts[0]!.unicastPeers }, { v: 3, i: 100, p: ["10.88.0.3"] });
});

test("a sync group adopts together: one member's VIP present sends every member's advert", async () => {
  const a = instance({ name: "VI_a" });
  const b = instance({ name: "VI_b", vrid: 52, interface: "eth1", vips: [{ address: "10.89.0.100", prefix: 24, dev: "eth1" }] });
  const cfg = config([a, b], { syncGroups: [{ name: "G", instances: ["VI_a", "VI_b"], notify: {} }] });
  const eth1: KernelAddress = { ifname: "eth1", address: "10.89.0.2", prefix: 24, secondary: false };
  const { adverts, endpoints } = await adoptionAdverts(cfg, UP, [PRIMARY, VIP, eth1]);
  assert.deepEqual(adverts.map((x) => `${x.ifname}/${x.vrid}`).sort(), ["eth0/51", "eth1/52"]);
  assert.deepEqual(endpoints.map((e) => e.ifname).sort(), ["eth0", "eth1"]);
  // only the instance whose VIPs are elsewhere: nothing at all (neither member adopts)
  assert.deepEqual((await adoptionAdverts(cfg, UP, [PRIMARY, eth1])).adverts, []);
});

function ports(opts: { failList?: boolean } = {}) {
  const calls: string[] = [];
  const channel = new FakeChannel(new FakeClock());
  const garp = new FakeGarp();
  const closeGarp = garp.close.bind(garp);
  garp.close = () => (calls.push("garp.close"), closeGarp());
  const p: AdoptionPorts = {
    kernel: {
      links: async () => (calls.push("links"), UP),
      list: async () => {
        calls.push("list");
        if (opts.failList) throw new Error("RTM_GETADDR dump failed: EPERM");
        return [PRIMARY, VIP];
      },
      close: () => void calls.push("kernel.close"),
    },
    channel: () => (calls.push("channel"), channel),
    garp: () => (calls.push("garp"), garp),
  };
  return { p, calls, channel, garp };
}

test("announceAdoption sends through a channel configured for those endpoints only, then the gratuitous ARP for the adopted VIPs only, and closes everything", async () => {
  const { p, calls, channel, garp } = ports();
  const other = instance({ name: "VI_other", vrid: 60, interface: "eth1", vips: [{ address: "10.89.0.100", prefix: 24, dev: "eth1" }] });
  const sent = await announceAdoption(config([instance(), other]), p);
  assert.deepEqual(calls, ["links", "list", "kernel.close", "channel", "garp", "garp.close"]);
  assert.deepEqual(garp.sent, [{ ifname: "eth0", addresses: ["10.88.0.100"], count: 5 }]);
  assert.deepEqual(sent.map((a) => a.vrid), [51]);
  assert.deepEqual(channel.sent.map((a) => a.vrid), [51]);
  assert.deepEqual(channel.endpoints.map((e) => `${e.ifname}/${e.vrid}`), ["eth0/51"]);
  assert.ok(channel.closed, "the channel was left open");
});

test("announceAdoption with nothing to adopt opens no channel; a failed read still closes the kernel reader", async () => {
  const none = ports();
  assert.deepEqual(await announceAdoption(config([instance({ vips: [{ address: "10.88.0.200", prefix: 24, dev: "eth0" }] })]), none.p), []);
  assert.deepEqual(none.calls, ["links", "list", "kernel.close"]);
  const bad = ports({ failList: true });
  await assert.rejects(announceAdoption(config([instance()]), bad.p), /RTM_GETADDR/);
  assert.deepEqual(bad.calls, ["links", "list", "kernel.close"]);
});
