// default_route: the default route of a NAT real server. NAT directors rewrite the destination
// of client packets, so the replies must go back through a director: through a gateway VIP on
// the directors' inside network, which moves with VRRP.
//
// Two modes:
// - with `unit` (the bootstrap): the route is SET through `gateway` now (`ip route replace`) and
//   put back on boot by a oneshot unit (src/render's lvs-rs-gateway.service). The route it
//   replaced is recorded in a state file before anything changes, so that when the host stops
//   needing it (`gateway` empty: the host left its NAT services, or they became DR/TUN) the old
//   route comes back and the unit goes away. Without a gateway and with NAT services, the route
//   is only checked, as below.
// - without `unit`: a read-only check. When the default route goes elsewhere the result is ok
//   with a warning naming the route found and the addresses that would be right.
import { isIP } from "node:net";
import type { HostFacts, RouteFact } from "../facts.js";
import { unifiedDiff } from "../diff.js";
import { UNIT_DIR } from "./address.js";
import { PlanError } from "./errors.js";
import { fileDiff, parentDir, planFile } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

/** What lvsctl remembers of the route it replaced, per host. */
export const GATEWAY_STATE_FILE = "/var/lib/lvsctl/gateway.json";
const IP = "/sbin/ip";

export interface DefaultRouteDesired {
  /** Acceptable gateways for the check: the directors' addresses and their VIPs. */
  via: string[];
  /** What the check is for, in the warning ("NAT service web"). */
  purpose?: string;
  /** The host's NAT services: with no gateway to set, the route is checked only when there are some. */
  services?: string[];
  /** The gateway to route through; "" (or absent, with `unit`): none wanted, undo an earlier one. */
  gateway?: string;
  /** The unit that restores the route on boot; its presence switches the op from checking to setting. */
  unit?: string;
  /** The unit's text (src/render's); null when the host must have none. */
  unitContent?: string | null;
  stateFile?: string;
}

interface GatewayState {
  gateway: string;
  /** The preferred default route before lvsctl replaced it; null: there was none. */
  previous: { via?: string; dev?: string } | null;
}

