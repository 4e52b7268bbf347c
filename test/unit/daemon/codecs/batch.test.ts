// Batched netlink requests: the pure packing (exact bytes), the connection's batch over a fake
// kernel that walks a datagram the way netlink_rcv_skb does (every message run in order, an answer
// when NLM_F_ACK is set or the message failed), and the IPVS client and reconciler on top, whose
// log must still name the operation a kernel error belongs to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AF_NETLINK } from "../../../../src/daemon/native/constants.js";
import { errnoError, FakeSocket } from "../../../../src/daemon/native/fake.js";
import {
  decodeMessages,
  encodeBatch,
  encodeDone,
  encodeError,
  encodeMessage,
  IPVS_CMD_NEW_DEST,
  destNest,
  NetlinkConnection,
  NLM_F_MULTI,
  serviceNest,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  type NlMessage,
} from "../../../../src/daemon/netlink/index.js";
import { BATCH_MAX, NetlinkIpvsClient, type IpvsOp } from "../../../../src/daemon/ipvs/index.js";
import { IpvsReconciler } from "../../../../src/daemon/ipvs/reconciler.js";
import { createLogger, type LogRecord } from "../../../../src/daemon/log.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** A kernel that answers like netlink_rcv_skb: `fail` gives each message's errno (0: success),
 * counted across the whole conversation. Dumps (none expected in a batch) get an empty DONE. */
function rcvSkbKernel(sock: FakeSocket, fail: (m: NlMessage, n: number) => number = () => 0): { messages: NlMessage[]; datagrams: number } {
  const seen = { messages: [] as NlMessage[], datagrams: 0 };
  sock.respond = (d) => {
    seen.datagrams++;
    const msgs = decodeMessages(d.data);
    assert.ok(msgs.ok);
    for (const m of msgs.value) {
      const n = seen.messages.length;
      seen.messages.push(m);
      if ((m.flags & NLM_F_DUMP) === NLM_F_DUMP) {
        sock.deliver(encodeDone(m.seq), { pid: 0, groups: 0 });
        continue;
      }
      const errno = fail(m, n);
      const header = { length: 16 + m.payload.length, type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
      if (m.flags & NLM_F_ACK || errno) sock.deliver(encodeError(errno, header), { pid: 0, groups: 0 });
    }
  };
  return seen;
}

const msg = (seq: number, body: string) => encodeMessage({ type: 0x20, flags: NLM_F_REQUEST | NLM_F_ACK, seq, payload: hex(body) });

test("encodeBatch packs whole messages into datagrams and sets NLM_F_ACK per mode, leaving the input alone", () => {
  const input = [msg(1, "01000000"), msg(2, "02000000"), msg(3, "03000000")];
  const before = input.map((b) => Buffer.from(b));
  // 20 bytes a message, 40 a datagram: [1, 2] and [3]; "errors" acks the last of each datagram only
  const b = encodeBatch(input, { maxBytes: 40, acks: "errors" });
  assert.deepEqual(b.starts, [0, 2]);
  assert.deepEqual(b.seqs, [1, 2, 3]);
  assert.deepEqual(b.acked, [false, true, true]);
  assert.deepEqual(
    b.datagrams.map((d) => d.toString("hex")),
    [
      "14000000" + "2000" + "0100" + "01000000" + "00000000" + "01000000" + // REQUEST only
        "14000000" + "2000" + "0500" + "02000000" + "00000000" + "02000000", // REQUEST|ACK
      "14000000" + "2000" + "0500" + "03000000" + "00000000" + "03000000",
    ],
  );
  assert.deepEqual(input, before);
  const each = encodeBatch(input, { maxBytes: 1 << 16, acks: "each" });
  assert.equal(each.datagrams.length, 1);
  assert.deepEqual(each.acked, [true, true, true]);
  // a message larger than maxBytes goes alone; a short or unaligned one is refused
  assert.deepEqual(encodeBatch([msg(1, "0000000000000000"), msg(2, "00000000")], { maxBytes: 8, acks: "errors" }).starts, [0, 1]);
  assert.throws(() => encodeBatch([Buffer.alloc(12)], { maxBytes: 100, acks: "errors" }), /shorter than nlmsghdr/);
  assert.throws(() => encodeBatch([Buffer.concat([msg(1, ""), Buffer.alloc(2)])], { maxBytes: 100, acks: "errors" }), /aligned/);
});

test("requestBatch: one answer per request in order; a failure answers alone and the requests after it still run", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  // the 4th and the very last request fail
  const kernel = rcvSkbKernel(sock, (_m, n) => (n === 3 ? 17 : n === 599 ? 2 : 0));
  const conn = new NetlinkConnection(sock);
  const reqs = Array.from({ length: 600 }, () => msg(conn.nextSeq(), "00000000"));
  const r = await conn.requestBatch(reqs, { maxBytes: 4096 });
  assert.equal(r.length, 600);
  assert.deepEqual(r.flatMap((x, i) => (x.ok ? [] : [[i, x.code]])), [[3, "EEXIST"], [599, "ENOENT"]]);
  // 600 x 20 bytes in 4096-byte datagrams: 3 datagrams, every message run by the kernel
  assert.equal(kernel.datagrams, 3);
  assert.equal(kernel.messages.length, 600);
  // only the last message of each datagram asked for an ACK
  assert.equal(kernel.messages.filter((m) => m.flags & NLM_F_ACK).length, 3);
  // the connection forgot the batch: a late answer is just an event now
  const again = await conn.requestBatch([msg(conn.nextSeq(), "00000000")], { acks: "each" });
  assert.deepEqual(again.map((x) => x.ok), [true]);
  conn.close();
});

