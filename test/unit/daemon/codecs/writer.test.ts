// The in-place writer (netlink/writer.ts) against the encoders that build attribute by attribute:
// the same bytes for every IPVS write, and a batch written in place equal to encodeBatch's.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  attr,
  attrBe16,
  attrNested,
  attrString,
  attrU16,
  attrU32,
  attrU8,
  BatchWriter,
  encodeBatch,
  encodeDelDest,
  encodeMessage,
  encodeNewDest,
  encodeNewService,
  encodeSetDest,
  IPVS_CMD_DEL_DEST,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IPVS_CMD_SET_DEST,
  ipv4Number,
  NlWriter,
  serviceNest,
  writeDestRequest,
  writeServiceRequest,
  type DestSpec,
  type ServiceKey,
  type ServiceSpec,
} from "../../../../src/daemon/netlink/index.js";
import { isIpv4 } from "../../../../src/daemon/net/ipv4.js";

test("NlWriter writes the same bytes as the one-attribute-at-a-time encoders", () => {
  const w = new NlWriter(64); // small: it must grow
  const m = w.begin(0x22, 5, 7, 9);
  w.genl(1, 1);
  const n = w.nest(3);
  w.u8(1, 0xab);
  w.u16(2, 0x1234);
  w.be16(3, 0x1234);
  w.u32(4, 0xdeadbeef);
  w.string(5, "wrr");
  w.bytes(6, Buffer.from([1, 2, 3]));
  assert.equal(w.ipv4(7, "10.1.2.3", 12), true);
  assert.equal(w.ipv4(7, "10.1.2", 12), false);
  w.nestEnd(n);
  w.end(m);
  const nest = attrNested(3, [attrU8(1, 0xab), attrU16(2, 0x1234), attrBe16(3, 0x1234), attrU32(4, 0xdeadbeef), attrString(5, "wrr"), attr(6, Buffer.from([1, 2, 3])), attr(7, Buffer.from([10, 1, 2, 3, ...new Array<number>(12).fill(0)]))], { flag: false });
  const want = encodeMessage({ type: 0x22, flags: 5, seq: 7, pid: 9, payload: Buffer.concat([Buffer.from([1, 1, 0, 0]), nest]) });
  assert.equal(w.view().toString("hex"), want.toString("hex"));
});

test("ipv4Number accepts exactly what isIpv4 accepts", () => {
  for (const s of ["0.0.0.0", "255.255.255.255", "10.0.0.1", "1.2.3.04", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", ".1.2.3", "1.2.3.", "a.b.c.d", "", "01.2.3.4", "1.2.3.4 "]) {
    assert.equal(ipv4Number(s) >= 0, isIpv4(s), s);
  }
  assert.equal(ipv4Number("10.1.2.3"), 0x0a010203);
  assert.equal(ipv4Number("255.255.255.255"), 0xffffffff);
  fc.assert(fc.property(fc.ipV4(), (s) => ipv4Number(s) === Buffer.from(s.split(".").map(Number)).readUInt32BE(0)));
  fc.assert(fc.property(fc.string({ maxLength: 16 }), (s) => (ipv4Number(s) >= 0) === isIpv4(s)));
});

test("a batch written in place is byte for byte encodeBatch of the requests encoded one by one, across datagrams", () => {
  const F = 0x1c;
  const keys: ServiceKey[] = [{ protocol: 6, address: "10.0.0.1", port: 80 }, { protocol: 17, address: "fd00::1", port: 53 }, { fwmark: 7 }, { fwmark: 8, family: "inet6" }];
  const svc = (key: ServiceKey): ServiceSpec => ({ key, scheduler: "wrr", flags: 1, timeout: 300, ...("fwmark" in key && key.family === "inet6" ? { netmask: 64 } : {}) });
  const dest = (i: number): DestSpec => ({ address: i % 3 === 0 ? `fd00::${i + 1}` : `10.9.0.${i + 1}`, port: 80, fwd: i % 2 ? "tun" : "dr", weight: i, ...(i % 2 ? { tunType: 1, tunPort: 6080, tunFlags: 1 } : {}), uThresh: i * 10 });
  const one: Buffer[] = [];
  const writes: ((w: NlWriter) => void)[] = [];
  let seq = 100;
  for (const key of keys) {
    const s = seq++;
    one.push(encodeNewService(F, s, svc(key)));
    writes.push((w) => writeServiceRequest(w, F, s, IPVS_CMD_NEW_SERVICE, svc(key)));
    const nest = serviceNest(key, false);
    for (let i = 0; i < 12; i++) {
      const q = seq++;
      const [cmd, enc] = i % 3 === 0 ? [IPVS_CMD_NEW_DEST, encodeNewDest] : i % 3 === 1 ? [IPVS_CMD_SET_DEST, encodeSetDest] : [IPVS_CMD_DEL_DEST, encodeDelDest];
      one.push(enc(F, q, key, dest(i)));
      writes.push((w) => writeDestRequest(w, F, q, cmd as typeof IPVS_CMD_NEW_DEST, key, cmd === IPVS_CMD_DEL_DEST ? { address: dest(i).address, port: 80 } : dest(i), i % 2 ? nest : undefined));
    }
  }
  for (const acks of ["errors", "each"] as const) {
    for (const maxBytes of [500, 4096, 65536]) {
      const want = encodeBatch(one, { maxBytes, acks });
      const b = new BatchWriter({ maxBytes, acks });
      for (const write of writes) b.add(write);
      assert.equal(b.count, one.length);
      const got = b.finish();
      assert.deepEqual({ ...got, datagrams: got.datagrams.map((d) => d.toString("hex")) }, { ...want, datagrams: want.datagrams.map((d) => d.toString("hex")) }, `${acks} ${maxBytes}`);
    }
  }
});

test("a write that throws leaves nothing of itself in the batch", () => {
  const b = new BatchWriter({ maxBytes: 65536, acks: "errors" });
  b.add((w) => writeServiceRequest(w, 0x1c, 1, IPVS_CMD_NEW_SERVICE, { key: { fwmark: 1 }, scheduler: "rr" }));
  assert.throws(() => b.add((w) => writeDestRequest(w, 0x1c, 2, IPVS_CMD_NEW_DEST, { fwmark: 1 }, { address: "not-an-address", port: 1, fwd: "dr", weight: 1 })), /not an IPv4 or IPv6 address/);
  assert.throws(() => b.add((w) => writeServiceRequest(w, 0x1c, 3, IPVS_CMD_NEW_SERVICE, { key: { fwmark: 9, family: "inet6" }, scheduler: "rr", netmask: 0 })), /prefix length/);
  b.add((w) => writeServiceRequest(w, 0x1c, 4, IPVS_CMD_NEW_SERVICE, { key: { fwmark: 2 }, scheduler: "rr" }));
  const got = b.finish();
  const want = encodeBatch([encodeNewService(0x1c, 1, { key: { fwmark: 1 }, scheduler: "rr" }), encodeNewService(0x1c, 4, { key: { fwmark: 2 }, scheduler: "rr" })], { maxBytes: 65536, acks: "errors" });
  assert.deepEqual(got.seqs, [1, 4]);
  assert.equal(got.datagrams[0]!.toString("hex"), want.datagrams[0]!.toString("hex"));
});
