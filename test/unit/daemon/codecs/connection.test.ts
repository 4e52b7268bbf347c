// NetlinkConnection and RouteClient against a fake kernel (FakeSocket.respond), plus the socket
// helpers' options over FakeSocketFactory. No addon, no root.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET,
  AF_NETLINK,
  AF_PACKET,
  ETH_P_ARP,
  IP_ADD_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_PKTINFO,
  IPPROTO_IP,
  NETLINK_ADD_MEMBERSHIP,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SOL_NETLINK,
  SOL_SOCKET,
} from "../../../../src/daemon/native/constants.js";
import { errnoError, FakeHub, FakeSocket, FakeSocketFactory } from "../../../../src/daemon/native/fake.js";
import {
  decodeAddr,
  decodeHeader,
  decodeMessages,
  encodeDone,
  encodeError,
  encodeMessage,
  NetlinkConnection,
  NLM_F_MULTI,
  RouteClient,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RTM_NEWLINK,
  attrString,
  attrU32,
  attr,
} from "../../../../src/daemon/netlink/index.js";
import { openArpSocket, openVrrpSocket, sendFrame, vrrpDatagram } from "../../../../src/daemon/net/sockets.js";
import { decodeVrrpPacket, encodeAdvert } from "../../../../src/daemon/vrrp/packet.js";
import { encodeGratuitousArp } from "../../../../src/daemon/arp/index.js";

/** A fake kernel holding a set of IPv4 addresses, answering add/del/dump like Linux does. */
function fakeKernel(sock: FakeSocket): Set<string> {
  const addrs = new Set<string>();
  sock.local = { pid: 4242, groups: 0 };
  sock.respond = (d) => {
    const msgs = decodeMessages(d.data);
    assert.ok(msgs.ok);
    for (const m of msgs.value) {
      const h = decodeHeader(d.data);
      assert.ok(h.ok);
      if (m.type === RTM_GETADDR) {
        // a dump: one datagram per address, then DONE
        for (const k of addrs) {
          const [ip, rest] = k.split("/");
          const [prefix, ifindex] = rest!.split("@");
          const body = Buffer.alloc(8);
          body[0] = 2;
          body[1] = Number(prefix);
          body.writeUInt32LE(Number(ifindex), 4);
          const ipb = Buffer.from(ip!.split(".").map(Number));
          sock.deliver(encodeMessage({ type: RTM_NEWADDR, flags: NLM_F_MULTI, seq: m.seq, pid: 4242, payload: Buffer.concat([body, attr(2, ipb), attr(1, ipb)]) }), { pid: 0, groups: 0 });
        }
        sock.deliver(encodeDone(m.seq, 4242), { pid: 0, groups: 0 });
        continue;
      }
      if (m.type === RTM_NEWADDR || m.type === RTM_DELADDR) {
        const a = decodeAddr(m);
        assert.ok(a.ok);
        const key = `${a.value.local}/${a.value.prefix}@${a.value.ifindex}`;
        if (m.type === RTM_NEWADDR) {
          const exists = addrs.has(key);
          addrs.add(key);
          sock.deliver(encodeError(exists ? 17 : 0, h.value), { pid: 0, groups: 0 });
          // the kernel's notification echoes our seq, from the multicast group
          if (!exists) sock.deliver(encodeMessage({ type: RTM_NEWADDR, flags: 0, seq: m.seq, pid: 4242, payload: m.payload }), { pid: 0, groups: 0x10 });
        } else {
          const had = addrs.delete(key);
          sock.deliver(encodeError(had ? 0 : 99, h.value), { pid: 0, groups: 0 });
        }
      }
    }
  };
  return addrs;
}

