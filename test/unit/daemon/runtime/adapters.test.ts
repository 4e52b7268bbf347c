// The real adapters over fake sockets (no root): what goes on the wire, what comes back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { errnoError, FakeHub, FakeInterfaces, FakeSocketFactory, type FakeSocket } from "../../../../src/daemon/native/fake.js";
import {
  AF_INET,
  AF_NETLINK,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_PKTINFO,
  IPPROTO_IP,
  IPPROTO_VRRP,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SOCK_RAW,
  SOL_SOCKET,
} from "../../../../src/daemon/native/constants.js";
import { RawAdvertChannel } from "../../../../src/daemon/runtime/raw-channel.js";
import { ipMreqn } from "../../../../src/daemon/net/sockopt.js";
import { Kernel, PacketGarp } from "../../../../src/daemon/runtime/kernel.js";
import type { IncomingAdvert, WireReject } from "../../../../src/daemon/runtime/ports.js";
import { attr, attrIpv4, encodeDone, encodeMessage, NLM_F_MULTI, RTM_DELADDR, RTM_NEWLINK, IFA_LOCAL, IFLA_IFNAME } from "../../../../src/daemon/netlink/index.js";
import { createLogger } from "../../../../src/daemon/log.js";
import { decodeArpFrame } from "../../../../src/daemon/arp/index.js";

const MAC = Buffer.from([2, 0, 0, 0, 0, 1]);
const ifs = new FakeInterfaces([
  { name: "eth0", index: 2, mac: MAC },
  { name: "eth1", index: 3, mac: MAC },
]);

function pair(aOpts: ConstructorParameters<typeof RawAdvertChannel>[2] = {}): { a: RawAdvertChannel; b: RawAdvertChannel; fa: FakeSocketFactory; got: IncomingAdvert[]; rejects: WireReject[] } {
  const hub = new FakeHub();
  const fa = new FakeSocketFactory();
  const fb = new FakeSocketFactory();
  fa.onOpen = (s) => hub.join(s, "10.88.0.2");
  fb.onOpen = (s) => hub.join(s, "10.88.0.3");
  const a = new RawAdvertChannel(fa, ifs, aOpts);
  const b = new RawAdvertChannel(fb, ifs);
  const got: IncomingAdvert[] = [];
  const rejects: WireReject[] = [];
  b.onAdvert((x) => got.push(x));
  b.onReject((r) => rejects.push(r));
  return { a, b, fa, got, rejects };
}

const ep = (source: string, unicastPeers: string[] = [], version: 2 | 3 = 2) => ({ ifname: "eth0", vrid: 51, version, source, unicastPeers });

test("raw channel: socket options (bound to the device, own IP header, TTL 255, no loop, joined to 224.0.0.18)", async () => {
  const { a, fa } = pair();
  await a.configure([ep("10.88.0.2")]);
  const s = fa.opened[0]!;
  assert.deepEqual(s.option(SOL_SOCKET, SO_BINDTODEVICE), Buffer.from("eth0\0"));
  assert.equal(s.option(IPPROTO_IP, IP_HDRINCL), 1);
  assert.equal(s.option(IPPROTO_IP, IP_MULTICAST_TTL), 255);
  assert.equal(s.option(IPPROTO_IP, IP_MULTICAST_LOOP), 0);
  assert.deepEqual(s.option(IPPROTO_IP, IP_ADD_MEMBERSHIP), Buffer.from("e0000012" + "00000000" + "02000000", "hex"));
  assert.deepEqual(ipMreqn("224.0.0.18", 2), Buffer.from("e000001200000000" + "02000000", "hex"));
  assert.deepEqual(ipMreqn("224.0.0.18", 2, "10.88.0.2"), Buffer.from("e0000012" + "0a580002" + "02000000", "hex"));
  assert.ok(s.reading);
});

/** The exact setsockopt calls a socket received, in order (ip_mreqn and names as hex). */
const calls = (s: FakeSocket) => s.options.map((o) => [o.level, o.name, Buffer.isBuffer(o.value) ? o.value.toString("hex") : o.value]);
const MREQN_ANY_IF2 = "00000000" + "00000000" + "02000000"; // ip_mreqn: no group, any address, ifindex 2
const MREQN_VRRP_IF2 = "e0000012" + "00000000" + "02000000"; // 224.0.0.18 on ifindex 2

