import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import {
  canonicalIpvsAddress,
  canonicalServiceKey,
  decodeDaemon,
  decodeDest,
  encodeDelDaemon,
  encodeNewDaemon,
  IPVS_CMD_NEW_DAEMON,
  decodeInfo,
  decodeMessages,
  decodeService,
  decodeTimeouts,
  encodeDelDest,
  encodeDelService,
  encodeGetConfig,
  encodeGetDests,
  encodeGetInfo,
  encodeGetServices,
  encodeNewDest,
  encodeNewService,
  encodeMessage,
  encodeSetConfig,
  ipvsAddressFamily,
  ipvsVersionText,
  IPVS_CMD_GET_CONFIG,
  IPVS_CMD_GET_INFO,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IPVS_CMD_SET_CONFIG,
  IPVS_CMD_SET_INFO,
  IPVS_DEFAULT_NETMASK,
  IP_VS_CONN_F_DROUTE,
  IP_VS_SVC_F_HASHED,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_SVC_F_USER_MASK,
  serviceKeyFamily,
  type NlMessage,
} from "../../../../src/daemon/netlink/index.js";

const hex = (s: string) => s.replace(/[^0-9a-f]/gi, "");
/** One whole netlink message the kernel sent (fixtures/README.md). */
function kernelReply(name: string): NlMessage {
  const d = decodeMessages(Buffer.from(hex(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")), "hex"));
  assert.ok(d.ok, name);
  assert.equal(d.value.length, 1, name);
  return d.value[0]!;
}
const FAMILY = 0x22; // whatever CTRL_CMD_GETFAMILY answered; never hard-coded in the daemon

// wire-formats.md "Example, add service TCP 10.0.0.1:80 wrr (attribute bytes, x86 host)".
const EXAMPLE_SERVICE_NEST = hex(`
  54 00 01 00
  06 00 01 00 02 00 00 00
  06 00 02 00 06 00 00 00
  14 00 03 00 0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
  06 00 04 00 00 50 00 00
  08 00 06 00 77 72 72 00
  0c 00 07 00 00 00 00 00 ff ff ff ff
  08 00 08 00 00 00 00 00
  08 00 09 00 ff ff ff ff`);

test("NEW_SERVICE TCP 10.0.0.1:80 wrr is byte-exact against the reference example", () => {
  const b = encodeNewService(FAMILY, 5, { key: { protocol: 6, address: "10.0.0.1", port: 80 }, scheduler: "wrr" });
  assert.equal(
    b.toString("hex"),
    hex("68000000 2200 0500 05000000 00000000") + // nlmsghdr: len 104, type = family, REQUEST|ACK, seq 5
      hex("01 01 0000") + // genl cmd NEW_SERVICE, version 1
      EXAMPLE_SERVICE_NEST,
  );
});

test("dest commands carry the service nest; DEL_DEST only addr, port and address family", () => {
  const svc = { protocol: 6, address: "10.0.0.1", port: 80 };
  const nd = encodeNewDest(FAMILY, 6, svc, { address: "192.168.1.10", port: 80, fwd: "dr", weight: 3 });
  const dd = encodeDelDest(FAMILY, 7, svc, { address: "192.168.1.10", port: 80 });
  const destPart = (b: Buffer) => b.subarray(16 + 4 + 0x30).toString("hex"); // after the key-only service nest
  assert.equal(
    destPart(nd),
    hex(`48 00 02 00
      14 00 01 00 c0 a8 01 0a 00 00 00 00 00 00 00 00 00 00 00 00
      06 00 02 00 00 50 00 00
      08 00 03 00 03 00 00 00
      08 00 04 00 03 00 00 00
      08 00 05 00 00 00 00 00
      08 00 06 00 00 00 00 00
      06 00 0b 00 02 00 00 00`),
  );
  // ADDR_FAMILY in DEL_DEST too, as libipvs sends it: without it the kernel looks the destination
  // up in the service's family, which misses an IPv6 tunnel destination of an IPv4 service.
  assert.equal(destPart(dd), hex("28 00 02 00 14 00 01 00 c0a8010a 000000000000000000000000 06 00 02 00 00 50 00 00 06 00 0b 00 02 00 00 00"));
  // The service nest in a dest command is key-only (no scheduler).
  assert.equal(nd.subarray(20, 24).toString("hex"), "30000100"); // 48 bytes: AF, PROTOCOL, ADDR, PORT
  const fw = encodeGetDests(FAMILY, 8, { fwmark: 7 });
  assert.equal(fw.readUInt16LE(6), 0x301);
  assert.equal(fw.subarray(20).toString("hex"), hex("14 00 01 00 06 00 01 00 02 00 00 00 08 00 05 00 07 00 00 00"));
  assert.equal(encodeGetServices(FAMILY, 9).toString("hex"), hex("14000000 2200 0103 09000000 00000000 04 01 0000"));
});

/** A dump reply as the kernel shapes it: same nests, cmd NEW_*. */
function asReply(req: Buffer, cmd: number): NlMessage {
  const m = decodeMessages(req);
  assert.ok(m.ok);
  const msg = m.value[0]!;
  const payload = Buffer.from(msg.payload);
  payload[0] = cmd;
  const d = decodeMessages(encodeMessage({ type: msg.type, flags: 2, seq: msg.seq, payload }));
  assert.ok(d.ok);
  return d.value[0]!;
}

/** A genl message from hex attribute bytes: cmd, version 1, then the attributes. */
function genlMsg(cmd: number, attrsHex: string): NlMessage {
  const d = decodeMessages(encodeMessage({ type: FAMILY, flags: 0, seq: 1, payload: Buffer.from(`${cmd.toString(16).padStart(2, "0")}010000${hex(attrsHex)}`, "hex") }));
  assert.ok(d.ok);
  return d.value[0]!;
}

// The same service as above in IPv6, as ipvsadm -A -t [fd00::1]:80 -s wrr sends it: AF 10, the
// 16-byte address, and the netmask a host-order prefix length 128 (ip_vs_add_service reads
// (__force __u32) netmask and accepts 1..128).
const V6_SERVICE_NEST = hex(`
  54 00 01 00
  06 00 01 00 0a 00 00 00
  06 00 02 00 06 00 00 00
  14 00 03 00 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
  06 00 04 00 00 50 00 00
  08 00 06 00 77 72 72 00
  0c 00 07 00 00 00 00 00 ff ff ff ff
  08 00 08 00 00 00 00 00
  08 00 09 00 80 00 00 00`);

test("IPv6: NEW_SERVICE TCP [fd00::1]:80 wrr carries AF_INET6, 16 address bytes and netmask 128", () => {
  const b = encodeNewService(FAMILY, 5, { key: { protocol: 6, address: "fd00::1", port: 80 }, scheduler: "wrr" });
  assert.equal(b.subarray(20).toString("hex"), V6_SERVICE_NEST);
  // any spelling of the address gives the same bytes
  assert.deepEqual(encodeNewService(FAMILY, 5, { key: { protocol: 6, address: "FD00:0:0:0:0:0:0:0001", port: 80 }, scheduler: "wrr" }), b);
});

test("IPv6: dest commands carry ADDR_FAMILY 10; an IPv6 fwmark service is AF 10 plus the mark", () => {
  const svc = { protocol: 6, address: "fd00::1", port: 80 };
  const nd = encodeNewDest(FAMILY, 6, svc, { address: "fd00:0:0:1::10", port: 8080, fwd: "nat", weight: 2, uThresh: 7, lThresh: 1 });
  assert.equal(nd.subarray(20, 24).toString("hex"), "30000100"); // key-only service nest
  assert.equal(
    nd.subarray(20 + 0x30).toString("hex"),
    hex(`48 00 02 00
      14 00 01 00 fd 00 00 00 00 00 00 01 00 00 00 00 00 00 00 10
      06 00 02 00 1f 90 00 00
      08 00 03 00 00 00 00 00
      08 00 04 00 02 00 00 00
      08 00 05 00 07 00 00 00
      08 00 06 00 01 00 00 00
      06 00 0b 00 0a 00 00 00`),
  );
  const dd = encodeDelDest(FAMILY, 7, svc, { address: "fd00:0:0:1::10", port: 8080 });
  assert.equal(dd.subarray(20 + 0x30).toString("hex"), hex("28 00 02 00 14 00 01 00 fd000000000000010000000000000010 06 00 02 00 1f 90 00 00 06 00 0b 00 0a 00 00 00"));
  const fw = encodeGetDests(FAMILY, 8, { fwmark: 7, family: "inet6" });
  assert.equal(fw.subarray(20).toString("hex"), hex("14 00 01 00 06 00 01 00 0a 00 00 00 08 00 05 00 07 00 00 00"));
  const del = encodeDelService(FAMILY, 9, { fwmark: 7, family: "inet6" });
  assert.equal(del.subarray(20).toString("hex"), fw.subarray(20).toString("hex"));
});

test("netmask bytes: an IPv4 mask in network order, an IPv6 prefix length host order, checked", () => {
  const nm = (b: Buffer) => b.subarray(b.length - 8).toString("hex"); // NETMASK is the last attribute
  assert.equal(nm(encodeNewService(FAMILY, 1, { key: { fwmark: 1 }, scheduler: "rr", flags: 1, timeout: 60, netmask: 0xffffff00 })), hex("08 00 09 00 ff ff ff 00"));
  assert.equal(nm(encodeNewService(FAMILY, 1, { key: { fwmark: 1, family: "inet6" }, scheduler: "rr" })), hex("08 00 09 00 80 00 00 00"));
  assert.equal(nm(encodeNewService(FAMILY, 1, { key: { protocol: 17, address: "fd00::53", port: 53 }, scheduler: "rr", netmask: 64 })), hex("08 00 09 00 40 00 00 00"));
  for (const bad of [0, 129, 0xffffffff]) {
    assert.throws(() => encodeNewService(FAMILY, 1, { key: { fwmark: 1, family: "inet6" }, scheduler: "rr", netmask: bad }), RangeError);
  }
  assert.throws(() => encodeNewService(FAMILY, 1, { key: { protocol: 6, address: "fe80::1%eth0", port: 1 }, scheduler: "rr" }), RangeError);
});

test("flags: encoders send only the settable bits; decoders split settable from the kernel's own", () => {
  const fl = (b: Buffer) => b.subarray(20).toString("hex").match(/0c000700(.{16})/)![1];
  const all = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;
  assert.equal(fl(encodeNewService(FAMILY, 1, { key: { fwmark: 1 }, scheduler: "sh", flags: all | 0x100 })), "3d000000ffffffff");
  assert.equal(IP_VS_SVC_F_USER_MASK, 0x3d);
  // A service as the kernel dumps it (ip_vs_genl_fill_service): FLAGS {svc->flags, ~0} with HASHED.
  const m = genlMsg(
    IPVS_CMD_NEW_SERVICE,
    `38 00 01 00
     06 00 01 00 02 00 00 00
     08 00 05 00 07 00 00 00
     07 00 06 00 73 68 00 00
     0c 00 07 00 1b 00 00 00 ff ff ff ff
     08 00 08 00 2c 01 00 00
     08 00 09 00 ff ff ff 00`,
  );
  const s = decodeService(m);
  assert.ok(s.ok, JSON.stringify(s));
  assert.deepEqual(s.value, {
    key: { fwmark: 7 },
    scheduler: "sh",
    flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2,
    kernelFlags: 0x1b,
    timeout: 300,
    netmask: 0xffffff00,
  });
});

test("decoders: an IPv6 service and destination; bad families and short addresses are typed reasons", () => {
  const v6 = decodeService(genlMsg(IPVS_CMD_NEW_SERVICE, V6_SERVICE_NEST.replace("0c000700000000", "0c000700020000")));
  assert.ok(v6.ok, JSON.stringify(v6));
  assert.deepEqual(v6.value, { key: { protocol: 6, address: "fd00::1", port: 80 }, scheduler: "wrr", flags: 0, kernelFlags: IP_VS_SVC_F_HASHED, timeout: 0, netmask: 128 });
  const fw6 = decodeService(genlMsg(IPVS_CMD_NEW_SERVICE, "1c 00 01 00 06 00 01 00 0a 00 00 00 08 00 05 00 07 00 00 00 07 00 06 00 72 72 00 00"));
  assert.ok(fw6.ok);
  assert.deepEqual(fw6.value.key, { fwmark: 7, family: "inet6" });

  const badAf = decodeService(genlMsg(IPVS_CMD_NEW_SERVICE, "14 00 01 00 06 00 01 00 07 00 00 00 08 00 05 00 07 00 00 00"));
  assert.deepEqual(badAf, { ok: false, reason: "bad-field", detail: "address family 7" });
  // an AF_INET6 service whose ADDR holds only 4 bytes
  const short = decodeService(genlMsg(IPVS_CMD_NEW_SERVICE, "24 00 01 00 06 00 01 00 0a 00 00 00 06 00 02 00 06 00 00 00 08 00 03 00 fd 00 00 00 06 00 04 00 00 50 00 00"));
  assert.equal(short.ok ? "ok" : short.reason, "bad-field");
  assert.equal(decodeService(genlMsg(IPVS_CMD_NEW_DEST, "")).ok, false);

  const destAttrs = `14 00 01 00 fd 00 00 00 00 00 00 01 00 00 00 00 00 00 00 10
      06 00 02 00 1f 90 00 00
      08 00 03 00 00 00 00 00
      08 00 04 00 02 00 00 00
      08 00 05 00 00 00 00 00
      08 00 06 00 00 00 00 00
      08 00 07 00 03 00 00 00
      08 00 08 00 04 00 00 00
      08 00 09 00 05 00 00 00`;
  const nest = (inner: string) => `${(4 + hex(inner).length / 2).toString(16).padStart(2, "0")} 00 02 00 ${inner}`;
  const want = { address: "fd00:0:0:1::10", port: 8080, fwd: 0, weight: 2, uThresh: 0, lThresh: 0, activeConns: 3, inactConns: 4, persistConns: 5 };
  const withAf = decodeDest(genlMsg(IPVS_CMD_NEW_DEST, nest(`${destAttrs} 06 00 0b 00 0a 00 00 00`)));
  assert.ok(withAf.ok, JSON.stringify(withAf));
  assert.deepEqual(withAf.value, want);
  // no ADDR_FAMILY (before Linux 3.18): the service's family, IPv4 unless told
  const noAf = decodeDest(genlMsg(IPVS_CMD_NEW_DEST, nest(destAttrs)), "inet6");
  assert.ok(noAf.ok);
  assert.deepEqual(noAf.value, want);
  const asV4 = decodeDest(genlMsg(IPVS_CMD_NEW_DEST, nest(destAttrs)));
  assert.ok(asV4.ok);
  assert.equal(asV4.value.address, "253.0.0.0");
  assert.deepEqual(decodeDest(genlMsg(IPVS_CMD_NEW_DEST, nest(`${destAttrs} 06 00 0b 00 63 00 00 00`))), { ok: false, reason: "bad-field", detail: "dest address family 99" });
  assert.equal(decodeDest(genlMsg(IPVS_CMD_NEW_SERVICE, nest(destAttrs))).ok, false);
});

test("GET_INFO, GET_CONFIG and SET_CONFIG requests, byte-exact", () => {
  assert.equal(encodeGetInfo(FAMILY, 3).toString("hex"), hex("14000000 2200 0500 03000000 00000000 0f 01 0000"));
  assert.equal(encodeGetConfig(FAMILY, 4).toString("hex"), hex("14000000 2200 0500 04000000 00000000 0d 01 0000"));
  assert.equal(
    encodeSetConfig(FAMILY, 5, { tcp: 900, tcpFin: 120, udp: 300 }).toString("hex"),
    hex("2c000000 2200 0500 05000000 00000000 0c 01 0000  08 00 04 00 84 03 00 00  08 00 05 00 78 00 00 00  08 00 06 00 2c 01 00 00"),
  );
  // only what is given is sent; the kernel keeps the others
  assert.equal(encodeSetConfig(FAMILY, 6, { udp: 60 }).subarray(20).toString("hex"), hex("08 00 06 00 3c 00 00 00"));
  assert.throws(() => encodeSetConfig(FAMILY, 7, { tcp: -1 }), RangeError);
  assert.throws(() => encodeSetConfig(FAMILY, 7, { tcp: 1.5 }), RangeError);
});

test("GET_INFO and GET_CONFIG replies decode (cmd SET_INFO / SET_CONFIG, top-level attributes)", () => {
  const info = decodeInfo(genlMsg(IPVS_CMD_SET_INFO, "08 00 01 00 01 02 01 00 08 00 02 00 00 10 00 00"));
  assert.deepEqual(info, { ok: true, value: { version: 0x010201, connTabSize: 4096 } });
  assert.equal(ipvsVersionText(0x010201), "1.2.1");
  assert.deepEqual(decodeInfo(genlMsg(IPVS_CMD_SET_INFO, "08 00 01 00 01 02 01 00")), { ok: false, reason: "bad-field", detail: "GET_INFO reply without VERSION or CONN_TAB_SIZE" });
  assert.equal(decodeInfo(genlMsg(IPVS_CMD_GET_INFO, "")).ok, false);
  const cfg = decodeTimeouts(genlMsg(IPVS_CMD_SET_CONFIG, "08 00 04 00 84 03 00 00  08 00 05 00 78 00 00 00  08 00 06 00 2c 01 00 00"));
  assert.deepEqual(cfg, { ok: true, value: { tcp: 900, tcpFin: 120, udp: 300 } });
  assert.deepEqual(decodeTimeouts(genlMsg(IPVS_CMD_SET_CONFIG, "08 00 06 00 2c 01 00 00")), { ok: true, value: { udp: 300 } });
  assert.equal(decodeTimeouts(genlMsg(IPVS_CMD_SET_CONFIG, "06 00 04 00 84 03 00 00")).ok, false); // u32 in 2 bytes
  assert.equal(decodeTimeouts(genlMsg(IPVS_CMD_GET_CONFIG, "")).ok, false);
});

test("canonicalIpvsAddress: RFC 5952 text, as the decoders return IPv6 addresses", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["FD00:0:0:0:0:0:0:A", "fd00::a"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:1:0:0:0:0:1", "0:0:1::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["::", "::"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["fd00:1:2:3:4:5:6::", "fd00:1:2:3:4:5:6:0"],
  ];
  for (const [i, o] of cases) assert.equal(canonicalIpvsAddress(i), o, i);
  for (const bad of ["fe80::1%eth0", "1::2::3", "1:2:3:4:5:6:7:8:9", "fd00::/64", "10.0.0.256", "1.2.3.4::"]) assert.throws(() => canonicalIpvsAddress(bad), RangeError, bad);
  assert.deepEqual(canonicalServiceKey({ protocol: 6, address: "FD00:0::1", port: 80 }), { protocol: 6, address: "fd00::1", port: 80 });
  assert.deepEqual(canonicalServiceKey({ fwmark: 7, family: "inet" }), { fwmark: 7 });
  assert.deepEqual(canonicalServiceKey({ fwmark: 7, family: "inet6" }), { fwmark: 7, family: "inet6" });
  assert.equal(ipvsAddressFamily("fd00::1"), "inet6");
  assert.equal(ipvsAddressFamily("10.0.0.1"), "inet");
  assert.equal(ipvsAddressFamily("x"), undefined);
});

const keyArb = fc.oneof(
  fc.record({ protocol: fc.constantFrom(6, 17, 132), address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ protocol: fc.constantFrom(6, 17, 132), address: fc.ipV6(), port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }) }),
  fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }), family: fc.constant("inet6" as const) }),
);