test("RouteClient: add/delete are idempotent over a fake kernel; our own notifications are events", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  const addrs = fakeKernel(sock);
  const events: number[] = [];
  const conn = new NetlinkConnection(sock, { onEvent: (m) => events.push(m.type) });
  assert.deepEqual(sock.bound, { pid: 0, groups: 0 });
  const rc = new RouteClient(conn);
  const vip = { ifindex: 3, address: "10.1.2.3", prefix: 32, label: "eth0:vip" };
  assert.deepEqual(await rc.addAddress(vip), { ok: true, changed: true });
  assert.deepEqual(await rc.addAddress(vip), { ok: true, changed: false });
  assert.deepEqual([...addrs], ["10.1.2.3/32@3"]);
  assert.deepEqual(events, [RTM_NEWADDR]);
  assert.deepEqual(await rc.deleteAddress(vip), { ok: true, changed: true });
  assert.deepEqual(await rc.deleteAddress(vip), { ok: true, changed: false });
  conn.close();
  assert.equal(sock.closed, true);
});

test("dumps collect every part until NLMSG_DONE", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  const addrs = fakeKernel(sock);
  addrs.add("10.0.0.1/24@2").add("10.0.0.2/32@3");
  const rc = new RouteClient(new NetlinkConnection(sock));
  const r = await rc.listAddresses();
  assert.ok(r.ok);
  assert.deepEqual(r.items.map((a) => [a.local, a.prefix, a.ifindex]), [["10.0.0.1", 24, 2], ["10.0.0.2", 32, 3]]);
});

test("errors, timeouts, send failures and close resolve as values", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  const conn = new NetlinkConnection(sock, { timeoutMs: 20 });
  const rc = new RouteClient(conn);
  // No answer at all: ETIMEDOUT.
  assert.deepEqual(await rc.addAddress({ ifindex: 1, address: "10.0.0.1", prefix: 32 }), { ok: false, errno: 110, code: "ETIMEDOUT" });
  sock.failNextSend = errnoError("ENOBUFS", 105);
  const r = await rc.deleteAddress({ ifindex: 1, address: "10.0.0.1", prefix: 32 });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, "ENOBUFS");
  // Kernel says EPERM.
  sock.respond = (d) => {
    const h = decodeHeader(d.data);
    assert.ok(h.ok);
    sock.deliver(encodeError(1, h.value));
  };
  const p = await rc.addAddress({ ifindex: 1, address: "10.0.0.1", prefix: 32 });
  assert.equal(!p.ok && p.code, "EPERM");
  // Pending requests are cancelled on close.
  sock.respond = undefined;
  const pending = rc.listLinks();
  conn.close();
  const c = await pending;
  assert.equal(!c.ok && c.code, "ECANCELED");
});

test("events: link messages with seq 0 go to onEvent; garbage and ENOBUFS go to onProblem", () => {
  const sock = new FakeSocket(AF_NETLINK);
  const events: number[] = [];
  const problems: string[] = [];
  const conn = new NetlinkConnection(sock, {
    onEvent: (m) => events.push(m.type),
    onProblem: (p) => problems.push(p.kind === "decode" ? p.reason : p.error.code),
  });
  conn.joinGroup(1);
  assert.equal(sock.option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP), 1);
  const link = encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 0, payload: Buffer.concat([Buffer.alloc(16), attrString(3, "eth0"), attrU32(4, 1500)]) });
  sock.deliver(link, { pid: 0, groups: 1 });
  sock.deliver(Buffer.from([1, 2, 3]));
  sock.deliverError(errnoError("ENOBUFS", 105, "recvmsg"));
  assert.deepEqual(events, [RTM_NEWLINK]);
  assert.deepEqual(problems, ["short: 3 bytes, nlmsghdr needs 16", "ENOBUFS"]);
});