test("raw channel: the exact setsockopt sequence per interface, then join/drop as multicast use changes", async () => {
  const f = new FakeSocketFactory();
  const chan = new RawAdvertChannel(f, ifs);
  await chan.configure([ep("10.88.0.2")]);
  assert.equal(f.opened.length, 1);
  const s = f.opened[0]!;
  assert.deepEqual([s.domain, s.type, s.protocol, s.netns, s.bound], [AF_INET, SOCK_RAW, IPPROTO_VRRP, undefined, undefined]);
  const opened = [
    [SOL_SOCKET, SO_BINDTODEVICE, Buffer.from("eth0\0").toString("hex")],
    [IPPROTO_IP, IP_HDRINCL, 1],
    [IPPROTO_IP, IP_PKTINFO, 1],
    [IPPROTO_IP, IP_MULTICAST_TTL, 255],
    [IPPROTO_IP, IP_MULTICAST_LOOP, 0],
    [IPPROTO_IP, IP_MULTICAST_IF, MREQN_ANY_IF2],
    [SOL_SOCKET, SO_RCVBUF, 1 << 20],
  ];
  assert.deepEqual(calls(s), [...opened, [IPPROTO_IP, IP_ADD_MEMBERSHIP, MREQN_VRRP_IF2]]);
  assert.ok(s.reading);
  // the same interface again: no new socket, no new option
  await chan.configure([ep("10.88.0.2")]);
  assert.equal(f.opened.length, 1);
  assert.equal(s.options.length, opened.length + 1);
  // unicast only now: the group is dropped on the same socket
  await chan.configure([ep("10.88.0.2", ["10.88.0.3"])]);
  assert.deepEqual(calls(s).slice(opened.length), [
    [IPPROTO_IP, IP_ADD_MEMBERSHIP, MREQN_VRRP_IF2],
    [IPPROTO_IP, IP_DROP_MEMBERSHIP, MREQN_VRRP_IF2],
  ]);
  // a unicast-only interface from the start joins nothing
  const g = new FakeSocketFactory();
  await new RawAdvertChannel(g, ifs).configure([ep("10.88.0.2", ["10.88.0.3"])]);
  assert.deepEqual(calls(g.opened[0]!), opened);
});

/** Makes setsockopt(level, name) fail on every socket the factory opens. */
function failOption(f: FakeSocketFactory, level: number, name: number, code: string, errno: number): void {
  f.onOpen = (s) => {
    const set = s.setsockopt.bind(s);
    s.setsockopt = (l, n, v) => {
      if (l === level && n === name) throw errnoError(code, errno, "setsockopt");
      set(l, n, v);
    };
  };
}

test("raw channel: SO_RCVBUF is best effort; any other failing option closes the socket and fails configure", async () => {
  const f = new FakeSocketFactory();
  failOption(f, SOL_SOCKET, SO_RCVBUF, "ENOBUFS", 105);
  await new RawAdvertChannel(f, ifs).configure([ep("10.88.0.2")]);
  const s = f.opened[0]!;
  assert.equal(s.closed, false);
  assert.ok(s.reading);
  assert.deepEqual(calls(s).map(([, name]) => name), [SO_BINDTODEVICE, IP_HDRINCL, IP_PKTINFO, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_ADD_MEMBERSHIP]);

  const g = new FakeSocketFactory();
  failOption(g, IPPROTO_IP, IP_HDRINCL, "EPERM", 1);
  const chan = new RawAdvertChannel(g, ifs);
  await assert.rejects(chan.configure([ep("10.88.0.2")]), { code: "EPERM" });
  assert.equal(g.opened[0]!.closed, true);
  assert.deepEqual(calls(g.opened[0]!), [[SOL_SOCKET, SO_BINDTODEVICE, Buffer.from("eth0\0").toString("hex")]]);
  // nothing half-open is kept: the next configure opens a fresh socket
  g.onOpen = undefined;
  await chan.configure([ep("10.88.0.2")]);
  assert.equal(g.opened.length, 2);
  assert.equal(g.opened[1]!.closed, false);
});

