// The raw IPVS client: one generic netlink conversation with the kernel's "IPVS" family, one
// request per operation (writes batched, many per datagram), errors as values. The only I/O of
// the IPVS side; a FakeIpvs (fake.ts) stands in for it in unit tests.
import type { Decoded } from "../net/decoded.js";
import type { NetlinkConnection } from "../netlink/connection.js";
import type { BatchAcks } from "../netlink/message.js";
import { BatchWriter, type NlWriter } from "../netlink/writer.js";
import { resolveFamily } from "../netlink/genl-client.js";
import {
  decodeDaemon,
  decodeDest,
  decodeService,
  encodeDelDaemon,
  encodeDelDest,
  encodeDelService,
  encodeGetDaemons,
  encodeGetDests,
  encodeGetServices,
  encodeNewDaemon,
  encodeNewDest,
  encodeNewService,
  encodeSetDest,
  encodeSetService,
  IPVS_CMD_DEL_DEST,
  IPVS_CMD_DEL_SERVICE,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IPVS_CMD_SET_DEST,
  IPVS_CMD_SET_SERVICE,
  IPVS_GENL_NAME,
  serviceKeyFamily,
  serviceNest,
  writeDestRequest,
  writeServiceRequest,
  type ServiceKey,
  type IpvsDest,
  type IpvsService,
  type SyncDaemonRole,
  type SyncDaemonSpec,
} from "../netlink/ipvs.js";
import type { IpvsOp } from "./reconcile.js";
import { toDestSpec, toServiceSpec } from "./table.js";

export type KernelResult<T> = { ok: true; value: T } | { ok: false; code: string; errno: number; message?: string };

export interface DumpEntry {
  service: IpvsService;
  dests: IpvsDest[];
}

export interface IpvsClient {
  /** The whole table: GET_SERVICE, then GET_DEST per service. Services `destsOf` says no to
   * (foreign ones, whose destinations no pass reads) come without their destinations. */
  dump(destsOf?: (key: ServiceKey) => boolean): Promise<KernelResult<DumpEntry[]>>;
  apply(op: IpvsOp): Promise<KernelResult<void>>;
  /** Every operation, in order, one result each. The kernel carries on after a failed one: an
   * error never drops the operations after it, and each error stays with its own operation. */
  applyAll(ops: readonly IpvsOp[]): Promise<KernelResult<void>[]>;
  daemons(): Promise<KernelResult<SyncDaemonSpec[]>>;
  startDaemon(d: SyncDaemonSpec): Promise<KernelResult<void>>;
  stopDaemon(role: SyncDaemonRole): Promise<KernelResult<void>>;
  close(): void;
}

function encodeOp(family: number, seq: number, op: IpvsOp): Buffer {
  switch (op.kind) {
    case "add-service":
      return encodeNewService(family, seq, toServiceSpec(op.service));
    case "edit-service":
      return encodeSetService(family, seq, toServiceSpec(op.service));
    case "del-service":
      return encodeDelService(family, seq, op.key);
    case "add-dest":
      return encodeNewDest(family, seq, op.key, toDestSpec(op.dest));
    case "edit-dest":
      return encodeSetDest(family, seq, op.key, toDestSpec(op.dest));
    case "del-dest":
      return encodeDelDest(family, seq, op.key, op.dest);
  }
}

/** One write in place; `keyNest` gives a service's key-only nest, encoded once for all the
 * writes to its destinations. */
function writeOp(w: NlWriter, family: number, seq: number, op: IpvsOp, keyNest: (k: ServiceKey) => Buffer): void {
  switch (op.kind) {
    case "add-service":
      return writeServiceRequest(w, family, seq, IPVS_CMD_NEW_SERVICE, toServiceSpec(op.service));
    case "edit-service":
      return writeServiceRequest(w, family, seq, IPVS_CMD_SET_SERVICE, toServiceSpec(op.service));
    case "del-service":
      return writeServiceRequest(w, family, seq, IPVS_CMD_DEL_SERVICE, op.key);
    case "add-dest":
      return writeDestRequest(w, family, seq, IPVS_CMD_NEW_DEST, op.key, toDestSpec(op.dest), keyNest(op.key));
    case "edit-dest":
      return writeDestRequest(w, family, seq, IPVS_CMD_SET_DEST, op.key, toDestSpec(op.dest), keyNest(op.key));
    case "del-dest":
      return writeDestRequest(w, family, seq, IPVS_CMD_DEL_DEST, op.key, op.dest, keyNest(op.key));
  }
}