test("requestBatch acks 'each': every request answers; the answers arrive after the send, as from a real socket", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  const conn = new NetlinkConnection(sock);
  const sent: NlMessage[] = [];
  sock.respond = (d) => {
    const msgs = decodeMessages(d.data);
    assert.ok(msgs.ok);
    for (const m of msgs.value) sent.push(m);
    // answered on a later turn of the loop, errno 22 for the second one
    setImmediate(() => {
      for (const [i, m] of msgs.value.entries()) sock.deliver(encodeError(i === 1 ? 22 : 0, { length: 20, type: m.type, flags: m.flags, seq: m.seq, pid: 0 }), { pid: 0, groups: 0 });
    });
  };
  const r = await conn.requestBatch([msg(conn.nextSeq(), "00000000"), msg(conn.nextSeq(), "00000000"), msg(conn.nextSeq(), "00000000")], { acks: "each" });
  assert.deepEqual(r.map((x) => (x.ok ? "ok" : x.code)), ["ok", "EINVAL", "ok"]);
  assert.ok(sent.every((m) => m.flags & NLM_F_ACK));
  conn.close();
});

test("requestBatch: lost answers (ENOBUFS), a failed send, a timeout, close and bad input end as values", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  const conn = new NetlinkConnection(sock, { timeoutMs: 30 });
  // the receive buffer overflowed: the batch ends at once, the outcome of each request unknown
  const lost = conn.requestBatch([msg(conn.nextSeq(), "00000000"), msg(conn.nextSeq(), "00000000")]);
  sock.deliverError(errnoError("ENOBUFS", 105, "recvmsg"));
  assert.deepEqual((await lost).map((x) => (x.ok ? "ok" : x.code)), ["ENOBUFS", "ENOBUFS"]);
  // the second datagram cannot be sent: its requests fail with the send's errno, the first's answer
  let sends = 0;
  rcvSkbKernel(sock);
  const respond = sock.respond!;
  sock.respond = (d, s) => {
    sends++;
    respond(d, s);
    if (sends === 1) sock.failNextSend = errnoError("ENOMEM", 12, "sendto");
  };
  const partly = await conn.requestBatch([msg(conn.nextSeq(), "00000000"), msg(conn.nextSeq(), "00000000"), msg(conn.nextSeq(), "00000000")], { maxBytes: 40 });
  assert.deepEqual(partly.map((x) => (x.ok ? "ok" : x.code)), ["ok", "ok", "ENOMEM"]);
  // no answer at all
  sock.respond = undefined;
  assert.deepEqual((await conn.requestBatch([msg(conn.nextSeq(), "00000000")])).map((x) => !x.ok && x.code), ["ETIMEDOUT"]);
  // a dump, a reused seq, seq 0: refused before anything is sent
  const n = sock.sent.length;
  const dump = encodeMessage({ type: 0x20, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: conn.nextSeq() });
  assert.match(((await conn.requestBatch([dump]))[0] as { message?: string }).message ?? "", /is a dump/);
  const s = conn.nextSeq();
  assert.deepEqual((await conn.requestBatch([msg(s, ""), msg(s, "")])).map((x) => !x.ok && x.code), ["EINVAL", "EINVAL"]);
  assert.deepEqual((await conn.requestBatch([msg(0, "")])).map((x) => !x.ok && x.code), ["EINVAL"]);
  assert.equal(sock.sent.length, n);
  // close cancels a batch in flight
  const pending = conn.requestBatch([msg(conn.nextSeq(), "00000000")]);
  conn.close();
  assert.deepEqual((await pending).map((x) => !x.ok && x.code), ["ECANCELED"]);
});

