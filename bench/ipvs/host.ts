// lvsd's own work for a large IPVS table, on this host, without a kernel: the config parse, the
// wanted table, one start pass onto an empty table (11,000 writes for 1,000 x 10) and one
// no-change pass (the dump and the diff), against a fake IPVS kernel that answers like the real
// one (dumps packed into datagrams of about 16 KiB, with the counters' nests the kernel sends, an
// answer for each failed or acked write). The fake kernel's own time is measured and left out of
// lvsd's, so what remains is the JavaScript a guest pays for again, many times slower.
// Usage: npm run bench:ipvs-host -- [--services 1000] [--reals 10] [--reps 5]
//        node --cpu-prof --import tsx bench/ipvs/host.ts   (a profile of the same work)
import { performance } from "node:perf_hooks";
import { AF_NETLINK } from "../../src/daemon/native/constants.js";
import { FakeSocket } from "../../src/daemon/native/fake.js";
import {
  attr,
  attrBe16,
  attrNested,
  attrString,
  attrU16,
  attrU32,
  attrU64,
  attrU8,
  decodeAttrs,
  decodeMessages,
  encodeDone,
  encodeError,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NetlinkConnection,
  type NlMessage,
} from "../../src/daemon/netlink/index.js";
import { NetlinkIpvsClient } from "../../src/daemon/ipvs/client.js";
import { IpvsReconciler } from "../../src/daemon/ipvs/reconciler.js";
import { wantedTable } from "../../src/daemon/ipvs/policy.js";
import { parseLvsdConfig, type LvsdConfig } from "../../src/daemon/config.js";
import { parseInventory } from "../../src/inventory/index.js";
import { renderLvsdJson } from "../../src/render/index.js";
import { createLogger } from "../../src/daemon/log.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SERVICES = arg("services", 1000);
const REALS = arg("reals", 10);
const REPS = arg("reps", 5);
const FAMILY = 0x20;
const ip = (a: number, i: number) => `10.${a}.${(i >> 8) & 255}.${i & 255}`;

/** The inventory bench/ipvs/run.ts programs, rendered to lvsd.json as lvsctl does. */
function config(): string {
  const vs: string[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const rs = Array.from({ length: REALS }, (_, r) => `{ address: ${ip(90, s * REALS + r + 1)}, weight: ${1 + (r % 3)} }`).join(", ");
    vs.push(`  - { vip: ${ip(80, s + 1)}, port: 80, lb_algo: wrr, real_servers: [${rs}] }`);
  }
  const yaml = `hosts:\n  ds1: { address: 10.77.0.10 }\n  ds2: { address: 10.77.0.11 }\ngroups:\n  directors: { hosts: [ds1, ds2] }\nvrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddress: [10.77.0.100/24] }\nvirtual_servers:\n${vs.join("\n")}\n`;
  const r = parseInventory(yaml, "bench-ipvs.yml");
  if (!r.ok) throw new Error(`bench inventory rejected: ${JSON.stringify(r.diagnostics).slice(0, 2000)}`);
  const lvsd = JSON.parse(renderLvsdJson(r.cluster, "ds1", { resolveSecret: () => "x" })) as LvsdConfig;
  return JSON.stringify({ ...lvsd, instances: [], syncGroups: [] });
}

/** The kernel's side: a table of services (keyed by their key attributes' bytes), each with its
 * destinations; replies as the kernel builds them. */
class FakeIpvsKernel {
  ms = 0;
  services = new Map<string, { nest: Buffer[]; dests: Map<string, Buffer[]> }>();
  #out: Buffer[] = [];
  constructor(readonly sock: FakeSocket) {
    sock.respond = (d) => {
      // the answers are delivered after the clock stops: lvsd reads them synchronously
      const t0 = performance.now();
      this.#datagram(d.data);
      this.ms += performance.now() - t0;
      const out = this.#out;
      this.#out = [];
      for (const b of out) sock.deliver(b);
    };
  }

  #datagram(data: Buffer): void {
    const msgs = decodeMessages(data);
    if (!msgs.ok) throw new Error("fake kernel: bad datagram");
    const out: Buffer[] = [];
    for (const m of msgs.value) {
      const cmd = m.payload[0]!;
      const top = new Map<number, Buffer>();
      const attrs = decodeAttrs(m.payload.subarray(4));
      if (attrs.ok) for (const a of attrs.value) top.set(a.type, a.value);
      const svcKey = top.has(1) ? keyOf(top.get(1)!, [1, 2, 3, 4, 5]) : "";
      let errno = 0;
      if ((m.flags & NLM_F_DUMP) === NLM_F_DUMP) {
        this.#dump(m, cmd, svcKey);
        continue;
      }
      const svc = this.services.get(svcKey);
      if (cmd === 1) {
        if (svc) errno = 17;
        else this.services.set(svcKey, { nest: serviceReply(top.get(1)!), dests: new Map() });
      } else if (cmd === 5 || cmd === 6) {
        if (!svc) errno = 3;
        else {
          const dk = keyOf(top.get(2)!, [1, 2]);
          if (cmd === 5 && svc.dests.has(dk)) errno = 17;
          else svc.dests.set(dk, destReply(top.get(2)!));
        }
      } else if (cmd === 3) {
        if (!this.services.delete(svcKey)) errno = 3;
      } else if (cmd === 7) {
        if (!svc || !svc.dests.delete(keyOf(top.get(2)!, [1, 2]))) errno = 2;
      }
      if (errno || m.flags & NLM_F_ACK) out.push(encodeError(errno, { length: 16 + m.payload.length, type: m.type, flags: m.flags, seq: m.seq, pid: 0 }));
    }
    if (out.length) this.#out.push(Buffer.concat(out));
  }

  #dump(m: NlMessage, cmd: number, svcKey: string): void {
    let parts: Buffer[][];
    let reply: number;
    if (cmd === 4) {
      parts = [...this.services.values()].map((s) => s.nest);
      reply = 1;
    } else {
      const s = this.services.get(svcKey);
      if (!s) {
        this.#out.push(encodeError(3, { length: 16 + m.payload.length, type: m.type, flags: m.flags, seq: m.seq, pid: 0 }));
        return;
      }
      parts = [...s.dests.values()];
      reply = 5;
    }
    let dgram: Buffer[] = [];
    let size = 0;
    for (const p of parts) {
      const msg = encodeMessage({ type: FAMILY, flags: NLM_F_MULTI, seq: m.seq, payload: Buffer.concat([Buffer.from([reply, 1, 0, 0]), attrNested(reply === 1 ? 1 : 2, p, { flag: false })]) });
      if (size + msg.length > 16384 && dgram.length) {
        this.#out.push(Buffer.concat(dgram));
        dgram = [];
        size = 0;
      }
      dgram.push(msg);
      size += msg.length;
    }
    if (dgram.length) this.#out.push(Buffer.concat(dgram));
    this.#out.push(encodeDone(m.seq));
  }
}

