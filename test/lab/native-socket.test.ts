// The native socket layer against the real kernel, in two fresh network namespaces joined by a
// veth pair (10.99.50.1/24 in A, 10.99.50.2/24 in B). Needs root and the built addon; builds
// nothing itself. Every namespace it creates is deleted at the end, even on failure.
//
//   (a) VIP add/delete through the rtnetlink codecs over AF_NETLINK, checked with `ip -o addr`,
//       with EEXIST / EADDRNOTAVAIL on the second try
//   (b) RTNLGRP_IPV4_IFADDR and RTNLGRP_LINK events for `ip addr del` and `ip link set down`
//   (c) VRRP v2 and v3 adverts on raw IP sockets (protocol 112, 224.0.0.18, TTL 255) from A,
//       received and decoded in B with the source address and ingress ifindex (IP_PKTINFO)
//   (d) a gratuitous ARP on AF_PACKET from A, seen by a packet socket in B
//   (e) interop with Debian's keepalived (when installed): its v2 (PASS) and v3 adverts decode on
//       our socket, and our higher-priority adverts make it give up mastership and its VIP

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addonAvailable,
  AF_NETLINK,
  IP_RECVTTL,
  IPPROTO_IP,
  findAddon,
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  nativeInterfaces,
  nativeSockets,
  RawSocket,
  SOCK_RAW,
  type DatagramSocket,
  type Datagram,
} from "../../src/daemon/native/index.js";
import {
  decodeAddr,
  decodeLink,
  encodeAddrAdd,
  encodeAddrDel,
  formatMac,
  NetlinkConnection,
  resolveFamily,
  RouteClient,
  RTM_DELADDR,
  RTM_NEWLINK,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_LINK,
  type NlMessage,
} from "../../src/daemon/netlink/index.js";
import { AUTH_PASS, decodeVrrpPacket, encodeAdvert, passAuthData } from "../../src/daemon/vrrp/packet.js";
import { openArpSocket, openVrrpSocket, sendFrame, VRRP_GROUP, vrrpDatagram } from "../../src/daemon/net/sockets.js";
import { decodeArpFrame, encodeGratuitousArp } from "../../src/daemon/arp/index.js";
import { NetnsLab, waitUntil } from "../../src/lab/index.js";

const WAIT_MS = 3000;

function skipReason(): string | undefined {
  if (process.platform !== "linux") return "needs Linux network namespaces";
  if (process.getuid?.() !== 0) return "needs root: creates network namespaces and raw sockets";
  if (!addonAvailable()) return "native addon not built: run `npm run build:native` first";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "needs iproute2 (`ip`)";
  }
  return undefined;
}
const SKIP = skipReason();