const key = (s: number) => ({ protocol: 6, address: `10.0.${s >> 8}.${s & 255}`, port: 80 });
const ops = (services: number, reals: number): IpvsOp[] =>
  Array.from({ length: services }, (_, s): IpvsOp[] => [
    { kind: "add-service", service: { key: key(s), scheduler: "wrr", flags: 0, timeout: 0, netmask: 0xffffffff } },
    ...Array.from({ length: reals }, (_, r): IpvsOp => ({ kind: "add-dest", key: key(s), dest: { address: `10.1.${s}.${r + 1}`, port: 80, fwd: 3, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0 } })),
  ]).flat();

test("NetlinkIpvsClient.applyAll: batches of BATCH_MAX, one result per operation in order", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  // the kernel refuses the 300th write (a NEW_DEST) with ENOMEM
  const kernel = rcvSkbKernel(sock, (_m, n) => (n === 299 ? 12 : 0));
  const client = new NetlinkIpvsClient(new NetlinkConnection(sock), 42);
  const all = ops(60, 9); // 600 writes
  const r = await client.applyAll(all);
  assert.equal(r.length, 600);
  assert.deepEqual(r.flatMap((x, i) => (x.ok ? [] : [[i, x.code]])), [[299, "ENOMEM"]]);
  assert.equal(kernel.messages[299]!.payload[0], IPVS_CMD_NEW_DEST);
  // ceil(600 / 256) batches, each sent as one datagram (256 writes of ~100 bytes fit in 64 KiB)
  assert.equal(kernel.datagrams, Math.ceil(600 / BATCH_MAX));
  assert.ok(kernel.messages.every((m) => m.type === 42));
  // one write, one wait: the old behaviour, for comparison in bench/ipvs
  const one = new NetlinkIpvsClient(new NetlinkConnection(new FakeSocket(AF_NETLINK)), 42, { batchMax: 1, acks: "each" });
  rcvSkbKernel((one.conn.socket as FakeSocket));
  assert.deepEqual((await one.applyAll(all.slice(0, 3))).map((x) => x.ok), [true, true, true]);
  assert.equal((one.conn.socket as FakeSocket).sent.length, 3);
  client.close();
  one.close();
});

