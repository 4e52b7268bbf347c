import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AUTH_NONE,
  AUTH_PASS,
  decodeAdvert,
  decodeVrrpPacket,
  encodeAdvert,
  passAuthData,
  vrrpChecksum,
  type VrrpAdvert,
} from "../../../../src/daemon/vrrp/packet.js";
import { decodeIpv4Header, encodeIpv4Header, internetChecksum } from "../../../../src/daemon/net/ipv4.js";

const hex = (s: string) => Buffer.from(s.replace(/[^0-9a-f]/gi, ""), "hex");

// Golden vectors: Debian's keepalived 2.2.7 (`keepalived --vrrp`) in a network namespace,
// interface ka0 10.99.7.1/24, captured on the veth peer with `tcpdump -i kb0 -xx -c 2 vrrp`
// (Ethernet header removed). What a raw IPv4 socket delivers is exactly these bytes.
//
// v2: vrid 51, priority 150, advert_int 1, auth_type PASS, auth_pass secret12,
//     virtual_ipaddress 10.99.7.100/24 and 10.99.7.101/24.
const KEEPALIVED_V2 = hex(
  "45c0 002c 0001 0000 ff70 c92a 0a63 0701 e000 0012" + // IPv4: TOS 0xc0, TTL 255, proto 112
    "2133 9602 0101 b6bb 0a63 0764 0a63 0765 7365 6372 6574 3132",
);
// v3: version 3, vrid 52, priority 120, advert_int 0.5 (50 cs), one VIP 10.99.7.110/24.
// keepalived's default checksum covers the IPv4 pseudo-header.
const KEEPALIVED_V3 = hex("45c0 0020 0001 0000 ff70 c936 0a63 0701 e000 0012" + "3134 7801 0032 52d4 0a63 076e");

test("keepalived v2 PASS advert decodes, and we encode the same bytes", () => {
  const r = decodeVrrpPacket(KEEPALIVED_V2, { version: 2, auth: { type: AUTH_PASS, data: passAuthData("secret12") } });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.advert, {
    version: 2,
    type: 1,
    vrid: 51,
    priority: 150,
    addresses: ["10.99.7.100", "10.99.7.101"],
    authType: AUTH_PASS,
    authData: Buffer.from("secret12"),
    advertIntSec: 1,
  });
  assert.equal(r.value.ip.src, "10.99.7.1");
  assert.equal(r.value.ip.dst, "224.0.0.18");
  assert.equal(r.value.ip.ttl, 255);
  assert.deepEqual(encodeAdvert(r.value.advert), KEEPALIVED_V2.subarray(20));
});

test("keepalived v3 advert: pseudo-header checksum; we encode the same bytes", () => {
  const r = decodeVrrpPacket(KEEPALIVED_V3);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.checksumMode, "pseudo");
  assert.deepEqual(r.value.advert, { version: 3, type: 1, vrid: 52, priority: 120, addresses: ["10.99.7.110"], maxAdvertIntCs: 50 });
  const ours = encodeAdvert(r.value.advert, { src: "10.99.7.1", dst: "224.0.0.18" });
  assert.deepEqual(ours, KEEPALIVED_V3.subarray(20));
  // Only the message form accepted (v3_checksum_as_v2 peer expected): keepalived's packet fails.
  assert.equal(decodeVrrpPacket(KEEPALIVED_V3, { v3Checksum: ["message"] }).ok, false);
});

test("v3 without the pseudo-header (v3_checksum_as_v2 / RFC 9568)", () => {
  const a: VrrpAdvert = { version: 3, type: 1, vrid: 52, priority: 120, addresses: ["10.99.7.110"], maxAdvertIntCs: 50 };
  const msg = encodeAdvert(a, { checksum: "message" });
  assert.equal(internetChecksum(msg), 0); // message-only checksum verifies on its own
  assert.notEqual(msg.readUInt16BE(6), 0x52d4);
  const d = decodeAdvert(msg, { src: "10.99.7.1", dst: "224.0.0.18" });
  assert.ok(d.ok);
  assert.equal(d.value.checksumMode, "message");
  assert.equal(decodeAdvert(msg, { src: "10.99.7.1", dst: "224.0.0.18", v3Checksum: ["pseudo"] }).ok, false);
  // pseudo-header form needs addresses on both sides
  assert.throws(() => encodeAdvert(a));
  assert.equal(decodeAdvert(KEEPALIVED_V3.subarray(20)).ok, false); // no src/dst: pseudo cannot be checked
});

test("the IPv4 header of the capture: decode, checksum, and re-encode", () => {
  const h = decodeIpv4Header(KEEPALIVED_V2);
  assert.ok(h.ok);
  assert.deepEqual(
    encodeIpv4Header({ src: h.value.src, dst: h.value.dst, protocol: 112, payloadLength: 24, tos: 0xc0, id: 1, dontFragment: false }),
    KEEPALIVED_V2.subarray(0, 20),
  );
  assert.equal(internetChecksum(KEEPALIVED_V2.subarray(0, 20)), 0);
});

