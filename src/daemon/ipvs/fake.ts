// A hand-written fake IPVS kernel for unit tests: the table in memory, changed by applyOps (the
// same model the property test uses), every write recorded, errors injectable, hand edits by
// changing `table` directly.
import { IP_VS_SVC_F_HASHED, type SyncDaemonRole, type SyncDaemonSpec } from "../netlink/ipvs.js";
import type { DumpEntry, IpvsClient, KernelResult } from "./client.js";
import { applyOps, type IpvsOp } from "./reconcile.js";
import type { TableEntry } from "./table.js";

export class FakeIpvs implements IpvsClient {
  table: TableEntry[] = [];
  writes: IpvsOp[] = [];
  dumps = 0;
  /** Per op kind, an errno to answer once (then cleared). */
  failNext = new Map<IpvsOp["kind"], string>();
  daemonsRunning: SyncDaemonSpec[] = [];
  daemonWrites: string[] = [];
  /** Connection counters per "service key text -> dest" the dump reports. */
  counters = new Map<string, { activeConns: number; inactConns: number }>();
  closed = false;

  async dump(): Promise<KernelResult<DumpEntry[]>> {
    this.dumps++;
    return {
      ok: true,
      value: this.table.map((e) => ({
        service: { ...e.service, kernelFlags: e.service.flags | IP_VS_SVC_F_HASHED, stats: { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n } },
        dests: e.dests.map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0, tunFlags: 0, stats: { conns: 0n, inpkts: 10n, outpkts: 0n, inbytes: 600n, outbytes: 0n } })),
      })),
    };
  }

  async apply(op: IpvsOp): Promise<KernelResult<void>> {
    this.writes.push(op);
    const injected = this.failNext.get(op.kind);
    if (injected) {
      this.failNext.delete(op.kind);
      return { ok: false, code: injected, errno: 22, message: `injected ${injected}` };
    }
    const r = applyOps(this.table, [op]);
    this.table = r.table;
    const e = r.errors[0];
    return e ? { ok: false, code: e.code, errno: 1 } : { ok: true, value: undefined };
  }

  /** One by one through apply(), as the kernel runs a batch: in order, carrying on after errors. */
  async applyAll(ops: readonly IpvsOp[]): Promise<KernelResult<void>[]> {
    const out: KernelResult<void>[] = [];
    for (const op of ops) out.push(await this.apply(op));
    return out;
  }

  async daemons(): Promise<KernelResult<SyncDaemonSpec[]>> {
    return { ok: true, value: this.daemonsRunning.map((d) => ({ ...d })) };
  }

  async startDaemon(d: SyncDaemonSpec): Promise<KernelResult<void>> {
    this.daemonWrites.push(`start ${d.role} ${d.ifname} ${d.syncId}`);
    if (this.daemonsRunning.some((x) => x.role === d.role)) return { ok: false, code: "EEXIST", errno: 17 };
    this.daemonsRunning.push({ ...d });
    return { ok: true, value: undefined };
  }

  async stopDaemon(role: SyncDaemonRole): Promise<KernelResult<void>> {
    this.daemonWrites.push(`stop ${role}`);
    const i = this.daemonsRunning.findIndex((x) => x.role === role);
    if (i < 0) return { ok: false, code: "ESRCH", errno: 3 };
    this.daemonsRunning.splice(i, 1);
    return { ok: true, value: undefined };
  }

  close(): void {
    this.closed = true;
  }
}