test("raw channel: a v2 advert with PASS auth round-trips; the IP header is ours (TTL 255, proto 112, TOS 0xc0)", async () => {
  const { a, b, fa, got } = pair();
  await a.configure([ep("10.88.0.2")]);
  await b.configure([ep("10.88.0.3")]);
  a.send({ ifname: "eth0", vrid: 51, version: 2, priority: 200, intervalMs: 1000, addresses: ["10.88.0.100"], source: "10.88.0.2", authPass: "secret", unicastPeers: [] });
  const wire = fa.opened[0]!.sent[0]!;
  assert.equal(wire.dest, "224.0.0.18");
  assert.equal(wire.data[8], 255);
  assert.equal(wire.data[9], 112);
  assert.equal(wire.data[1], 0xc0);
  assert.equal(got.length, 1);
  const g = got[0]!;
  assert.deepEqual(
    { ...g, authData: g.authData?.toString("hex") },
    { ifname: "eth0", source: "10.88.0.2", destination: "224.0.0.18", ttl: 255, version: 2, vrid: 51, priority: 200, intervalMs: 1000, addresses: ["10.88.0.100"], authType: 1, authData: Buffer.from("secret\0\0").toString("hex") },
  );
});

test("raw channel: the whole IP header it writes (DF clear as keepalived's, id counting from 1), pinned byte for byte", async () => {
  const { a, fa } = pair();
  await a.configure([ep("10.88.0.2")]);
  const advert = { ifname: "eth0", vrid: 51, version: 2 as const, priority: 200, intervalMs: 1000, addresses: ["10.88.0.100"], source: "10.88.0.2", unicastPeers: [] };
  a.send(advert);
  a.send(advert);
  const [first, second] = fa.opened[0]!.sent.map((d) => d.data.subarray(0, 20).toString("hex"));
  // ver/ihl, TOS CS6, total 40, id, flags 0 (no DF), TTL 255, proto 112, checksum (RFC 791, checked by hand), src, dst
  assert.equal(first, "45c00028" + "00010000" + "ff70" + "d038" + "0a580002" + "e0000012");
  assert.equal(second, "45c00028" + "00020000" + "ff70" + "d037" + "0a580002" + "e0000012");
});

test("raw channel: v3 with the pseudo-header checksum over our source and the group decodes", async () => {
  const { a, b, got, rejects } = pair();
  await a.configure([ep("10.88.0.2", [], 3)]);
  await b.configure([ep("10.88.0.3", [], 3)]);
  a.send({ ifname: "eth0", vrid: 51, version: 3, priority: 100, intervalMs: 100, addresses: ["10.88.0.100"], source: "10.88.0.2", unicastPeers: [] });
  assert.deepEqual(rejects, []);
  assert.equal(got[0]!.version, 3);
  assert.equal(got[0]!.intervalMs, 100);
  assert.equal(got[0]!.checksum, "pseudo");
});

test("raw channel: a v3 checksum over the message alone still decodes, marked so the instance can refuse it", async () => {
  const { a, b, got, rejects } = pair({ v3Checksum: "message" });
  await a.configure([ep("10.88.0.2", [], 3)]);
  await b.configure([ep("10.88.0.3", [], 3)]);
  a.send({ ifname: "eth0", vrid: 51, version: 3, priority: 100, intervalMs: 100, addresses: ["10.88.0.100"], source: "10.88.0.2", unicastPeers: [] });
  assert.deepEqual(rejects, []);
  assert.equal(got[0]!.checksum, "message");
});

test("raw channel: unicast sends one packet per peer and joins no group", async () => {
  const { a, fa } = pair();
  await a.configure([ep("10.88.0.2", ["10.88.0.3", "10.88.0.4"])]);
  const s = fa.opened[0]!;
  assert.equal(s.option(IPPROTO_IP, IP_ADD_MEMBERSHIP), undefined);
  a.send({ ifname: "eth0", vrid: 51, version: 2, priority: 100, intervalMs: 1000, addresses: ["10.88.0.100"], source: "10.88.0.2", unicastPeers: ["10.88.0.3", "10.88.0.4"] });
  assert.deepEqual(s.sent.map((d) => d.dest), ["10.88.0.3", "10.88.0.4"]);
  assert.deepEqual([...s.sent[1]!.data.subarray(16, 20)], [10, 88, 0, 4]);
});

