// What both director backends (keepalived.conf and lvsd.json) derive the same way from the model,
// so the two configs cannot drift apart: the effective VRRP instance. keepalived's defaults and
// the auth_pass limit live in src/inventory/limits.ts, beside the rules that check them; what
// validate.ts already refused (hysteresis vs quorum, sorry server ports) is not checked again here.
import { LvsctlError } from "../errors/index.js";
import type { SecretRef } from "../inventory/schema.js";
import { authPassProblem } from "../inventory/limits.js";
import type { Cluster, DirectorVrrpInstance, ResolvedDirector } from "../inventory/model.js";
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
 * - the auth secret resolved; one from env, file or prompt is refused here when it is empty or
 *   longer than 8 bytes rather than silently cut (a clear-text value was refused by
 *   validate.ts, LVS312, in the same words).
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
    excludedVips: (inst.excludedVips ?? []).map((v) => ({ ...v, dev: v.dev ?? inst.interface })),
  };
  if (ref !== undefined) {
    const pass = opts.resolveSecret(ref);
    const problem = typeof ref === "string" ? undefined : authPassProblem(pass);
    if (problem) throw new LvsctlError("LVS704", `VRRP instance ${inst.name} (director ${director}): ${problem.message}`, { hint: problem.hint });
    out.authPass = pass;
  }
  return out;
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

/** The director's own address in the family of `ip` (for messages and sysctl choices). */
export function isIpv6(ip: string): boolean {
  return ip.includes(":");
}
