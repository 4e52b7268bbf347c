// Runs INSIDE a qemu lab guest (test/lab/qemu-ipvs.test.ts bundles it with esbuild for Node 18 and
// copies it there beside lvsd_socket.node): lvsd's own IPVS generic netlink codecs
// (src/daemon/netlink/ipvs.ts) over lvsd's own socket (the native addon) against a real kernel.
//   node ipvs-genl.cjs '<json Plan>'   ->  one line of JSON (Report) on stdout
// The plan's requests are sent in order; each answer (ACK or errno) is reported, never thrown.
// Then, when asked, the table is dumped back with GET_SERVICE / GET_DEST and our decoders.
import { AF_NETLINK, NETLINK_GENERIC, RawSocket, SOCK_RAW } from "../../src/daemon/native/index.js";
import {
  decodeDest,
  decodeService,
  encodeDelDest,
  encodeDelService,
  encodeGetDests,
  encodeGetServices,
  encodeNewDest,
  encodeNewService,
  encodeSetDest,
  IPVS_GENL_NAME,
  NetlinkConnection,
  resolveFamily,
  type DestSpec,
  type IpvsDest,
  type IpvsService,
  type ServiceKey,
  type ServiceSpec,
} from "../../src/daemon/netlink/index.js";

export type PlanOp =
  | { op: "newService"; service: ServiceSpec }
  | { op: "delService"; key: ServiceKey }
  | { op: "newDest"; key: ServiceKey; dest: DestSpec }
  | { op: "setDest"; key: ServiceKey; dest: DestSpec }
  | { op: "delDest"; key: ServiceKey; dest: { address: string; port: number } };

export interface Plan {
  ops: PlanOp[];
  dump: boolean;
}

export interface Report {
  family: { id: number; version: number; maxattr: number } | { error: string };
  results: { op: string; ok: boolean; code?: string; message?: string }[];
  /** Each service with its destinations, in the kernel's order; undecodable messages as errors. */
  table?: { service: IpvsService; dests: IpvsDest[] }[];
  decodeErrors: string[];
}

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
    for (const o of plan.ops ?? []) {
      const seq = conn.nextSeq();
      const msg =
        o.op === "newService" ? encodeNewService(id, seq, o.service)
        : o.op === "delService" ? encodeDelService(id, seq, o.key)
        : o.op === "newDest" ? encodeNewDest(id, seq, o.key, o.dest)
        : o.op === "setDest" ? encodeSetDest(id, seq, o.key, o.dest)
        : encodeDelDest(id, seq, o.key, o.dest);
      const r = await conn.request(msg);
      report.results.push(r.ok ? { op: o.op, ok: true } : { op: o.op, ok: false, code: r.code, ...(r.message ? { message: r.message } : {}) });
    }
    if (plan.dump) {
      report.table = [];
      const svcs = await conn.request(encodeGetServices(id, conn.nextSeq()));
      if (!svcs.ok) report.decodeErrors.push(`GET_SERVICE: ${svcs.code}`);
      for (const m of svcs.ok ? svcs.messages : []) {
        const s = decodeService(m);
        if (!s.ok) {
          report.decodeErrors.push(`service: ${s.reason} ${s.detail ?? ""}`);
          continue;
        }
        const dests: IpvsDest[] = [];
        const ds = await conn.request(encodeGetDests(id, conn.nextSeq(), s.value.key));
        if (!ds.ok) report.decodeErrors.push(`GET_DEST: ${ds.code}`);
        for (const dm of ds.ok ? ds.messages : []) {
          const d = decodeDest(dm);
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
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    process.stderr.write(`ipvs-genl: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