test("openVrrpSocket sets the options keepalived relies on; adverts cross a FakeHub", () => {
  const f = new FakeSocketFactory();
  const a = openVrrpSocket(f, { ifname: "eth0", ifindex: 2 }) as FakeSocket;
  assert.equal(a.domain, AF_INET);
  assert.equal(a.protocol, 112);
  assert.deepEqual(a.option(SOL_SOCKET, SO_BINDTODEVICE), Buffer.from("eth0\0"));
  assert.equal(a.option(IPPROTO_IP, IP_HDRINCL), 1);
  assert.equal(a.option(IPPROTO_IP, IP_PKTINFO), 1);
  assert.deepEqual(a.option(IPPROTO_IP, IP_MULTICAST_IF), Buffer.from("00000000" + "00000000" + "02000000", "hex")); // ip_mreqn, ifindex 2
  assert.deepEqual(a.option(IPPROTO_IP, IP_ADD_MEMBERSHIP), Buffer.from("e000001200000000" + "02000000", "hex"));
  assert.equal(a.bound, undefined); // a bound raw socket would not receive multicast

  const b = openVrrpSocket(f, { ifname: "eth0", ifindex: 5 }) as FakeSocket;
  const hub = new FakeHub();
  hub.join(a, "10.0.0.1", 2);
  hub.join(b, "10.0.0.2", 5);
  const got: ReturnType<typeof decodeVrrpPacket>[] = [];
  b.onMessage((d) => {
    assert.equal(d.ancillary.ifindex, 5);
    got.push(decodeVrrpPacket(d.data));
  });
  const adv = encodeAdvert({ version: 3, type: 1, vrid: 9, priority: 100, addresses: ["10.0.0.9"], maxAdvertIntCs: 100 }, { src: "10.0.0.1", dst: "224.0.0.18" });
  a.send(vrrpDatagram(adv, "10.0.0.1", "224.0.0.18"), "224.0.0.18");
  assert.equal(got.length, 1);
  assert.ok(got[0]!.ok);
  hub.cut = true;
  a.send(vrrpDatagram(adv, "10.0.0.1", "224.0.0.18"), "224.0.0.18");
  assert.equal(got.length, 1);

  f.failNextOpen = errnoError("EPERM", 1, "socket");
  assert.throws(() => openVrrpSocket(f, { ifname: "eth0", ifindex: 2 }), { code: "EPERM" });
});

test("openVrrpSocket: the exact setsockopt sequence, with and without device binding and the group", () => {
  const calls = (s: FakeSocket) => s.options.map((o) => [o.level, o.name, Buffer.isBuffer(o.value) ? o.value.toString("hex") : o.value]);
  const f = new FakeSocketFactory();
  const all = openVrrpSocket(f, { ifname: "eth0", ifindex: 2, netns: "ns-a" }) as FakeSocket;
  assert.equal(all.netns, "ns-a");
  assert.deepEqual(calls(all), [
    [SOL_SOCKET, SO_BINDTODEVICE, "6574683000"], // "eth0\0"
    [IPPROTO_IP, IP_HDRINCL, 1],
    [IPPROTO_IP, IP_PKTINFO, 1],
    [IPPROTO_IP, IP_MULTICAST_LOOP, 0],
    [IPPROTO_IP, IP_MULTICAST_IF, "00000000" + "00000000" + "02000000"],
    [IPPROTO_IP, IP_ADD_MEMBERSHIP, "e0000012" + "00000000" + "02000000"],
  ]);
  const bare = openVrrpSocket(f, { ifname: "eth0", ifindex: 7, bindToDevice: false, multicast: false }) as FakeSocket;
  assert.equal(bare.netns, undefined);
  assert.deepEqual(calls(bare), [
    [IPPROTO_IP, IP_HDRINCL, 1],
    [IPPROTO_IP, IP_PKTINFO, 1],
    [IPPROTO_IP, IP_MULTICAST_LOOP, 0],
    [IPPROTO_IP, IP_MULTICAST_IF, "00000000" + "00000000" + "07000000"],
  ]);
  // the advert channel's extras: TTL after IP_PKTINFO, SO_RCVBUF after IP_MULTICAST_IF
  const extra = openVrrpSocket(f, { ifname: "eth0", ifindex: 2, multicastTtl: 255, receiveBuffer: 1 << 20 }) as FakeSocket;
  assert.deepEqual(calls(extra).map(([, name, value]) => [name, typeof value === "number" ? value : "…"]), [
    [SO_BINDTODEVICE, "…"],
    [IP_HDRINCL, 1],
    [IP_PKTINFO, 1],
    [IP_MULTICAST_TTL, 255],
    [IP_MULTICAST_LOOP, 0],
    [IP_MULTICAST_IF, "…"],
    [SO_RCVBUF, 1 << 20],
    [IP_ADD_MEMBERSHIP, "…"],
  ]);
  // SO_RCVBUF is best effort: refused, the socket stays open with everything else set
  f.onOpen = (s) => {
    const set = s.setsockopt.bind(s);
    s.setsockopt = (level, name, value) => {
      if (level === SOL_SOCKET && name === SO_RCVBUF) throw errnoError("EPERM", 1, "setsockopt");
      set(level, name, value);
    };
  };
  const small = openVrrpSocket(f, { ifname: "eth0", ifindex: 2, receiveBuffer: 1 << 30 }) as FakeSocket;
  assert.equal(small.closed, false);
  assert.equal(small.option(SOL_SOCKET, SO_RCVBUF), undefined);
  assert.deepEqual(small.option(IPPROTO_IP, IP_ADD_MEMBERSHIP), Buffer.from("e0000012" + "00000000" + "02000000", "hex"));
  // any other failing option closes the socket and rethrows
  f.onOpen = (s) => {
    s.setsockopt = () => {
      throw errnoError("ENODEV", 19, "setsockopt");
    };
  };
  assert.throws(() => openVrrpSocket(f, { ifname: "nope0", ifindex: 9 }), { code: "ENODEV" });
  assert.equal(f.opened.at(-1)!.closed, true);
});

