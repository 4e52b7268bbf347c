// Runs INSIDE a qemu lab guest (test/lab/qemu-ipvs.test.ts bundles it with esbuild for Node 18 and
// copies it there beside lvsd_socket.node): lvsd's own IPVS generic netlink codecs
// (src/daemon/netlink/ipvs.ts) over lvsd's own socket (the native addon) against a real kernel.
//   node ipvs-genl.cjs '<json Plan>'   ->  one line of JSON (Report) on stdout
// The plan's requests are sent in order; each answer (ACK or errno) is reported, never thrown.
// With `batch`, they go as one batch (NetlinkConnection.requestBatch: many to a datagram).
// Then, when asked, GET_INFO and GET_CONFIG are read, and the table is dumped back with
// GET_SERVICE / GET_DEST, all through our decoders; `raw` adds the kernel's reply messages as hex
// (whole netlink messages, for unit-test fixtures).
import { AF_NETLINK, NETLINK_GENERIC, RawSocket, SOCK_RAW } from "../../src/daemon/native/index.js";
import type { Decoded } from "../../src/daemon/net/decoded.js";
import {
  decodeDest,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  encodeDelDest,
  encodeDelService,
  encodeGetConfig,
  encodeGetDests,
  encodeGetInfo,
  encodeGetServices,
  encodeMessage,
  encodeNewDest,
  encodeNewService,
  encodeSetConfig,
  encodeSetDest,
  encodeSetService,
  IPVS_GENL_NAME,
  NetlinkConnection,
  resolveFamily,
  serviceKeyFamily,
  type DestSpec,
  type IpvsDest,
  type IpvsInfo,
  type IpvsService,
  type IpvsTimeouts,
  type NlMessage,
  type ServiceKey,
  type ServiceSpec,
} from "../../src/daemon/netlink/index.js";

export type PlanOp =
  | { op: "newService"; service: ServiceSpec }
  | { op: "setService"; service: ServiceSpec }
  | { op: "setConfig"; timeouts: Partial<IpvsTimeouts> }
  | { op: "delService"; key: ServiceKey }
  | { op: "newDest"; key: ServiceKey; dest: DestSpec }
  | { op: "setDest"; key: ServiceKey; dest: DestSpec }
  | { op: "delDest"; key: ServiceKey; dest: { address: string; port: number } };

export interface Plan {
  ops: PlanOp[];
  dump: boolean;
  /** GET_INFO after the ops. */
  info?: boolean;
  /** GET_CONFIG (the timeouts) after the ops. */
  config?: boolean;
  /** The kernel's replies to GET_INFO / GET_CONFIG / the dumps as hex, in `raw`. */
  raw?: boolean;
  /** Send `ops` as one batch, with these acks and at most this many bytes a datagram. */
  batch?: { acks: "each" | "errors"; maxBytes: number };
}

export interface RawReplies {
  info?: string;
  config?: string;
  services: string[];
  dests: string[];
}

export interface Report {
  family: { id: number; version: number; maxattr: number } | { error: string };
  results: { op: string; ok: boolean; code?: string; message?: string }[];
  /** Each service with its destinations, in the kernel's order; undecodable messages as errors. */
  table?: { service: IpvsService; dests: IpvsDest[] }[];
  info?: IpvsInfo;
  timeouts?: Partial<IpvsTimeouts>;
  raw?: RawReplies;
  decodeErrors: string[];
}

/** A reply message as the kernel sent it (header fields and payload), as hex. */
const hexOf = (m: NlMessage): string => encodeMessage({ type: m.type, flags: m.flags, seq: m.seq, pid: m.pid, payload: m.payload }).toString("hex");