test("property: services and dests of both families decode back from reply-shaped messages", () => {
  fc.assert(
    fc.property(
      keyArb,
      fc.constantFrom("rr", "wrr", "lc", "wlc", "sh", "mh"),
      fc.integer({ min: 0, max: 0x3f }),
      fc.integer({ min: 0, max: 86400 }),
      fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.integer({ min: 0, max: 65535 }), weight: fc.integer({ min: 0, max: 65535 }) }),
      (key, scheduler, flags, timeout, dest) => {
        const s = decodeService(asReply(encodeNewService(FAMILY, 1, { key: { ...key }, scheduler, flags, timeout }), IPVS_CMD_NEW_SERVICE));
        assert.ok(s.ok, JSON.stringify(s));
        const family = serviceKeyFamily(key);
        const wantKey = canonicalServiceKey(key);
        // what was asked for comes back in `flags`; HASHED (the kernel's) is never sent
        const settable = flags & IP_VS_SVC_F_USER_MASK;
        assert.deepEqual(s.value, { key: wantKey, scheduler, flags: settable, kernelFlags: settable, timeout, netmask: IPVS_DEFAULT_NETMASK[family] });
        const dm = asReply(encodeNewDest(FAMILY, 1, key, { ...dest, fwd: "dr" }), IPVS_CMD_NEW_DEST);
        // a dump reply holds only the DEST nest; decoding ignores the service nest anyway
        const d = decodeDest(dm);
        assert.ok(d.ok, JSON.stringify(d));
        assert.deepEqual(d.value, { ...dest, address: canonicalIpvsAddress(dest.address), fwd: IP_VS_CONN_F_DROUTE, uThresh: 0, lThresh: 0, activeConns: 0, inactConns: 0, persistConns: 0 });
      },
    ),
  );
});