test("openArpSocket/sendFrame address the frame to the interface", () => {
  const f = new FakeSocketFactory();
  const s = openArpSocket(f) as FakeSocket;
  assert.equal(s.domain, AF_PACKET);
  assert.equal(s.protocol, 0); // send-only: nothing queues up
  const frame = encodeGratuitousArp({ mac: "02:00:00:00:00:01", ip: "10.0.0.9" });
  assert.equal(sendFrame(s, 3, frame), 42);
  assert.deepEqual(s.sent[0]!.dest, { ifindex: 3, protocol: ETH_P_ARP, addr: Buffer.from("ffffffffffff", "hex") });
  const r = openArpSocket(f, { receive: true, ifindex: 3 }) as FakeSocket;
  assert.equal(r.protocol, ETH_P_ARP);
  assert.deepEqual(r.bound, { ifindex: 3, protocol: ETH_P_ARP });
});

test("FakeSocket queues while paused and refuses use after close", () => {
  const s = new FakeSocket(AF_INET);
  s.deliver(Buffer.from([1]));
  const seen: number[] = [];
  s.onMessage((d) => seen.push(d.data[0]!));
  assert.deepEqual(seen, [1]);
  s.pause();
  s.deliver(Buffer.from([2]));
  assert.deepEqual(seen, [1]);
  s.onMessage((d) => seen.push(d.data[0]!));
  assert.deepEqual(seen, [1, 2]);
  s.close();
  assert.throws(() => s.send(Buffer.alloc(1)), { code: "EBADF" });
});

test("concurrent dumps on one socket are queued (the kernel would answer the second with EBUSY)", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  let busy = false;
  let dumps = 0;
  sock.respond = (d) => {
    const h = decodeHeader(d.data);
    assert.ok(h.ok);
    if (busy) {
      sock.deliver(encodeError(16, h.value)); // EBUSY, as netlink_dump_start answers
      return;
    }
    busy = true;
    dumps++;
    setTimeout(() => {
      busy = false;
      sock.deliver(encodeDone(h.value.seq));
    }, 5);
  };
  const rc = new RouteClient(new NetlinkConnection(sock));
  const [a, b, c] = await Promise.all([rc.listLinks(), rc.listAddresses(), rc.listLinks()]);
  assert.deepEqual([a.ok, b.ok, c.ok], [true, true, true]);
  assert.equal(dumps, 3);
});