function decodeAll<T>(messages: { type: number }[], decode: (m: never) => Decoded<T>): KernelResult<T[]> {
  const out: T[] = [];
  for (const m of messages) {
    const d = decode(m as never);
    if (!d.ok) return { ok: false, code: "EPROTO", errno: 71, message: `undecodable IPVS reply: ${d.reason} ${d.detail ?? ""}` };
    out.push(d.value);
  }
  return { ok: true, value: out };
}

/** Writes per batch (one requestBatch: a datagram or two, then one wait). Bounded by the answers
 * the socket must hold at once: with acks "errors" only failures answer besides the last message
 * of each datagram, but a batch where every write fails (a scheduler module missing, say) answers
 * 256 times; capped errors (NETLINK_CAP_ACK) take well under 1 KiB of receive buffer each, and
 * openIpvsClient raises the buffer to hold them. */
export const BATCH_MAX = 256;

export interface IpvsClientOptions {
  /** Writes per batch; default BATCH_MAX. 1 is one request and one wait per write. */
  batchMax?: number;
  /** Default "errors" (see BatchAcks). */
  acks?: BatchAcks;
  /** More connections to the same family for the destination dumps, run side by side with the
   * main one's (closed with the client). */
  dumpConns?: NetlinkConnection[];
}

/** Over an open generic netlink connection; `familyId` from resolveIpvsFamily. */
export class NetlinkIpvsClient implements IpvsClient {
  readonly #batchMax: number;
  readonly #acks: BatchAcks;
  readonly #dumpConns: NetlinkConnection[];

  constructor(
    readonly conn: NetlinkConnection,
    readonly familyId: number,
    opts: IpvsClientOptions = {},
  ) {
    this.#batchMax = Math.max(1, opts.batchMax ?? BATCH_MAX);
    this.#acks = opts.acks ?? "errors";
    this.#dumpConns = opts.dumpConns ?? [];
  }