test("raw channel: undecodable packets are rejected with the decoder's typed reason", async () => {
  const f = new FakeSocketFactory();
  const chan = new RawAdvertChannel(f, ifs);
  const seen: WireReject[] = [];
  chan.onReject((r) => seen.push(r));
  await chan.configure([ep("10.88.0.3")]);
  const s = f.opened[0]!;
  s.deliver(Buffer.from([0x45, 0, 0]));
  // a valid packet with one byte of the VRRP message flipped
  const a = new RawAdvertChannel(new FakeSocketFactory(), ifs);
  await a.configure([ep("10.88.0.2")]);
  a.send({ ifname: "eth0", vrid: 51, version: 2, priority: 100, intervalMs: 1000, addresses: ["10.88.0.100"], source: "10.88.0.2", unicastPeers: [] });
  const good = ((a as unknown as { sockets: FakeSocketFactory }).sockets.opened[0]!.sent[0]!.data);
  const bad = Buffer.from(good);
  bad[20 + 2] = 99; // priority changed, checksum not
  s.deliver(bad);
  assert.deepEqual(seen.map((r) => r.reason), ["short", "bad-checksum"]);
  assert.ok(seen.every((r) => r.ifname === "eth0"));
});

test("PacketGarp: 42-byte gratuitous ARP requests, count per address, to the broadcast MAC", async () => {
  const f = new FakeSocketFactory();
  const g = new PacketGarp(f, ifs);
  await g.send("eth0", ["10.88.0.100", "10.88.0.101"], 2);
  const s = f.opened[0]!;
  assert.equal(s.sent.length, 4);
  const frame = decodeArpFrame(s.sent[0]!.data);
  assert.ok(frame.ok);
  if (frame.ok) {
    assert.equal(frame.value.senderIp, "10.88.0.100");
    assert.equal(frame.value.targetIp, "10.88.0.100");
    assert.deepEqual(frame.value.senderMac, MAC);
  }
  assert.deepEqual(s.sent[0]!.dest, { ifindex: 2, protocol: 0x0806, addr: Buffer.from([255, 255, 255, 255, 255, 255]) });
});

function ifinfo(index: number, flags: number, name: string): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16LE(1, 2); // ARPHRD_ETHER
  h.writeInt32LE(index, 4);
  h.writeUInt32LE(flags, 8);
  return Buffer.concat([h, attr(IFLA_IFNAME, Buffer.from(`${name}\0`))]);
}

test("Kernel: link events are deduplicated and named; a deleted address is reported with its interface", async () => {
  const f = new FakeSocketFactory();
  f.onOpen = (s) => {
    if (s.domain !== AF_NETLINK) return;
    // a fake kernel for the request socket: every dump answers one link (eth0 up) and DONE
    s.respond = (d, sock) => {
      const seq = d.data.readUInt32LE(8);
      const type = d.data.readUInt16LE(4);
      if (type === 18) sock.deliver(Buffer.concat([encodeMessage({ type: RTM_NEWLINK, flags: NLM_F_MULTI, seq, payload: ifinfo(2, 0x1 | 0x40, "eth0") }), encodeDone(seq)]), { pid: 0, groups: 0 });
      else sock.deliver(encodeDone(seq), { pid: 0, groups: 0 });
    };
  };
  const k = new Kernel(f, ifs, createLogger({ level: "error" }));
  const links: string[] = [];
  const dels: string[] = [];
  k.onLink((l) => links.push(`${l.ifname}:${l.up ? "up" : "down"}`));
  k.onAddressDeleted((v) => dels.push(`${v.address}/${v.prefix}@${v.ifname}`));
  assert.deepEqual(await k.links(), [{ ifname: "eth0", up: true }]);
  const events = f.opened[1]!;
  const ev = (m: Buffer) => events.deliver(m, { pid: 0, groups: 1 });
  ev(encodeMessage({ type: RTM_NEWLINK, flags: 0, payload: ifinfo(2, 0x1 | 0x40, "eth0") })); // unchanged: silent
  ev(encodeMessage({ type: RTM_NEWLINK, flags: 0, payload: ifinfo(2, 0x1, "eth0") })); // carrier lost
  ev(encodeMessage({ type: RTM_NEWLINK, flags: 0, payload: ifinfo(2, 0x1, "eth0") })); // repeat: silent
  ev(encodeMessage({ type: RTM_NEWLINK, flags: 0, payload: ifinfo(2, 0x1 | 0x40, "eth0") }));
  const ifa = Buffer.from([2, 24, 0, 0, 2, 0, 0, 0]);
  ev(encodeMessage({ type: RTM_DELADDR, flags: 0, payload: Buffer.concat([ifa, attrIpv4(IFA_LOCAL, "10.88.0.100")]) }));
  assert.deepEqual(links, ["eth0:down", "eth0:up"]);
  assert.deepEqual(dels, ["10.88.0.100/24@eth0"]);
  k.close();
});