test("property: the IPVS decoders never throw on arbitrary attribute bytes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 17 }), fc.uint8Array({ maxLength: 96 }), (cmd, bytes) => {
      const m = genlMsg(cmd, Buffer.from(bytes).toString("hex"));
      for (const r of [decodeService(m), decodeDest(m), decodeDest(m, "inet6"), decodeInfo(m), decodeTimeouts(m)]) assert.equal(typeof r.ok, "boolean");
    }),
  );
});

// Replies of a real kernel (Debian 12, 6.1 cloud kernel, in the qemu lab) to what
// test/lab/qemu-ipvs.test.ts sent; see fixtures/README.md.
test("kernel replies: IPv4 and IPv6 services decode to what was sent, HASHED only in kernelFlags", () => {
  const tcp6 = decodeService(kernelReply("ipvs-newservice-tcp6.hex"));
  assert.ok(tcp6.ok, tcp6.ok ? "" : `${tcp6.reason} ${tcp6.detail}`);
  const { stats: s1, ...v1 } = tcp6.value;
  assert.deepEqual(v1, { key: { protocol: 6, address: "fd00:78::100", port: 80 }, scheduler: "wrr", flags: 0, kernelFlags: IP_VS_SVC_F_HASHED, timeout: 0, netmask: 128 });
  assert.equal(s1?.conns, 0n);

  const fwm6 = decodeService(kernelReply("ipvs-newservice-fwm6-persistent.hex"));
  assert.ok(fwm6.ok, fwm6.ok ? "" : `${fwm6.reason} ${fwm6.detail}`);
  const { stats: _s2, ...v2 } = fwm6.value;
  // sent: fwmark 7, inet6, rr, PERSISTENT, timeout 120, netmask 64 (NETMASK bytes 40 00 00 00)
  assert.deepEqual(v2, { key: { fwmark: 7, family: "inet6" }, scheduler: "rr", flags: IP_VS_SVC_F_PERSISTENT, kernelFlags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, timeout: 120, netmask: 64 });

  const fwm4 = decodeService(kernelReply("ipvs-newservice-fwm4-sh.hex"));
  assert.ok(fwm4.ok, fwm4.ok ? "" : `${fwm4.reason} ${fwm4.detail}`);
  const { stats: _s3, ...v3 } = fwm4.value;
  // sent: fwmark 7, sh, PERSISTENT|SCHED1|SCHED2, 300 s, 255.255.255.0 (NETMASK bytes ff ff ff 00)
  const flags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2;
  assert.deepEqual(v3, { key: { fwmark: 7 }, scheduler: "sh", flags, kernelFlags: flags | IP_VS_SVC_F_HASHED, timeout: 300, netmask: 0xffffff00 });
});