/** Resolves with the first datagram `pick` accepts, or rejects after WAIT_MS. */
function nextMatching<T>(sock: DatagramSocket, pick: (d: Datagram) => T | undefined, what: string, waitMs = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.pause();
      reject(new Error(`timed out after ${waitMs} ms waiting for ${what}`));
    }, waitMs);
    sock.onMessage(
      (d) => {
        const v = pick(d);
        if (v !== undefined) {
          clearTimeout(timer);
          sock.pause();
          resolve(v);
        }
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

const open: { close(): void }[] = [];
let net: NetnsLab | undefined;
let ifA = 0;
let ifB = 0;
let PATH_A = "";
let PATH_B = "";

/** `ip -n NS ARGS` in namespace a or b. */
function ipIn(n: "a" | "b", ...args: string[]): string {
  return net!.ip(n, ...args);
}

before(() => {
  if (SKIP) return;
  // Two hosts on one veth pair, no bridge: A's vA0 and B's vB0; vX0/vX1 is a spare pair inside A
  // whose links the event tests flip.
  net = NetnsLab.create({
    prefix: "lvsdn",
    link: "pair",
    hosts: [
      { name: "a", dev: "vA0", addr: "10.99.50.1/24" },
      { name: "b", dev: "vB0", addr: "10.99.50.2/24" },
    ],
  });
  PATH_A = net.path("a");
  PATH_B = net.path("b");
  ipIn("a", "link", "add", "vX0", "type", "veth", "peer", "name", "vX1");
  ipIn("a", "link", "set", "vX0", "up");
  ipIn("a", "link", "set", "vX1", "up");
  ifA = nativeInterfaces.nameToIndex("vA0", PATH_A);
  ifB = nativeInterfaces.nameToIndex("vB0", PATH_B);
});

after(() => {
  for (const s of open.splice(0)) s.close();
  net?.destroy();
});

function rtnl(ns: string, opts: ConstructorParameters<typeof NetlinkConnection>[1] = {}): NetlinkConnection {
  const conn = new NetlinkConnection(RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, { netns: ns }), { timeoutMs: WAIT_MS, ...opts });
  open.push(conn);
  return conn;
}

test("(a) VIP add and delete over rtnetlink, idempotent, checked with ip -o addr", { skip: SKIP }, async () => {
  const conn = rtnl(PATH_A);
  const route = new RouteClient(conn);
  const vip = { ifindex: ifA, address: "10.99.60.5", prefix: 32, label: "vA0:vip" };
  const show = () => ipIn("a", "-o", "-4", "addr", "show", "dev", "vA0");

  assert.deepEqual(await route.addAddress(vip), { ok: true, changed: true });
  assert.match(show(), /inet 10\.99\.60\.5\/32 scope global vA0:vip/);
  // The raw kernel answer to a second add is EEXIST; RouteClient calls that "no change".
  const again = await conn.request(encodeAddrAdd({ ...vip, seq: conn.nextSeq() }));
  assert.equal(again.ok, false);
  assert.equal(!again.ok && again.code, "EEXIST");
  assert.deepEqual(await route.addAddress(vip), { ok: true, changed: false });

  const listed = await route.listAddresses();
  assert.ok(listed.ok);
  assert.ok(listed.items.some((a) => a.local === "10.99.60.5" && a.label === "vA0:vip" && a.prefix === 32 && a.ifindex === ifA));

  assert.deepEqual(await route.deleteAddress(vip), { ok: true, changed: true });
  assert.doesNotMatch(show(), /10\.99\.60\.5/);
  const gone = await conn.request(encodeAddrDel({ ...vip, seq: conn.nextSeq() }));
  assert.equal(!gone.ok && gone.code, "EADDRNOTAVAIL");
  assert.deepEqual(await route.deleteAddress(vip), { ok: true, changed: false });

  const bad = await route.addAddress({ ...vip, ifindex: 9999 });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, "ENODEV");

  const links = await route.listLinks();
  assert.ok(links.ok);
  const va = links.items.find((l) => l.name === "vA0");
  assert.ok(va && va.up && va.lowerUp && va.operstate === "up" && va.ifindex === ifA);
  assert.equal(va.mac, formatMac(nativeInterfaces.hwAddr("vA0", PATH_A)));
});

test("(b) address and link events from the kernel's multicast groups", { skip: SKIP }, async () => {
  const events: NlMessage[] = [];
  const conn = rtnl(PATH_A, { onEvent: (m) => events.push(m) });
  conn.joinGroup(RTNLGRP_IPV4_IFADDR);
  conn.joinGroup(RTNLGRP_LINK);
  const waitFor = (pred: (m: NlMessage) => boolean, what: string): Promise<NlMessage> =>
    waitUntil(`the ${what} event`, () => events.find(pred), { timeoutMs: WAIT_MS, everyMs: 10, detail: () => `${events.length} other events` });

  ipIn("a", "addr", "add", "10.99.61.7/32", "dev", "vA0", "label", "vA0:x");
  ipIn("a", "addr", "del", "10.99.61.7/32", "dev", "vA0");
  const del = await waitFor((m) => {
    const a = m.type === RTM_DELADDR ? decodeAddr(m) : undefined;
    return !!a && a.ok && a.value.local === "10.99.61.7";
  }, "RTM_DELADDR 10.99.61.7");
  const d = decodeAddr(del);
  assert.ok(d.ok);
  assert.deepEqual([d.value.event, d.value.ifindex, d.value.label, d.value.prefix], ["del", ifA, "vA0:x", 32]);

  ipIn("a", "link", "set", "vX0", "down");
  const down = await waitFor((m) => {
    const l = m.type === RTM_NEWLINK ? decodeLink(m) : undefined;
    return !!l && l.ok && l.value.name === "vX0" && !l.value.up;
  }, "RTM_NEWLINK vX0 down");
  const l = decodeLink(down);
  assert.ok(l.ok);
  assert.equal(l.value.lowerUp, false);
  assert.equal(l.value.operstate, "down");
});