async function main(): Promise<Report> {
  const plan = JSON.parse(process.argv[2] ?? "{}") as Plan;
  const conn = new NetlinkConnection(RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), { timeoutMs: 20_000 });
  const report: Report = { family: { error: "not resolved" }, results: [], decodeErrors: [] };
  try {
    const f = await resolveFamily(conn, IPVS_GENL_NAME);
    if (!f.ok) {
      report.family = { error: `${f.code}${f.message ? `: ${f.message}` : ""}` };
      return report;
    }
    const id = f.family.id;
    report.family = { id, version: f.family.version, maxattr: f.family.maxattr };
    const encode = (o: PlanOp, seq: number): Buffer =>
        o.op === "newService" ? encodeNewService(id, seq, o.service)
        : o.op === "setService" ? encodeSetService(id, seq, o.service)
        : o.op === "setConfig" ? encodeSetConfig(id, seq, o.timeouts)
        : o.op === "delService" ? encodeDelService(id, seq, o.key)
        : o.op === "newDest" ? encodeNewDest(id, seq, o.key, o.dest)
        : o.op === "setDest" ? encodeSetDest(id, seq, o.key, o.dest)
        : encodeDelDest(id, seq, o.key, o.dest);
    const result = (o: PlanOp, r: Awaited<ReturnType<typeof conn.request>>) =>
      report.results.push(r.ok ? { op: o.op, ok: true } : { op: o.op, ok: false, code: r.code, ...(r.message ? { message: r.message } : {}) });
    if (plan.batch) {
      const ops = plan.ops ?? [];
      const answers = await conn.requestBatch(ops.map((o) => encode(o, conn.nextSeq())), plan.batch);
      ops.forEach((o, i) => result(o, answers[i]!));
    } else {
      for (const o of plan.ops ?? []) result(o, await conn.request(encode(o, conn.nextSeq())));
    }
    const raw: RawReplies = { services: [], dests: [] };
    if (plan.raw) report.raw = raw;
    /** One request whose first reply message is decoded; its hex is kept for the fixtures. */
    const readOne = async <T>(what: string, request: Buffer, decode: (m: NlMessage) => Decoded<T>): Promise<{ hex: string; value?: T } | undefined> => {
      const r = await conn.request(request);
      const m = r.ok ? r.messages[0] : undefined;
      if (!m) {
        report.decodeErrors.push(`${what}: ${r.ok ? "no reply message" : r.code}`);
        return undefined;
      }
      const d = decode(m);
      if (!d.ok) report.decodeErrors.push(`${what}: ${d.reason} ${d.detail ?? ""}`);
      return { hex: hexOf(m), ...(d.ok ? { value: d.value } : {}) };
    };
    if (plan.info) {
      const got = await readOne("GET_INFO", encodeGetInfo(id, conn.nextSeq()), decodeInfo);
      if (got) raw.info = got.hex;
      if (got?.value) report.info = got.value;
    }
    if (plan.config) {
      const got = await readOne("GET_CONFIG", encodeGetConfig(id, conn.nextSeq()), decodeTimeouts);
      if (got) raw.config = got.hex;
      if (got?.value) report.timeouts = got.value;
    }
    if (plan.dump) {
      report.table = [];
      const svcs = await conn.request(encodeGetServices(id, conn.nextSeq()));
      if (!svcs.ok) report.decodeErrors.push(`GET_SERVICE: ${svcs.code}`);
      for (const m of svcs.ok ? svcs.messages : []) {
        raw.services.push(hexOf(m));
        const s = decodeService(m);
        if (!s.ok) {
          report.decodeErrors.push(`service: ${s.reason} ${s.detail ?? ""}`);
          continue;
        }
        const dests: IpvsDest[] = [];
        const ds = await conn.request(encodeGetDests(id, conn.nextSeq(), s.value.key));
        if (!ds.ok) report.decodeErrors.push(`GET_DEST: ${ds.code}`);
        for (const dm of ds.ok ? ds.messages : []) {
          raw.dests.push(hexOf(dm));
          const d = decodeDest(dm, serviceKeyFamily(s.value.key));
          if (d.ok) dests.push(d.value);
          else report.decodeErrors.push(`dest: ${d.reason} ${d.detail ?? ""}`);
        }
        // stats change with traffic; what the test compares is the configuration
        const { stats: _stats, ...service } = s.value;
        report.table.push({ service, dests });
      }
    }
    return report;
  } finally {
    conn.close();
  }
}

main().then(
  // Counters are 64-bit (bigint): written as decimal strings.
  (r) => process.stdout.write(`${JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`),
  (e: unknown) => {
    process.stderr.write(`ipvs-genl: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