  async dump(destsOf?: (key: ServiceKey) => boolean): Promise<KernelResult<DumpEntry[]>> {
    // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is read again, a few times.
    for (let attempt = 0; ; attempt++) {
      const r = await this.conn.request(encodeGetServices(this.familyId, this.conn.nextSeq()));
      if (!r.ok) return err(r);
      const services = decodeAll(r.messages, decodeService);
      if (!services.ok) return services;
      const list = services.value;
      const entries: (DumpEntry | undefined)[] = new Array(list.length);
      let interrupted = r.interrupted;
      let failed: KernelResult<never> | undefined;
      let next = 0;
      // one GET_DEST dump per service; the kernel runs one dump at a time per socket, so with
      // more sockets several run side by side (fewer wake-ups per service on a busy machine)
      const worker = async (conn: NetlinkConnection): Promise<void> => {
        while (failed === undefined && next < list.length) {
          const i = next++;
          const service = list[i]!;
          if (destsOf && !destsOf(service.key)) {
            entries[i] = { service, dests: [] };
            continue;
          }
          const d = await conn.request(encodeGetDests(this.familyId, conn.nextSeq(), service.key));
          // ESRCH: the service went away between the two dumps; the next pass sees it
          if (!d.ok && d.code === "ESRCH") continue;
          if (!d.ok) {
            failed ??= err(d);
            return;
          }
          interrupted ||= d.interrupted;
          const family = serviceKeyFamily(service.key);
          const dests = decodeAll(d.messages, (m: never) => decodeDest(m, family));
          if (!dests.ok) {
            failed ??= dests;
            return;
          }
          entries[i] = { service, dests: dests.value };
        }
      };
      await Promise.all([this.conn, ...this.#dumpConns].map(worker));
      if (failed) return failed;
      if (!interrupted || attempt >= 3) return { ok: true, value: entries.filter((e): e is DumpEntry => e !== undefined) };
    }
  }

  async apply(op: IpvsOp): Promise<KernelResult<void>> {
    let b: Buffer;
    try {
      b = encodeOp(this.familyId, this.conn.nextSeq(), op);
    } catch (e) {
      return { ok: false, code: "EINVAL", errno: 22, message: (e as Error).message };
    }
    const r = await this.conn.request(b);
    return r.ok ? { ok: true, value: undefined } : err(r);
  }

  /** Batches of up to batchMax writes, one after the other (the next batch is sent once the last
   * answered, so the answers of one batch at most sit in the receive buffer). Each batch is
   * written straight into its datagrams (BatchWriter), a service's key nest encoded once for all
   * its destinations. An operation that cannot be encoded fails alone with EINVAL and is not sent. */
  async applyAll(ops: readonly IpvsOp[]): Promise<KernelResult<void>[]> {
    const out: KernelResult<void>[] = [];
    let lastKey: ServiceKey | undefined;
    let lastNest: Buffer | undefined;
    const keyNest = (k: ServiceKey): Buffer => {
      if (k !== lastKey) {
        lastNest = serviceNest(k, false);
        lastKey = k;
      }
      return lastNest!;
    };
    for (let i = 0; i < ops.length; i += this.#batchMax) {
      const end = Math.min(ops.length, i + this.#batchMax);
      const results: (KernelResult<void> | undefined)[] = [];
      const sent: number[] = [];
      const batch = new BatchWriter({ maxBytes: 65536, acks: this.#acks });
      for (let k = i; k < end; k++) {
        const op = ops[k]!;
        try {
          batch.add((w) => writeOp(w, this.familyId, this.conn.nextSeq(), op, keyNest));
          sent.push(k - i);
          results.push(undefined);
        } catch (e) {
          results.push({ ok: false, code: "EINVAL", errno: 22, message: (e as Error).message });
        }
      }
      const answers = await this.conn.requestPacked(batch.finish());
      answers.forEach((r, k) => (results[sent[k]!] = r.ok ? { ok: true, value: undefined } : err(r)));
      for (const r of results) out.push(r!);
    }
    return out;
  }

  async daemons(): Promise<KernelResult<SyncDaemonSpec[]>> {
    const r = await this.conn.request(encodeGetDaemons(this.familyId, this.conn.nextSeq()));
    if (!r.ok) return err(r);
    return decodeAll(r.messages, decodeDaemon);
  }

  async startDaemon(d: SyncDaemonSpec): Promise<KernelResult<void>> {
    const r = await this.conn.request(encodeNewDaemon(this.familyId, this.conn.nextSeq(), d));
    return r.ok ? { ok: true, value: undefined } : err(r);
  }

  async stopDaemon(role: SyncDaemonRole): Promise<KernelResult<void>> {
    const r = await this.conn.request(encodeDelDaemon(this.familyId, this.conn.nextSeq(), role));
    return r.ok ? { ok: true, value: undefined } : err(r);
  }

  close(): void {
    this.conn.close();
    for (const c of this.#dumpConns) c.close();
  }
}

function err(r: { errno: number; code: string; message?: string }): { ok: false; code: string; errno: number; message?: string } {
  return r.message === undefined ? { ok: false, code: r.code, errno: r.errno } : { ok: false, code: r.code, errno: r.errno, message: r.message };
}

/** The IPVS family's id; ENOENT when the ip_vs module is not loaded. */
export async function resolveIpvsFamily(conn: NetlinkConnection): Promise<KernelResult<number>> {
  const f = await resolveFamily(conn, IPVS_GENL_NAME);
  return f.ok ? { ok: true, value: f.family.id } : err(f);
}