test("(c) VRRP adverts from namespace A received and decoded in B with source and ingress ifindex", { skip: SKIP }, async () => {
  const tx = openVrrpSocket(nativeSockets, { ifname: "vA0", ifindex: ifA, netns: PATH_A });
  const rx = openVrrpSocket(nativeSockets, { ifname: "vB0", ifindex: ifB, netns: PATH_B });
  open.push(tx, rx);
  rx.setsockopt(IPPROTO_IP, IP_RECVTTL, 1);

  const v3 = encodeAdvert(
    { version: 3, type: 1, vrid: 77, priority: 200, addresses: ["10.99.50.100"], maxAdvertIntCs: 100 },
    { src: "10.99.50.1", dst: VRRP_GROUP },
  );
  const got3 = nextMatching(rx, (d) => d, "a v3 advert in B");
  tx.send(vrrpDatagram(v3, "10.99.50.1", VRRP_GROUP), VRRP_GROUP);
  const d3 = await got3;
  assert.equal(d3.truncated, false);
  assert.deepEqual(d3.from, { address: "10.99.50.1", port: 0 });
  assert.equal(d3.ancillary.ifindex, ifB);
  assert.equal(d3.ancillary.dst, VRRP_GROUP);
  assert.equal(d3.ancillary.ttl, 255);
  const r3 = decodeVrrpPacket(d3.data, { version: 3 });
  assert.ok(r3.ok, JSON.stringify(r3));
  assert.equal(r3.value.ip.ttl, 255);
  assert.equal(r3.value.ip.tos, 0xc0);
  assert.equal(r3.value.checksumMode, "pseudo");
  assert.deepEqual(r3.value.advert, { version: 3, type: 1, vrid: 77, priority: 200, addresses: ["10.99.50.100"], maxAdvertIntCs: 100 });

  const v2 = encodeAdvert({
    version: 2, type: 1, vrid: 78, priority: 100, addresses: ["10.99.50.101", "10.99.50.102"],
    authType: AUTH_PASS, authData: passAuthData("pw"), advertIntSec: 1,
  });
  const got2 = nextMatching(rx, (d) => d, "a v2 advert in B");
  tx.send(vrrpDatagram(v2, "10.99.50.1", VRRP_GROUP), VRRP_GROUP);
  const r2 = decodeVrrpPacket((await got2).data, { version: 2, auth: { type: AUTH_PASS, data: passAuthData("pw") } });
  assert.ok(r2.ok, JSON.stringify(r2));
  assert.equal(r2.value.advert.vrid, 78);

  // Unicast to the peer's address works too (keepalived unicast_peer).
  const gotU = nextMatching(rx, (d) => d, "a unicast advert in B");
  tx.send(vrrpDatagram(v3, "10.99.50.1", "10.99.50.2"), "10.99.50.2");
  const dU = await gotU;
  assert.equal(dU.ancillary.dst, "10.99.50.2");
  const rU = decodeVrrpPacket(dU.data, { version: 3, v3Checksum: ["message"] });
  assert.equal(rU.ok ? "ok" : rU.reason, "bad-checksum"); // pseudo-header was computed for 224.0.0.18
});