function readGatewayState(facts: HostFacts, path: string): GatewayState | undefined {
  const raw = facts.contents[path];
  if (!raw) return undefined;
  try {
    const j = JSON.parse(raw.toString("utf8")) as Partial<GatewayState>;
    if (typeof j.gateway !== "string" || isIP(j.gateway) === 0) return undefined;
    const p = j.previous;
    const previous = p && typeof p === "object" ? { ...(typeof p.via === "string" && isIP(p.via) ? { via: p.via } : {}), ...(typeof p.dev === "string" && /^[^\s/]{1,15}$/.test(p.dev) ? { dev: p.dev } : {}) } : null;
    return { gateway: j.gateway, previous: previous && (previous.via || previous.dev) ? previous : null };
  } catch {
    return undefined;
  }
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();
const describeRoute = (r: RouteFact | { via?: string; dev?: string } | undefined | null) => (r ? `default${r.via ? ` via ${r.via}` : ""}${r.dev ? ` dev ${r.dev}` : ""}` : "no default route");

/** The default route the kernel uses for a family: the unicast one with the lowest metric. */
function preferred(facts: HostFacts, family: number): RouteFact | undefined {
  return facts.defaultRoutes
    .filter((r) => r.type === undefined && (r.via !== undefined ? isIP(r.via) === family : family === 4))
    .sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
}

function check(facts: HostFacts, d: DefaultRouteDesired): OpPlan {
  const found = facts.defaultRoutes.filter((r) => r.type === undefined);
  const good = found.find((r) => r.via !== undefined && d.via.includes(r.via));
  if (good) return ok(`default route via ${good.via} (a director)`);
  const desc = found.length ? found.map(describeRoute).join(", ") : "no default route";
  const what = d.purpose ?? (d.services?.length ? `NAT services ${d.services.join(", ")}` : undefined);
  const warning = `${what ? what + ": " : ""}the default route is ${desc}, not via a director (${d.via.join(", ")}); NAT replies will bypass the director`;
  return ok(desc, { warnings: [warning] });
}

/**
 * The unit installed and enabled, not started: the route is already set live, and starting it
 * would wait for network-online.target for nothing.
 */
function unitSteps(facts: HostFacts, unit: string, content: string, ctx: PlanContext, why: string[]): { steps: Step[]; diff?: string } {
  const path = `${UNIT_DIR}/${unit}`;
  const f = planFile(facts, { path, content, mode: 0o644, owner: "root", group: "root" }, ctx);
  const u = facts.units[unit];
  const enabled = u?.enabled === "enabled";
  const steps: Step[] = [];
  if (f.status === "change") {
    steps.push(...f.steps);
    // `systemctl enable` reloads systemd by itself (systemctl(1), --no-reload).
    if (enabled) steps.push(execStep(["systemctl", "daemon-reload"]));
    why.push(`${unit} ${facts.sha256[path] ? "updated" : "installed"}`);
  }
  if (!enabled) {
    steps.push(execStep(["systemctl", "enable", "--quiet", unit]));
    why.push(`enable ${unit}`);
  }
  return { steps, ...(f.diff ? { diff: f.diff } : {}) };
}

function removeUnitSteps(facts: HostFacts, unit: string, ctx: PlanContext, why: string[]): { steps: Step[]; diff?: string } {
  const path = `${UNIT_DIR}/${unit}`;
  if (facts.sha256[path] === undefined) return { steps: [] };
  const u = facts.units[unit];
  const steps: Step[] = [];
  // Not --now: stopping a oneshot with no ExecStop changes nothing, and the route is handled apart.
  if (u && u.enabled !== "not-found") steps.push(execStep(["systemctl", "disable", "--quiet", unit]));
  steps.push(execStep(["rm", "-f", path]), execStep(["systemctl", "daemon-reload"]));
  why.push(`remove ${unit}`);
  return { steps, ...(ctx.diff ? { diff: fileDiff(path, facts.contents[path] ?? Buffer.alloc(0), "", false) } : {}) };
}

function routeDiff(from: string, to: string): string {
  return unifiedDiff(`${from}\n`, `${to}\n`, { oldName: "default route (live)", newName: "default route (wanted)" });
}

export function planDefaultRoute(facts: HostFacts, d: DefaultRouteDesired, ctx: PlanContext = { diff: false }): OpPlan {
  if (d.unit === undefined) return check(facts, d);
  if (!/^[A-Za-z0-9@_.:-]+\.service$/.test(d.unit)) throw new PlanError(`unit name ${JSON.stringify(d.unit)} must end in .service`);
  const statePath = d.stateFile ?? GATEWAY_STATE_FILE;
  const state = readGatewayState(facts, statePath);
  const steps: Step[] = [];
  const why: string[] = [];
  const diffs: string[] = [];
  const stateDir = parentDir(statePath);
  const putState = (s: GatewayState) =>
    steps.push(
      ...(facts.exists.includes(stateDir) ? [] : [execStep(["mkdir", "-p", "-m", "0755", stateDir])]),
      ...planFile(facts, { path: statePath, content: JSON.stringify({ version: 1, ...s }, null, 2) + "\n", mode: 0o644, owner: "root", group: "root" }, { diff: false }).steps.map((x) => ({ ...x, describe: `record ${statePath}` })),
    );

  const gateway = d.gateway ?? "";
  if (gateway !== "") {
    const family = isIP(gateway);
    if (family === 0) throw new PlanError(`gateway ${JSON.stringify(gateway)} is not an IP address`);
    if (typeof d.unitContent !== "string") throw new PlanError(`no ${d.unit} to put the route through ${gateway} back on boot`, "the unit's text and the gateway come from different sources; this is a bug in whatever produced them");
    if (!d.unitContent.includes(`route replace default via ${gateway}`)) throw new PlanError(`the given ${d.unit} would not route through ${gateway} on boot`, "the unit's text and the gateway come from different sources; this is a bug in whatever produced them");
    const cur = preferred(facts, family);
    if (!same(cur?.via, gateway)) {
      // 1. Remember the route being replaced first (kept from the first time lvsctl replaced it).
      const previous = state ? state.previous : cur ? { ...(cur.via ? { via: cur.via } : {}), ...(cur.dev ? { dev: cur.dev } : {}) } : null;
      if (!state || state.gateway !== gateway) putState({ gateway, previous });
      // 2. Now: one route, replacing the preferred one (metric 0 wins over any other).
      steps.push(execStep([IP, ...(family === 6 ? ["-6"] : []), "route", "replace", "default", "via", gateway]));
      why.push(`${describeRoute(cur)} -> via ${gateway}`);
      if (ctx.diff) diffs.push(routeDiff(describeRoute(cur), `default via ${gateway}`));
    } else if (!state || state.gateway !== gateway) {
      // Already routed this way (by hand, or by an interrupted run): record it so an undo knows.
      putState({ gateway, previous: state?.previous ?? null });
      why.push(`record ${statePath}`);
    }
    // 3. On boot: the unit.
    if (facts.init !== "systemd") {
      const out = steps.length ? change(why.join("; "), steps) : ok(`default via ${gateway}`);
      return { ...out, warnings: [`the route through ${gateway} is not persisted: the host does not run systemd, so ${d.unit} cannot put it back on boot`] };
    }
    const u = unitSteps(facts, d.unit, d.unitContent, ctx, why);
    steps.push(...u.steps);
    if (u.diff) diffs.push(u.diff);
    if (!steps.length) return ok(`default via ${gateway}, persisted by ${d.unit}`);
    return change(why.join("; "), steps, diffs.length ? { diff: diffs.join("") } : {});
  }

  // No gateway wanted: undo what lvsctl set, if it set anything.
  if (state) {
    const family = isIP(state.gateway);
    const cur = preferred(facts, family);
    if (same(cur?.via, state.gateway)) {
      const p = state.previous;
      const v6 = family === 6 ? ["-6"] : [];
      if (p?.via) steps.push(execStep([IP, ...v6, "route", "replace", "default", "via", p.via, ...(p.dev ? ["dev", p.dev] : [])]));
      else if (p?.dev) steps.push(execStep([IP, ...v6, "route", "replace", "default", "dev", p.dev]));
      else steps.push(execStep([IP, ...v6, "route", "del", "default", "via", state.gateway]));
      why.push(`NAT no longer applies: ${describeRoute(cur)} -> ${p ? describeRoute(p) : "no default route"} (as before lvsctl)`);
      if (ctx.diff) diffs.push(routeDiff(describeRoute(cur), p ? describeRoute(p) : "no default route"));
    }
  }
  const r = removeUnitSteps(facts, d.unit, ctx, why);
  steps.push(...r.steps);
  if (r.diff) diffs.push(r.diff);
  if (state) {
    steps.push(execStep(["rm", "-f", statePath], `forget ${statePath}`));
    if (!why.length) why.push(`forget ${statePath}`);
  }
  if (steps.length) return change(why.join("; "), steps, diffs.length ? { diff: diffs.join("") } : {});
  if (d.services?.length) return check(facts, d);
  return ok("no NAT service");
}

export const defaultRouteOp: Operation<DefaultRouteDesired> = {
  name: "default_route",
  needs: (d, ctx) => {
    if (d.unit === undefined) return {};
    const statePath = d.stateFile ?? GATEWAY_STATE_FILE;
    const unitPath = `${UNIT_DIR}/${d.unit}`;
    return { exists: [parentDir(statePath)], contents: [statePath, ...(ctx.diff ? [unitPath] : [])], sha256: [statePath, unitPath], stats: [statePath, unitPath], units: [d.unit] };
  },
  plan: planDefaultRoute,
};
