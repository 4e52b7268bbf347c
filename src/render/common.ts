// What both director backends (keepalived.conf and lvsd.json) derive the same way from the model,
// so the two configs cannot drift apart: the effective VRRP instance and keepalived's defaults.
import { LvsctlError } from "../errors/index.js";
import type { SecretRef } from "../inventory/schema.js";
import type { Cluster, DirectorVrrpInstance, ResolvedDirector, ResolvedService } from "../inventory/model.js";
import { VRRP_OWNER_PRIORITY } from "../inventory/topology.js";

export interface RenderOptions {
  /** Turns an inventory secret reference into its value; the caller decides (env, file, or "***"). */
  resolveSecret: (ref: SecretRef) => string;
  /** Render for this backend instead of cluster.backend. */
  backend?: "keepalived" | "lvsd";
  /**
   * A real server's interface facing the directors, when the caller knows it (the bootstrap
   * learns it from the host's route to the first director); else the host var `lvs_interface`.
   * Its ARP sysctls are written next to `all` and `default`. `*` (sysctl.d(5) glob) stands for
   * every interface: the executor renders with it while it computes which facts to gather.
   */
  realServerInterface?: string;
}

/** keepalived.conf(5) defaults, written out where lvsd needs them explicit (shared/reference/peers.md). */
export const KEEPALIVED_DEFAULTS = {
  /** garp_master_delay: second burst after 5 s. */
  garpMasterDelaySec: 5,
  /** garp_master_repeat: 5 gratuitous ARPs per burst. */
  garpMasterRepeat: 5,
  /** garp_master_refresh: off. */
  garpMasterRefreshSec: 0,
  delayLoopSec: 60,
  connectTimeoutSec: 5,
  retry: 1,
  delayBeforeRetrySec: 1,
  /** HTTP_GET / SSL_GET use 3 s. */
  httpDelayBeforeRetrySec: 3,
  quorum: 1,
  hysteresis: 0,
} as const;

/** VRRPv2 simple-text authentication carries 8 octets (RFC 2338 section 5.3.10); keepalived truncates. */
export const AUTH_PASS_MAX = 8;

export function findDirector(cluster: Cluster, name: string): ResolvedDirector {
  const d = cluster.directors.find((x) => x.host.name === name);
  if (!d) {
    throw new LvsctlError("LVS703", `${name} is not a director of this cluster`, {
      hint: `directors are: ${cluster.directors.map((x) => x.host.name).join(", ") || "(none)"}`,
    });
  }
  return d;
}

export interface EffectiveInstance extends Omit<DirectorVrrpInstance, "authPass"> {
  authPass?: string;
}

/**
 * The instance as both backends run it:
 * - initial state BACKUP whenever nopreempt or preempt_delay is set: keepalived clears both when
 *   the initial state is MASTER (it logs "nopreempt will not work with initial state MASTER"), and
 *   an explicit nopreempt is the stronger wish than a state the resolver defaulted;
 * - initial state BACKUP under vrrp_strict unless the director is the address owner (priority
 *   255): RFC 5798 section 6.4.1 starts only the owner as master, and keepalived enforces it
 *   ("State MASTER must match being address owner");
 * - no preempt_delay with nopreempt or under vrrp_strict: keepalived resets it in both cases
 *   ("preempt_delay is incompatible with nopreempt mode / strict mode");
 * - the instance's own interface dropped from track_interface: keepalived ignores it with a
 *   warning, and the instance already goes to FAULT when its own link is down;
 * - the auth secret resolved, and refused when it is longer than 8 characters rather than
 *   silently cut (the inventory validator says the same, LVS312, for clear-text values).
 */
export function effectiveInstance(inst: DirectorVrrpInstance, director: string, vrrpStrict: boolean, opts: RenderOptions): EffectiveInstance {
  const { authPass: ref, ...rest } = inst;
  const backup = inst.nopreempt || (inst.preemptDelay ?? 0) > 0 || (vrrpStrict && inst.priority !== VRRP_OWNER_PRIORITY);
  const out: EffectiveInstance = {
    ...rest,
    state: backup ? "BACKUP" : inst.state,
    ...(inst.nopreempt || vrrpStrict ? { preemptDelay: undefined } : {}),
    trackInterfaces: [...new Set(inst.trackInterfaces)].filter((i) => i !== inst.interface),
    vips: inst.vips.map((v) => ({ ...v, dev: v.dev ?? inst.interface })),
  };
  if (ref !== undefined) {
    const pass = opts.resolveSecret(ref);
    if (pass.length === 0 || pass.length > AUTH_PASS_MAX) {
      throw new LvsctlError("LVS704", `auth_pass of VRRP instance ${inst.name} (director ${director}) is ${pass.length} characters; VRRP carries 1 to ${AUTH_PASS_MAX}`, {
        hint: "use a password of at most 8 characters (keepalived would silently use only the first 8)",
      });
    }
    out.authPass = pass;
  }
  return out;
}

/**
 * Refuses a service keepalived would silently change: it lowers a hysteresis that is not below
 * the quorum ("hysteresis 2 >= quorum 2; setting hysteresis to 1"), and resets a DR/TUN sorry
 * server's port to the service's ("ports don't match - resetting").
 */
export function checkService(s: ResolvedService): ResolvedService {
  const quorum = s.quorum ?? KEEPALIVED_DEFAULTS.quorum;
  if (s.hysteresis !== undefined && s.hysteresis >= quorum) {
    throw new LvsctlError("LVS707", `service ${s.name}: hysteresis ${s.hysteresis} is not below quorum ${quorum}`, {
      hint: "hysteresis must be smaller than quorum (keepalived would lower it to quorum - 1)",
    });
  }
  if (s.sorryServer?.port !== undefined && s.port !== undefined && s.lbKind !== "NAT" && s.sorryServer.port !== s.port) {
    throw new LvsctlError("LVS708", `service ${s.name}: sorry server port ${s.sorryServer.port} differs from the service port ${s.port}, which ${s.lbKind} cannot remap`, {
      hint: `give the sorry server port ${s.port} or leave its port out`,
    });
  }
  return s;
}

/** "200 201 202 404" -> "200-202 404" (keepalived 2.x accepts ranges in status_code). */
export function statusCodeRanges(codes: number[]): string[] {
  const sorted = [...new Set(codes)].sort((a, b) => a - b);
  const out: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return out;
}

/** Numbers as keepalived.conf and JSON want them: no float noise (0.1 + 0.2 style). */
export function num(n: number, decimals = 3): string {
  const f = 10 ** decimals;
  return String(Math.round(n * f) / f);
}

/**
 * Splits a script line the way keepalived does before exec (notify.c): on blanks, with single or
 * double quotes grouping words and a backslash escaping the next character outside single quotes.
 */
export function splitScript(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i]!;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** The director's own address in the family of `ip` (for messages and sysctl choices). */
export function isIpv6(ip: string): boolean {
  return ip.includes(":");
}