test("receive checks run in order, each with its reason", () => {
  const pass = { version: 2 as const, auth: { type: AUTH_PASS, data: passAuthData("secret12") } };
  const mut = (f: (b: Buffer) => void, fixIpSum = true) => {
    const b = Buffer.from(KEEPALIVED_V2);
    f(b);
    if (fixIpSum) {
      b.writeUInt16BE(0, 10);
      b.writeUInt16BE(internetChecksum(b.subarray(0, 20)), 10);
    }
    return b;
  };
  const fixVrrpSum = (b: Buffer) => b.writeUInt16BE(vrrpChecksum(b.subarray(20), { version: 2 }), 26);
  const reason = (b: Buffer, o: object = pass) => {
    const r = decodeVrrpPacket(b, o);
    return r.ok ? "ok" : r.reason;
  };
  assert.equal(reason(KEEPALIVED_V2.subarray(0, 10)), "short");
  assert.equal(reason(KEEPALIVED_V2.subarray(0, 40)), "bad-length"); // IP total length 44 != 40 read
  assert.equal(reason(mut((b) => (b[8] = 64))), "bad-ttl");
  assert.equal(reason(mut((b) => (b[8] = 64)), { ...pass, checkTtl: false }), "ok");
  assert.equal(reason(mut((b) => (b[9] = 17))), "bad-protocol");
  assert.equal(reason(mut((b) => (b[20] = 0x41))), "bad-version");
  assert.equal(reason(mut((b) => (b[20] = 0x31))), "bad-version"); // expected v2
  assert.equal(reason(mut((b) => (b[22] = 151))), "bad-checksum");
  assert.equal(reason(mut((b) => ((b[20] = 0x22), fixVrrpSum(b)))), "bad-type");
  assert.equal(reason(mut((b) => ((b[23] = 3), fixVrrpSum(b)))), "bad-count");
  assert.equal(reason(mut((b) => ((b[36] = 0x53), fixVrrpSum(b)))), "bad-auth"); // password "Secret12"
  assert.equal(reason(mut((b) => ((b[24] = AUTH_NONE), fixVrrpSum(b)))), "bad-auth");
  assert.equal(reason(mut((b) => b.writeUInt8(b.readUInt8(11) ^ 1, 11), false)), "bad-checksum"); // IP header checksum
  // TTL is checked before the VRRP checksum: a packet wrong in both says bad-ttl.
  assert.equal(reason(mut((b) => ((b[8] = 1), (b[22] = 1)))), "bad-ttl");
});

const advertArb: fc.Arbitrary<VrrpAdvert> = fc.oneof(
  fc.record({
    version: fc.constant(2 as const),
    type: fc.constant(1),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    addresses: fc.array(fc.ipV4(), { maxLength: 20 }),
    authType: fc.constantFrom(AUTH_NONE, AUTH_PASS),
    authData: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u)),
    advertIntSec: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    version: fc.constant(3 as const),
    type: fc.constant(1),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    addresses: fc.array(fc.ipV4(), { maxLength: 20 }),
    maxAdvertIntCs: fc.integer({ min: 1, max: 4095 }),
  }),
);

test("property: encode then decode is the identity (v2, v3 both checksum forms), through an IP header", () => {
  fc.assert(
    fc.property(advertArb, fc.ipV4(), fc.constantFrom("pseudo" as const, "message" as const), (a, src, mode) => {
      const msg = encodeAdvert(a, { src, dst: "224.0.0.18", checksum: mode });
      const ip = encodeIpv4Header({ src, dst: "224.0.0.18", protocol: 112, payloadLength: msg.length });
      const r = decodeVrrpPacket(Buffer.concat([ip, msg]));
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.value.advert, { ...a });
      assert.equal(r.value.checksumMode, a.version === 2 ? "message" : mode);
    }),
  );
});

test("encode rejects values that cannot be on the wire", () => {
  const v2: VrrpAdvert = { version: 2, type: 1, vrid: 1, priority: 100, addresses: [], authType: 0, authData: Buffer.alloc(8), advertIntSec: 1 };
  assert.throws(() => encodeAdvert({ ...v2, authData: Buffer.alloc(4) }), RangeError);
  assert.throws(() => encodeAdvert({ ...v2, advertIntSec: 256 }), RangeError);
  assert.throws(() => encodeAdvert({ version: 3, type: 1, vrid: 1, priority: 1, addresses: [], maxAdvertIntCs: 4096 }, { checksum: "message" }), RangeError);
  assert.throws(() => encodeAdvert({ ...v2, addresses: ["10.0.0.256"] }), RangeError);
  assert.deepEqual(passAuthData("averylongpassword"), Buffer.from("averylon"));
  assert.deepEqual(passAuthData("abc"), Buffer.from("abc\0\0\0\0\0"));
});
