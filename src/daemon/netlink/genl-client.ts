// Generic netlink over a NetlinkConnection: resolve a family's run-time id by name.

import type { NetlinkConnection } from "./connection.js";
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL, type GenlFamily } from "./genl.js";

export type FamilyResult = { ok: true; family: GenlFamily } | { ok: false; errno: number; code: string; message?: string };

/** CTRL_CMD_GETFAMILY by name. ENOENT means the family is not registered (for "IPVS": the ip_vs
 * module is not loaded, or the kernel has no IPVS). */
export async function resolveFamily(conn: NetlinkConnection, name: string): Promise<FamilyResult> {
  const r = await conn.request(encodeGetFamily(name, conn.nextSeq()));
  if (!r.ok) return r.message === undefined ? { ok: false, errno: r.errno, code: r.code } : { ok: false, errno: r.errno, code: r.code, message: r.message };
  for (const m of r.messages) {
    if (m.type !== GENL_ID_CTRL) continue;
    const f = decodeFamily(m);
    if (f.ok && f.value.name === name) return { ok: true, family: f.value };
  }
  return { ok: false, errno: 5, code: "EIO", message: `no decodable CTRL_CMD_NEWFAMILY for ${name} in the reply` };
}
