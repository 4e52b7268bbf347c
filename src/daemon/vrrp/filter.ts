// Per-instance receive checks, after the wire decoder accepted the packet (RFC 3768 §7.1,
// RFC 5798 §7.1). Pure. Every refusal has a stable reason label that is counted in metrics
// (lvsd_vrrp_rejected_total{reason}) and logged at a limited rate.

// RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify that the IP TTL is 255". The TTL, the auth types
// and the NUL-padded 8-octet PASS data are the wire codec's (packet.ts).
import { AUTH_NONE, AUTH_PASS, passAuthData, VRRP_AUTH_LEN, VRRP_TTL } from "./packet.js";

export type RejectReason =
  | "ttl" // IP TTL other than 255
  | "version" // VRRP version differs from the instance's
  | "vrid" // no instance for this VRID on this interface
  | "auth-type" // authentication type differs (v2)
  | "auth" // PASS password differs (v2)
  | "interval" // v2 advert interval differs from ours (RFC 3768 §7.1 says discard)
  | "unicast-peer" // unicast instance, sender not among its peers (keepalived does the same)
  | "checksum"; // v3 checksum without the IPv4 pseudo-header, and the instance is not lenient

export interface FilterInput {
  source: string;
  ttl: number;
  version: 2 | 3;
  intervalMs: number;
  authType: number;
  authData?: Buffer;
  addresses: readonly string[];
  /** v3: the checksum form the decoder matched (absent: pseudo). */
  checksum?: "pseudo" | "message";
}

export interface FilterInstance {
  version: 2 | 3;
  advertIntervalMs: number;
  authPass?: string;
  vips: readonly { address: string }[];
  unicastPeers?: readonly string[];
  /** Accept v3 adverts whose checksum leaves out the IPv4 pseudo-header (keepalived 2.2.7 drops
   * them unless it runs with v3_checksum_as_v2; some older peers send them). Default: strict. */
  v3ChecksumLenient?: boolean;
}

export type FilterResult =
  | { ok: true; warnings: Array<"addresses"> }
  | { ok: false; reason: RejectReason; detail: string };

export function checkAdvert(a: FilterInput, inst: FilterInstance): FilterResult {
  if (a.ttl !== VRRP_TTL) return { ok: false, reason: "ttl", detail: `TTL ${a.ttl}, must be ${VRRP_TTL}` };
  if (inst.unicastPeers && inst.unicastPeers.length > 0 && !inst.unicastPeers.includes(a.source)) {
    return { ok: false, reason: "unicast-peer", detail: `${a.source} is not a configured unicast peer` };
  }
  if (a.version !== inst.version) return { ok: false, reason: "version", detail: `VRRPv${a.version} advert for a v${inst.version} instance` };
  // RFC 5798 §5.2.8: the v3 checksum covers the pseudo-header; keepalived's vrrp_check_packet()
  // rejects one that does not ("Invalid VRRPv3 checksum").
  if (inst.version === 3 && a.checksum === "message" && !inst.v3ChecksumLenient) {
    return { ok: false, reason: "checksum", detail: "VRRPv3 checksum leaves out the IPv4 pseudo-header (set v3_checksum: lenient to accept)" };
  }
  if (inst.version === 2) {
    const want = inst.authPass !== undefined ? AUTH_PASS : AUTH_NONE;
    if (a.authType !== want) return { ok: false, reason: "auth-type", detail: `auth type ${a.authType}, expected ${want}` };
    if (inst.authPass !== undefined && !(a.authData && a.authData.length >= VRRP_AUTH_LEN && a.authData.subarray(0, VRRP_AUTH_LEN).equals(passAuthData(inst.authPass)))) {
      return { ok: false, reason: "auth", detail: "PASS authentication data differs" };
    }
    if (a.intervalMs !== inst.advertIntervalMs) {
      return { ok: false, reason: "interval", detail: `advert interval ${a.intervalMs / 1000}s, ours ${inst.advertIntervalMs / 1000}s` };
    }
  }
  // RFC 3768 §7.1: the address list MAY be checked; keepalived logs a mismatch and accepts.
  const mine = new Set(inst.vips.map((v) => v.address));
  const same = a.addresses.length === mine.size && a.addresses.every((x) => mine.has(x));
  return { ok: true, warnings: same ? [] : ["addresses"] };
}