test("the reconciler over the real client: a kernel error in the middle of a batch is logged with its own operation", async () => {
  const sock = new FakeSocket(AF_NETLINK);
  // message 0 is the pass's dump; then 3 x (service, 2 real servers). The kernel has no such
  // scheduler module for the second service (ENOENT), so its real servers fail after it (ESRCH);
  // everything else is written
  rcvSkbKernel(sock, (_m, n) => (n === 4 ? 2 : n === 5 || n === 6 ? 3 : 0));
  const logs: LogRecord[] = [];
  const rec = new IpvsReconciler(new NetlinkIpvsClient(new NetlinkConnection(sock), 42), createLogger({ level: "debug", sink: (l) => logs.push(l) }));
  const dest = (s: number, r: number) => ({ address: `10.1.${s}.${r}`, port: 80, fwd: 3, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
  const table = [0, 1, 2].map((s) => ({ service: { key: key(s), scheduler: "wrr", flags: 0, timeout: 0, netmask: 0xffffffff }, dests: [dest(s, 1), dest(s, 2)] }));
  rec.setWanted(table);
  const rep = await rec.pass("start");
  assert.deepEqual([rep.ops, rep.failed, rep.ok], [9, 3, false]);
  assert.deepEqual(
    logs.filter((l) => l.msg === "IPVS write failed").map((l) => [l.op, l.code]),
    [
      ["add-service TCP 10.0.0.1:80 wrr", "ENOENT"],
      ["add-dest TCP 10.0.0.1:80 -> 10.1.1.1:80 weight 1", "ESRCH"],
      ["add-dest TCP 10.0.0.1:80 -> 10.1.1.2:80 weight 1", "ESRCH"],
    ],
  );
  assert.equal(logs.filter((l) => l.msg === "IPVS").length, 6);
  assert.equal(rec.counters.writeErrors, 3);
});

test("NetlinkIpvsClient.dump: destination dumps side by side over its dump connections, entries in the kernel's order; none for services destsOf declines", async () => {
  const F = 42;
  const svcs = [0, 1, 2, 3, 4].map((s) => ({ key: { protocol: 6, address: `10.0.0.${s + 1}`, port: 80 }, scheduler: "wrr" }));
  const reply = (cmd: number, seq: number, nest: Buffer) => encodeMessage({ type: F, flags: NLM_F_MULTI, seq, payload: Buffer.concat([Buffer.from([cmd, 1, 0, 0]), nest]) });
  const asked: string[] = [];
  // every socket answers GET_SERVICE with the five services and GET_DEST with two real servers of
  // the service asked (the key's last byte of address names it)
  const kernel = (name: string) => (sock: FakeSocket) => {
    sock.respond = (d) => {
      const m = decodeMessages(d.data);
      assert.ok(m.ok);
      for (const q of m.value) {
        assert.equal((q.flags & NLM_F_DUMP) === NLM_F_DUMP, true);
        if (q.payload[0] === 4) sock.deliver(Buffer.concat([...svcs.map((s) => reply(1, q.seq, serviceNest(s, true))), encodeDone(q.seq)]));
        else {
          const s = q.payload[4 + 4 + 8 + 8 + 4 + 3]!; // the address's last byte in the key nest
          asked.push(`${name}:${s}`);
          const dests = [1, 2].map((r) => reply(5, q.seq, destNest({ address: `10.1.${s}.${r}`, port: 80, fwd: "dr", weight: r }, true)));
          sock.deliver(Buffer.concat(dests));
          sock.deliver(encodeDone(q.seq));
        }
      }
    };
    return sock;
  };
  const main = kernel("main")(new FakeSocket(AF_NETLINK));
  const extra = [kernel("x1")(new FakeSocket(AF_NETLINK)), kernel("x2")(new FakeSocket(AF_NETLINK))];
  const client = new NetlinkIpvsClient(new NetlinkConnection(main), F, { dumpConns: extra.map((s) => new NetlinkConnection(s)) });
  const r = await client.dump((k) => !("address" in k) || k.address !== "10.0.0.3");
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((e) => ["address" in e.service.key ? e.service.key.address : "", e.dests.map((d) => `${d.address}/${d.weight}`).sort()]),
    [
      ["10.0.0.1", ["10.1.1.1/1", "10.1.1.2/2"]],
      ["10.0.0.2", ["10.1.2.1/1", "10.1.2.2/2"]],
      ["10.0.0.3", []],
      ["10.0.0.4", ["10.1.4.1/1", "10.1.4.2/2"]],
      ["10.0.0.5", ["10.1.5.1/1", "10.1.5.2/2"]],
    ],
  );
  // four GET_DEST dumps (not the declined service's), spread over the three sockets
  assert.deepEqual(asked.map((a) => a.split(":")[1]).sort(), ["1", "2", "4", "5"]);
  assert.deepEqual(new Set(asked.map((a) => a.split(":")[0])), new Set(["main", "x1", "x2"]));
  client.close();
  assert.ok(extra.every((s) => s.closed));
});
