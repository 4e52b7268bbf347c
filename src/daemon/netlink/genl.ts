// Generic netlink (<linux/genetlink.h>): the 4-byte genlmsghdr and the controller's
// CTRL_CMD_GETFAMILY, which resolves a family's run-time id by name ("IPVS").

import { fail, ok, type Decoded } from "../net/decoded.js";
import { attrString, parseAttrs, type Parsed, type Policy } from "./attrs.js";
import { encodeMessage, NLM_F_ACK, NLM_F_REQUEST, type NlMessage } from "./message.js";

/** sizeof(struct genlmsghdr): u8 cmd, u8 version, u16 reserved */
export const GENL_HDRLEN = 4;
/** GENL_ID_CTRL: the controller's fixed family id */
export const GENL_ID_CTRL = 16;

/** enum CTRL_CMD_* */
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
/** enum CTRL_ATTR_* */
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;
export const CTRL_ATTR_OPS = 6;
export const CTRL_ATTR_MCAST_GROUPS = 7;
/** enum CTRL_ATTR_MCAST_GRP_* */
export const CTRL_ATTR_MCAST_GRP_NAME = 1;
export const CTRL_ATTR_MCAST_GRP_ID = 2;
/** enum CTRL_ATTR_OP_* */
export const CTRL_ATTR_OP_ID = 1;
export const CTRL_ATTR_OP_FLAGS = 2;

export const CTRL_POLICY = {
  [CTRL_ATTR_FAMILY_ID]: { name: "id", kind: "u16" },
  [CTRL_ATTR_FAMILY_NAME]: { name: "name", kind: "string" },
  [CTRL_ATTR_VERSION]: { name: "version", kind: "u32" },
  [CTRL_ATTR_HDRSIZE]: { name: "hdrsize", kind: "u32" },
  [CTRL_ATTR_MAXATTR]: { name: "maxattr", kind: "u32" },
  [CTRL_ATTR_OPS]: {
    name: "ops",
    kind: "nested-array",
    policy: { [CTRL_ATTR_OP_ID]: { name: "id", kind: "u32" }, [CTRL_ATTR_OP_FLAGS]: { name: "flags", kind: "u32" } },
  },
  [CTRL_ATTR_MCAST_GROUPS]: {
    name: "mcastGroups",
    kind: "nested-array",
    policy: { [CTRL_ATTR_MCAST_GRP_NAME]: { name: "name", kind: "string" }, [CTRL_ATTR_MCAST_GRP_ID]: { name: "id", kind: "u32" } },
  },
} as const satisfies Policy;

export interface GenlHeader {
  cmd: number;
  version: number;
}

export function encodeGenlHeader(cmd: number, version: number): Buffer {
  return Buffer.from([cmd, version, 0, 0]);
}

/** A whole generic netlink request: nlmsghdr(type = family id) + genlmsghdr + attributes. */
export function encodeGenlMessage(m: {
  family: number;
  cmd: number;
  version: number;
  flags: number;
  seq: number;
  attrs?: Buffer[];
}): Buffer {
  return encodeMessage({
    type: m.family,
    flags: m.flags,
    seq: m.seq,
    payload: Buffer.concat([encodeGenlHeader(m.cmd, m.version), ...(m.attrs ?? [])]),
  });
}

export function decodeGenlHeader(m: NlMessage): Decoded<{ header: GenlHeader; attrs: Buffer }> {
  if (m.payload.length < GENL_HDRLEN) return fail("short", `${m.payload.length} bytes, genlmsghdr needs 4`);
  return ok({ header: { cmd: m.payload[0]!, version: m.payload[1]! }, attrs: m.payload.subarray(GENL_HDRLEN) });
}

/** CTRL_CMD_GETFAMILY by name (`genl ctrl get name IPVS`). Answered by one CTRL_CMD_NEWFAMILY
 * message, then the ACK; ENOENT when the family is not registered (module not loaded). */
export function encodeGetFamily(name: string, seq: number): Buffer {
  return encodeGenlMessage({
    family: GENL_ID_CTRL,
    cmd: CTRL_CMD_GETFAMILY,
    version: 1,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    attrs: [attrString(CTRL_ATTR_FAMILY_NAME, name)],
  });
}

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  hdrsize: number;
  maxattr: number;
  mcastGroups: { name: string; id: number }[];
}

export function decodeFamily(m: NlMessage): Decoded<GenlFamily> {
  if (m.type !== GENL_ID_CTRL) return fail("bad-type", `type ${m.type} is not the genl controller`);
  const g = decodeGenlHeader(m);
  if (!g.ok) return g;
  if (g.value.header.cmd !== CTRL_CMD_NEWFAMILY) return fail("bad-type", `controller cmd ${g.value.header.cmd}`);
  const a = parseAttrs(g.value.attrs, CTRL_POLICY);
  if (!a.ok) return a;
  const v: Parsed<typeof CTRL_POLICY> = a.value;
  if (v.id === undefined || v.name === undefined) return fail("bad-field", "family reply without id or name");
  return ok({
    id: v.id,
    name: v.name,
    version: v.version ?? 0,
    hdrsize: v.hdrsize ?? 0,
    maxattr: v.maxattr ?? 0,
    mcastGroups: (v.mcastGroups ?? []).flatMap((g) => (g.name !== undefined && g.id !== undefined ? [{ name: g.name, id: g.id }] : [])),
  });
}
