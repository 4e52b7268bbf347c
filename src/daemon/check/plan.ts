// From lvsd.json (../config.ts) to the scheduler's check specs. Pure. The renderer already
// filled in every keepalived default (src/render/lvsd.ts).
import type { LvsdCheck, LvsdRealServer, LvsdService } from "../config.js";
import type { CheckPolicy, CheckSpec, CheckTarget } from "./types.js";

/** How a real server is named: the daemon core's identity (core/health.ts realServerId), so the
 * health it reads and the checks that run share one key, stable across reloads. */
export type RealServerIdOf = (s: LvsdService, rs: Pick<LvsdRealServer, "address" | "port">) => string;

/** "<service name>/<address>:<port>": for tests and tools that have no core. */
export const nameBasedId: RealServerIdOf = (s, rs) => `${s.name}/${rs.address.includes(":") ? `[${rs.address}]` : rs.address}:${rs.port}`;

const ms = (sec: number) => Math.round(sec * 1000);

function target(c: LvsdCheck, rs: LvsdRealServer): CheckTarget {
  if (c.type === "MISC") return { type: "MISC", argv: c.argv, dynamic: c.dynamic };
  const ep = {
    address: c.connectIp ?? rs.address,
    // fwmark services may have port 0 for the real server; a check needs connect_port then
    // (inventory validation says so), 80 is never guessed
    port: c.connectPort ?? rs.port,
    ...(c.bindto ? { bindto: c.bindto } : {}),
  };
  if (c.type === "TCP") return { type: "TCP", ...ep };
  return {
    type: c.type,
    ...ep,
    urls: c.urls.map((u) => ({ path: u.path, statusCodes: u.statusCodes, ...(u.digest ? { digest: u.digest } : {}) })),
    ...(c.virtualhost ? { virtualhost: c.virtualhost } : {}),
    ...(c.type === "SSL" && c.sni ? { sni: c.sni } : {}),
    ...(c.type === "SSL" && c.verifyCert ? { verifyCert: true } : {}),
  };
}

function policy(c: LvsdCheck, s: LvsdService): CheckPolicy {
  const timeoutMs =
    c.type === "MISC" ? ms(c.timeoutSec) : c.type === "TCP" ? ms(c.connectTimeoutSec) : ms(c.connectTimeoutSec) * c.urls.length;
  return {
    delayLoopMs: ms(s.delayLoopSec),
    retry: c.retry,
    delayBeforeRetryMs: ms(c.delayBeforeRetrySec),
    rise: c.rise ?? 1,
    alpha: c.alpha ?? false,
    // a zero timeout would judge every attempt before it starts
    timeoutMs: Math.max(1, timeoutMs),
  };
}

/** One spec per checked real server, in config order. */
export function checkSpecs(services: readonly LvsdService[], idOf: RealServerIdOf = nameBasedId): CheckSpec[] {
  const out: CheckSpec[] = [];
  for (const s of services) {
    for (const rs of s.realServers) {
      if (!rs.check) continue;
      out.push({
        id: idOf(s, rs),
        service: s.name,
        address: rs.address,
        port: rs.port,
        weight: rs.weight,
        target: target(rs.check, rs),
        policy: policy(rs.check, s),
      });
    }
  }
  return out;
}