test("(d) gratuitous ARP on AF_PACKET from A arrives in B", { skip: SKIP }, async () => {
  const mac = nativeInterfaces.hwAddr("vA0", PATH_A);
  const tx = openArpSocket(nativeSockets, { netns: PATH_A });
  const rx = openArpSocket(nativeSockets, { netns: PATH_B, receive: true, ifindex: ifB });
  open.push(tx, rx);
  const frame = encodeGratuitousArp({ mac, ip: "10.99.50.100" });
  const got = nextMatching(
    rx,
    (d) => {
      const f = decodeArpFrame(d.data);
      return f.ok && f.value.senderIp === "10.99.50.100" ? { d, f: f.value } : undefined;
    },
    "the gratuitous ARP in B",
  );
  assert.equal(sendFrame(tx, ifA, frame), 42);
  const { d, f } = await got;
  assert.deepEqual(d.data.subarray(0, 42), frame);
  assert.deepEqual(f.senderMac, mac);
  assert.ok(d.from && "ifindex" in d.from);
  assert.equal(d.from.ifindex, ifB);
  assert.equal(d.from.pkttype, 1); // PACKET_BROADCAST
  assert.deepEqual(d.from.addr, mac);
});

test("generic netlink: family ids resolve by name; an absent family is ENOENT", { skip: SKIP }, async () => {
  const conn = new NetlinkConnection(RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC, { netns: PATH_A }), { timeoutMs: WAIT_MS });
  open.push(conn);
  const ctrl = await resolveFamily(conn, "nlctrl");
  assert.ok(ctrl.ok);
  assert.equal(ctrl.family.id, 16);
  assert.ok(ctrl.family.mcastGroups.some((g) => g.name === "notify"));
  const none = await resolveFamily(conn, "NoSuchFamily");
  assert.equal(!none.ok && none.code, "ENOENT");
});

test("in worker threads: reading works, and terminating a reading worker closes its sockets", { skip: SKIP }, async () => {
  const path = JSON.stringify(findAddon());
  const fds = () => readdirSync("/proc/self/fd").length;
  const before = fds();
  // Each worker opens an rtnetlink socket in namespace A, subscribes to link events, reports
  // ready, and reports the first event it reads; the main thread then terminates it.
  const code = `
    const { parentPort } = require("node:worker_threads");
    const m = { exports: {} }; process.dlopen(m, ${path});
    const a = m.exports;
    const s = a.open(16, 3, 0, ${JSON.stringify(PATH_A)});
    a.bind(s, { pid: 0, groups: 1 });
    a.startReading(s, (err, data) => { if (!err) parentPort.postMessage({ event: data.readUInt16LE(4) }); });
    parentPort.postMessage({ ready: true });`;
  for (let i = 0; i < 5; i++) {
    const w = new Worker(code, { eval: true });
    const msgs: { ready?: boolean; event?: number }[] = [];
    w.on("message", (m) => msgs.push(m));
    const waitMsg = (pred: (m: { ready?: boolean; event?: number }) => boolean, what: string) =>
      waitUntil(`worker ${i}: ${what}`, () => msgs.some(pred), { timeoutMs: WAIT_MS, everyMs: 10, detail: () => `messages: ${JSON.stringify(msgs)}` });
    await waitMsg((m) => m.ready === true, "ready");
    ipIn("a", "link", "set", "vX1", i % 2 ? "up" : "down");
    await waitMsg((m) => m.event === RTM_NEWLINK, "RTM_NEWLINK event");
    assert.equal(await w.terminate(), 1);
  }
  ipIn("a", "link", "set", "vX1", "up");
  assert.equal(fds(), before);
});

test("native errors carry errno names", { skip: SKIP }, () => {
  assert.throws(() => nativeInterfaces.nameToIndex("nosuch0", PATH_A), { code: "ENODEV" });
  assert.throws(() => RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, { netns: "/run/netns/does-not-exist" }), { code: "ENOENT" });
  const s = RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, { netns: PATH_A });
  s.bind({ pid: 0, groups: 0 });
  assert.throws(() => s.setsockopt(270, 9999, 1), { code: "ENOPROTOOPT" });
  s.close();
  s.close(); // idempotent
  assert.equal(s.closed, true);
});

