// default_route: a read-only check (NAT real servers must send replies back through a director).
// Never changes anything; when the default route goes elsewhere the result is ok with a warning
// naming the route found and the addresses that would be right.
import type { HostFacts } from "../facts.js";
import { ok, type OpPlan, type Operation } from "./types.js";

export interface DefaultRouteDesired {
  /** Acceptable gateways: the directors' addresses and their VIPs. */
  via: string[];
  /** What the check is for, in the warning ("NAT service web"). */
  purpose?: string;
}

export function planDefaultRoute(facts: HostFacts, d: DefaultRouteDesired): OpPlan {
  const found = facts.defaultRoutes.filter((r) => r.type === undefined);
  const good = found.find((r) => r.via !== undefined && d.via.includes(r.via));
  if (good) return ok(`default route via ${good.via} (a director)`);
  const desc = found.length ? found.map((r) => `default${r.via ? ` via ${r.via}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`).join(", ") : "no default route";
  const warning = `${d.purpose ? d.purpose + ": " : ""}the default route is ${desc}, not via a director (${d.via.join(", ")}); NAT replies will bypass the director`;
  return ok(desc, { warnings: [warning] });
}

export const defaultRouteOp: Operation<DefaultRouteDesired> = {
  name: "default_route",
  needs: () => ({}),
  plan: planDefaultRoute,
};
