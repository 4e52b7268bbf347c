// rtnetlink operations lvsd performs, over a NetlinkConnection: the VIP add/delete with the
// idempotent outcomes wire-formats.md names (EEXIST on add, EADDRNOTAVAIL on delete mean "already
// as wanted"), and dumps of addresses and links. Results are values, never exceptions.

import type { NetlinkConnection } from "./connection.js";
import {
  decodeAddr,
  decodeLink,
  encodeAddrAdd,
  encodeAddrDel,
  encodeAddrDump,
  encodeLinkDump,
  encodeLinkGet,
  encodeNeighDel,
  RTM_NEWADDR,
  RTM_NEWLINK,
  type AddrInfo,
  type AddrRequest,
  type LinkInfo,
} from "./rtnetlink.js";

export type ChangeResult =
  | { ok: true; changed: boolean }
  | { ok: false; errno: number; code: string; message?: string };

export type ListResult<T> = { ok: true; items: T[]; interrupted: boolean } | { ok: false; errno: number; code: string; message?: string };

function failure(r: { errno: number; code: string; message?: string }): { ok: false; errno: number; code: string; message?: string } {
  return r.message === undefined ? { ok: false, errno: r.errno, code: r.code } : { ok: false, errno: r.errno, code: r.code, message: r.message };
}

export class RouteClient {
  constructor(readonly conn: NetlinkConnection) {}

  /** Adds an IPv4 address; `changed: false` when it was already there (EEXIST). */
  async addAddress(a: Omit<AddrRequest, "seq">): Promise<ChangeResult> {
    const r = await this.conn.request(encodeAddrAdd({ ...a, seq: this.conn.nextSeq() }));
    if (r.ok) return { ok: true, changed: true };
    if (r.code === "EEXIST") return { ok: true, changed: false };
    return failure(r);
  }

  /** Deletes an IPv4 address; `changed: false` when it was not there (EADDRNOTAVAIL). */
  async deleteAddress(a: Omit<AddrRequest, "seq">): Promise<ChangeResult> {
    const r = await this.conn.request(encodeAddrDel({ ...a, seq: this.conn.nextSeq() }));
    if (r.ok) return { ok: true, changed: true };
    if (r.code === "EADDRNOTAVAIL") return { ok: true, changed: false };
    return failure(r);
  }

  /** Deletes the neighbour (ARP) entry for an IPv4 address on a link; `changed: false` when there
   * was none (ENOENT). */
  async deleteNeighbour(n: { ifindex: number; address: string }): Promise<ChangeResult> {
    const r = await this.conn.request(encodeNeighDel({ ...n, seq: this.conn.nextSeq() }));
    if (r.ok) return { ok: true, changed: true };
    if (r.code === "ENOENT") return { ok: true, changed: false };
    return failure(r);
  }

  /** Every IPv4 address (undecodable entries are skipped). */
  async listAddresses(): Promise<ListResult<AddrInfo>> {
    const r = await this.conn.request(encodeAddrDump(this.conn.nextSeq()));
    if (!r.ok) return failure(r);
    const items: AddrInfo[] = [];
    for (const m of r.messages) {
      if (m.type !== RTM_NEWADDR) continue;
      const d = decodeAddr(m);
      if (d.ok) items.push(d.value);
    }
    return { ok: true, items, interrupted: r.interrupted };
  }

  async listLinks(): Promise<ListResult<LinkInfo>> {
    const r = await this.conn.request(encodeLinkDump(this.conn.nextSeq()));
    if (!r.ok) return failure(r);
    const items: LinkInfo[] = [];
    for (const m of r.messages) {
      if (m.type !== RTM_NEWLINK) continue;
      const d = decodeLink(m);
      if (d.ok) items.push(d.value);
    }
    return { ok: true, items, interrupted: r.interrupted };
  }

  /** One link by name or index (ENODEV when absent). */
  async getLink(by: { ifindex: number } | { name: string }): Promise<{ ok: true; link: LinkInfo } | { ok: false; errno: number; code: string; message?: string }> {
    const r = await this.conn.request(encodeLinkGet(this.conn.nextSeq(), by));
    if (!r.ok) return failure(r);
    const m = r.messages.find((x) => x.type === RTM_NEWLINK);
    const d = m ? decodeLink(m) : undefined;
    if (!d || !d.ok) return { ok: false, errno: 5, code: "EIO", message: "no decodable RTM_NEWLINK in the reply" };
    return { ok: true, link: d.value };
  }
}