test("kernel replies: IPv6 destinations, also of an IPv4 service (tunnel), by their ADDR_FAMILY", () => {
  const nat6 = decodeDest(kernelReply("ipvs-newdest-tcp6-nat.hex"), "inet6");
  assert.ok(nat6.ok);
  const { stats: natStats, ...nat6v } = nat6.value;
  // the 6.1 kernel reports the tunnel attributes (zero) for every destination
  assert.deepEqual(nat6v, { address: "fd00:78::b", port: 8080, fwd: 0, weight: 5, uThresh: 100, lThresh: 10, activeConns: 0, inactConns: 0, persistConns: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
  assert.equal(natStats?.inpkts, 0n);
  // the dump of UDP 10.78.1.200:53: its IPv6 tunnel destination, whatever family the caller assumes
  for (const assumed of ["inet", "inet6"] as const) {
    const tun = decodeDest(kernelReply("ipvs-newdest-ipv6-tun-in-udp4.hex"), assumed);
    assert.ok(tun.ok);
    const { stats: _st, ...tunv } = tun.value;
    assert.deepEqual(tunv, { address: "fd00:78::b", port: 53, fwd: 2, weight: 1, uThresh: 0, lThresh: 0, activeConns: 0, inactConns: 0, persistConns: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
  }
});

test("kernel replies: GET_INFO (1.2.1, size 4096) and GET_CONFIG (after ipvsadm --set 1000 100 100)", () => {
  const info = decodeInfo(kernelReply("ipvs-setinfo.hex"));
  assert.deepEqual(info, { ok: true, value: { version: 0x010201, connTabSize: 4096 } });
  assert.equal(ipvsVersionText(0x010201), "1.2.1");
  assert.deepEqual(decodeTimeouts(kernelReply("ipvs-setconfig.hex")), { ok: true, value: { tcp: 1000, tcpFin: 100, udp: 100 } });
  // each is the other's wrong reply
  assert.equal(decodeInfo(kernelReply("ipvs-setconfig.hex")).ok, false);
  assert.equal(decodeTimeouts(kernelReply("ipvs-setinfo.hex")).ok, false);
});

test("tunnel destinations: TUN_TYPE (u8) and TUN_PORT (network order) encode and decode back (GUE 6080)", () => {
  const b = encodeNewDest(FAMILY, 9, { protocol: 6, address: "10.0.0.1", port: 80 }, { address: "10.0.0.2", port: 80, fwd: "tun", weight: 1, tunType: 1, tunPort: 6080 });
  // the DEST nest ends with ADDR_FAMILY, then TUN_TYPE 1 (padded), then TUN_PORT 0x17c0 (6080)
  assert.ok(b.toString("hex").endsWith(hex("06 00 0b 00 02 00 00 00  05 00 0d 00 01 00 00 00  06 00 0e 00 17 c0 00 00")), b.toString("hex"));
  const d = decodeDest(asReply(b, IPVS_CMD_NEW_DEST));
  assert.ok(d.ok);
  assert.deepEqual([d.value.fwd, d.value.tunType, d.value.tunPort], [2, 1, 6080]);
});

test("tunnel destinations: TUN_FLAGS (u16, host order) after TUN_PORT, only when given", () => {
  const b = encodeNewDest(FAMILY, 9, { protocol: 6, address: "10.0.0.1", port: 80 }, { address: "10.0.0.2", port: 80, fwd: "tun", weight: 1, tunType: 1, tunPort: 6080, tunFlags: 2 });
  // ... TUN_PORT 6080, then TUN_FLAGS 2 (REMCSUM) as the kernel reads it (nla_get_u16)
  assert.ok(b.toString("hex").endsWith(hex("06 00 0e 00 17 c0 00 00  06 00 0f 00 02 00 00 00")), b.toString("hex"));
  const d = decodeDest(asReply(b, IPVS_CMD_NEW_DEST));
  assert.ok(d.ok);
  assert.deepEqual([d.value.tunType, d.value.tunPort, d.value.tunFlags], [1, 6080, 2]);
  const none = encodeNewDest(FAMILY, 9, { protocol: 6, address: "10.0.0.1", port: 80 }, { address: "10.0.0.2", port: 80, fwd: "tun", weight: 1, tunType: 2 });
  assert.ok(!none.toString("hex").includes(hex("06 00 0f 00")), "no TUN_FLAGS unless asked: a kernel before 5.3 has none");
});

test("sync daemon: NEW_DAEMON / DEL_DAEMON bytes as libipvs sends them, and the dump decodes back", () => {
  const b = encodeNewDaemon(FAMILY, 3, { role: "backup", ifname: "eth1", syncId: 7 });
  assert.equal(
    b.toString("hex"),
    hex("34000000 2200 0500 03000000 00000000") + // nlmsghdr: len 52, REQUEST|ACK, seq 3
      hex("09 01 00 00") + // genl: NEW_DAEMON, version 1
      hex("20 00 03 00") + // DAEMON nest (no NLA_F_NESTED)
      hex("08 00 01 00 02 00 00 00") + // STATE backup
      hex("09 00 02 00 65 74 68 31 00 00 00 00") + // MCAST_IFN "eth1"
      hex("08 00 03 00 07 00 00 00"), // SYNC_ID 7
  );
  assert.equal(encodeDelDaemon(FAMILY, 4, "master").toString("hex"), hex("20000000 2200 0500 04000000 00000000 0a 01 00 00 0c 00 03 00 08 00 01 00 01 00 00 00"));
  const reply = asReply(b, IPVS_CMD_NEW_DAEMON);
  assert.deepEqual(decodeDaemon(reply), { ok: true, value: { role: "backup", ifname: "eth1", syncId: 7 } });
  assert.throws(() => encodeNewDaemon(FAMILY, 1, { role: "master", ifname: "x".repeat(16), syncId: 0 }), /interface name/);
  assert.throws(() => encodeNewDaemon(FAMILY, 1, { role: "master", ifname: "eth0", syncId: 256 }), /0\.\.255/);
});