function keyOf(nest: Buffer, types: number[]): string {
  const a = decodeAttrs(nest);
  if (!a.ok) throw new Error("fake kernel: bad nest");
  return a.value
    .filter((x) => types.includes(x.type))
    .map((x) => `${x.type}=${x.value.toString("hex")}`)
    .join(",");
}

function stats(): Buffer[] {
  return [attrNested(10, Array.from({ length: 10 }, (_, i) => attrU32(i + 1, 0)), { flag: false }), attrNested(12, Array.from({ length: 10 }, (_, i) => attrU64(i + 1, 0n)), { flag: false })];
}

/** The attributes the kernel reports for a service (ip_vs_genl_fill_service): the request's, with
 * HASHED added to the flags, and the counters. */
function serviceReply(req: Buffer): Buffer[] {
  const a = decodeAttrs(req);
  if (!a.ok) throw new Error("fake kernel: bad service");
  const get = (t: number) => a.value.find((x) => x.type === t)?.value;
  const flags = Buffer.from(get(7)!);
  flags.writeUInt32LE(flags.readUInt32LE(0) | 2, 0);
  return [attrU16(1, get(1)!.readUInt16LE(0)), attrU16(2, get(2)!.readUInt16LE(0)), attr(3, get(3)!), attrBe16(4, get(4)!.readUInt16BE(0)), attrString(6, "wrr"), attr(7, flags), attrU32(8, 0), attr(9, get(9)!), ...stats()];
}

/** ip_vs_genl_fill_dest: every field, the counters and the tunnel's. */
function destReply(req: Buffer): Buffer[] {
  const a = decodeAttrs(req);
  if (!a.ok) throw new Error("fake kernel: bad dest");
  const get = (t: number) => a.value.find((x) => x.type === t)?.value;
  return [
    attr(1, get(1)!),
    attrBe16(2, get(2)!.readUInt16BE(0)),
    attrU32(3, get(3)!.readUInt32LE(0)),
    attrU32(4, get(4)!.readUInt32LE(0)),
    attrU8(13, 0),
    attrBe16(14, 0),
    attrU16(15, 0),
    attrU32(5, 0),
    attrU32(6, 0),
    attrU32(7, 0),
    attrU32(8, 0),
    attrU32(9, 0),
    ...stats(),
    attrU16(11, 2),
  ];
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function main(): Promise<void> {
  const text = config();
  const rows: Record<string, number[]> = { parse: [], wanted: [], startPass: [], startKernel: [], startWrites: [], noChangePass: [], noChangeKernel: [], noChangeDump: [] };
  let ops = 0;
  let again = 0;
  for (let rep = 0; rep < REPS; rep++) {
    let t = performance.now();
    const c = parseLvsdConfig(text);
    rows.parse!.push(performance.now() - t);
    t = performance.now();
    const w = wantedTable(c.services, () => ({ up: true }));
    rows.wanted!.push(performance.now() - t);
    const sock = new FakeSocket(AF_NETLINK);
    const kernel = new FakeIpvsKernel(sock);
    const client = new NetlinkIpvsClient(new NetlinkConnection(sock, { timeoutMs: 60_000 }), FAMILY);
    const rec = new IpvsReconciler(client, createLogger({ level: "warn", sink: () => undefined }));
    rec.setWanted(w.table);
    const first = await rec.pass("start");
    ops = first.ops;
    rows.startPass!.push(first.totalMs - kernel.ms);
    rows.startKernel!.push(kernel.ms);
    rows.startWrites!.push(first.writeMs);
    kernel.ms = 0;
    const second = await rec.pass("reload");
    again = second.ops;
    rows.noChangePass!.push(second.totalMs - kernel.ms);
    rows.noChangeKernel!.push(kernel.ms);
    rows.noChangeDump!.push(second.dumpMs);
    client.close();
  }
  const f = (k: string) => `${med(rows[k]!).toFixed(1)} ms`;
  console.log(`${SERVICES} services x ${REALS} real servers, median of ${REPS}, lvsd's own time (the fake kernel's left out)`);
  console.log(`| config parse | ${f("parse")} |`);
  console.log(`| wanted table | ${f("wanted")} |`);
  console.log(`| start pass onto an empty table: ${ops} writes (writes alone, kernel included: ${f("startWrites")}; fake kernel ${f("startKernel")}) | ${f("startPass")} |`);
  console.log(`| no-change pass: ${again} writes (dump, kernel included: ${f("noChangeDump")}; fake kernel ${f("noChangeKernel")}) | ${f("noChangePass")} |`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