function keepalivedSkip(): string | undefined {
  if (SKIP) return SKIP;
  try {
    execFileSync("keepalived", ["--version"], { stdio: "ignore" });
  } catch {
    return "needs keepalived (apt-get install keepalived; scripts/install-deps.sh)";
  }
  return undefined;
}

for (const version of [2, 3] as const) {
  test(`(e) keepalived v${version} interop: its adverts decode here, ours make it back off`, { skip: keepalivedSkip() }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "lvsd-ka-"));
    const vip = version === 2 ? "10.99.50.200" : "10.99.50.201";
    const vrid = version === 2 ? 61 : 62;
    const conf = join(dir, "keepalived.conf");
    writeFileSync(
      conf,
      [
        "global_defs { router_id lvsdlab }",
        "vrrp_instance VI_LAB {",
        version === 3 ? "  version 3" : "",
        "  state MASTER",
        "  interface vA0",
        `  virtual_router_id ${vrid}`,
        "  priority 150",
        version === 3 ? "  advert_int 0.5" : "  advert_int 1",
        version === 2 ? "  authentication {\n    auth_type PASS\n    auth_pass labpass1\n  }" : "",
        `  virtual_ipaddress {\n    ${vip}/24\n  }`,
        "}",
        "",
      ].join("\n"),
    );
    let ka: ChildProcess | undefined;
    const rx = openVrrpSocket(nativeSockets, { ifname: "vB0", ifindex: ifB, netns: PATH_B });
    open.push(rx);
    let timer: ReturnType<typeof setInterval> | undefined;
    try {
      const heard = nextMatching(
        rx,
        (d) => {
          const r = decodeVrrpPacket(d.data, version === 2 ? { version, auth: { type: AUTH_PASS, data: passAuthData("labpass1") } } : { version });
          return r.ok && r.value.advert.vrid === vrid ? r.value : undefined;
        },
        `keepalived's v${version} advert`,
        // keepalived announces within its master-down time at most (about 3.6 s at 1 s adverts).
        8000,
      );
      ka = spawn("ip", ["netns", "exec", net!.ns("a"), "keepalived", "--vrrp", "-n", "-l", "-D", "-f", conf, "-p", join(dir, "ka.pid"), "-r", join(dir, "vrrp.pid")], {
        stdio: "ignore",
      });
      const got = await heard;
      assert.equal(got.ip.src, "10.99.50.1");
      assert.equal(got.advert.priority, 150);
      assert.deepEqual(got.advert.addresses, [vip]);
      assert.equal(got.checksumMode, version === 2 ? "message" : "pseudo");
      await waitUntil("keepalived to add its VIP", () => net!.hasAddr("a", vip, "vA0"), { timeoutMs: 6000, everyMs: 100 });

      // Now we are a higher-priority master on the same VRID, from B.
      const tx = openVrrpSocket(nativeSockets, { ifname: "vB0", ifindex: ifB, netns: PATH_B });
      open.push(tx);
      const ours = encodeAdvert(
        version === 2
          ? { version: 2, type: 1, vrid, priority: 200, addresses: [vip], authType: AUTH_PASS, authData: passAuthData("labpass1"), advertIntSec: 1 }
          : { version: 3, type: 1, vrid, priority: 200, addresses: [vip], maxAdvertIntCs: 50 },
        { src: "10.99.50.2", dst: VRRP_GROUP },
      );
      const packet = vrrpDatagram(ours, "10.99.50.2", VRRP_GROUP);
      tx.send(packet, VRRP_GROUP);
      timer = setInterval(() => tx.send(packet, VRRP_GROUP), 200);
      await waitUntil("keepalived to accept our advert and drop its VIP", () => !net!.hasAddr("a", vip, "vA0"), { timeoutMs: 5000, everyMs: 100 });
    } finally {
      if (timer) clearInterval(timer);
      if (ka && ka.exitCode === null) {
        const exited = new Promise((r) => ka!.once("exit", r));
        ka.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (ka.exitCode === null && ka.signalCode === null) ka.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
