import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  decodeArpFrame,
  encodeGratuitousArp,
  isGratuitous,
  parseMac,
} from "../../../../src/daemon/arp/index.js";

// keepalived 2.2.7 announcing VIP 10.99.7.100 on becoming master (interface MAC 22:a5:d7:f9:ab:4c),
// captured with `tcpdump -xx arp` on the veth peer in a network-namespace pair.
const KEEPALIVED_GARP = Buffer.from(
  "ffffffffffff22a5d7f9ab4c0806" + "0001080006040001" + "22a5d7f9ab4c0a630764" + "ffffffffffff0a630764",
  "hex",
);

test("gratuitous ARP request is byte-identical to keepalived's (42 bytes)", () => {
  const f = encodeGratuitousArp({ mac: "22:a5:d7:f9:ab:4c", ip: "10.99.7.100" });
  assert.equal(f.length, 42);
  assert.deepEqual(f, KEEPALIVED_GARP);
  const d = decodeArpFrame(KEEPALIVED_GARP);
  assert.ok(d.ok);
  assert.equal(d.value.op, ARPOP_REQUEST);
  assert.equal(d.value.senderIp, "10.99.7.100");
  assert.ok(isGratuitous(d.value));
});

test("reply form (arping -A): oper 2, target MAC = sender MAC", () => {
  const f = encodeGratuitousArp({ mac: parseMac("02-00-00-00-00-01"), ip: "192.168.5.9", form: "reply" });
  assert.equal(
    f.toString("hex"),
    "ffffffffffff" + "020000000001" + "0806" + "0001080006040002" + "020000000001" + "c0a80509" + "020000000001" + "c0a80509",
  );
  const d = decodeArpFrame(f);
  assert.ok(d.ok && d.value.op === ARPOP_REPLY && isGratuitous(d.value));
});

test("decoder: reasons for short, non-ARP and non-Ethernet/IPv4 frames; padding allowed", () => {
  assert.deepEqual(decodeArpFrame(KEEPALIVED_GARP.subarray(0, 41)).ok, false);
  assert.equal((decodeArpFrame(KEEPALIVED_GARP.subarray(0, 41)) as { reason: string }).reason, "short");
  const ip = Buffer.from(KEEPALIVED_GARP);
  ip.writeUInt16BE(0x0800, 12);
  assert.equal((decodeArpFrame(ip) as { reason: string }).reason, "bad-type");
  const hlen = Buffer.from(KEEPALIVED_GARP);
  hlen[18] = 8;
  assert.equal((decodeArpFrame(hlen) as { reason: string }).reason, "bad-field");
  assert.ok(decodeArpFrame(Buffer.concat([KEEPALIVED_GARP, Buffer.alloc(18)])).ok); // 60-byte minimum frame
  assert.throws(() => parseMac("02:00:00:00:00"), RangeError);
});

test("property: encode/decode round trip", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.ipV4(), fc.constantFrom("request" as const, "reply" as const), (m, ip, form) => {
      const mac = Buffer.from(m);
      const d = decodeArpFrame(encodeGratuitousArp({ mac, ip, form }));
      assert.ok(d.ok);
      assert.deepEqual(d.value.senderMac, mac);
      assert.deepEqual(d.value.ethSrc, mac);
      assert.equal(d.value.targetIp, ip);
      assert.equal(d.value.op, form === "request" ? 1 : 2);
    }),
  );
});
