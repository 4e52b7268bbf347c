import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeDest,
  decodeMessages,
  decodeService,
  encodeDelDest,
  encodeGetDests,
  encodeGetServices,
  encodeNewDest,
  encodeNewService,
  encodeMessage,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IP_VS_CONN_F_DROUTE,
  type NlMessage,
} from "../../../../src/daemon/netlink/index.js";

const hex = (s: string) => s.replace(/[^0-9a-f]/gi, "");
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

test("dest commands carry the service nest; DEL_DEST only addr and port", () => {
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
  assert.equal(destPart(dd), hex("20 00 02 00 14 00 01 00 c0a8010a 000000000000000000000000 06 00 02 00 00 50 00 00"));
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

test("property: services and dests decode back from reply-shaped messages", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.record({ protocol: fc.constantFrom(6, 17, 132), address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) }),
        fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }) }),
      ),
      fc.constantFrom("rr", "wrr", "lc", "wlc", "sh", "mh"),
      fc.integer({ min: 0, max: 0x3f }),
      fc.integer({ min: 0, max: 86400 }),
      fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }), weight: fc.integer({ min: 0, max: 65535 }) }),
      (key, scheduler, flags, timeout, dest) => {
        const s = decodeService(asReply(encodeNewService(FAMILY, 1, { key: { ...key }, scheduler, flags, timeout }), IPVS_CMD_NEW_SERVICE));
        assert.ok(s.ok, JSON.stringify(s));
        assert.deepEqual(s.value, { key: { ...key }, scheduler, flags, timeout, netmask: 0xffffffff });
        const dm = asReply(encodeNewDest(FAMILY, 1, key, { ...dest, fwd: "dr" }), IPVS_CMD_NEW_DEST);
        // a dump reply holds only the DEST nest; decoding ignores the service nest anyway
        const d = decodeDest(dm);
        assert.ok(d.ok, JSON.stringify(d));
        assert.deepEqual(d.value, { ...dest, fwd: IP_VS_CONN_F_DROUTE, uThresh: 0, lThresh: 0, activeConns: 0, inactConns: 0, persistConns: 0 });
      },
    ),
  );
});
