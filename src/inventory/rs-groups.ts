// Real servers by group: a service's `real_servers` entry `{ group: web, port: 8080 }` stands for
// one `{ host: H, port: 8080 }` per host of group web (children included, in the group's order),
// each overridden by that host's `real_server` var (group vars < host vars, as every var merges:
// `real_server: { weight: 3 }`, a port, a check, ...).
//
// Expanded once, after the shape is checked and before the cross-document rules, so validate.ts
// and resolve.ts only ever see host entries; `pathBack` sends a rule's path into an expanded
// entry back to the entry the user wrote. Pure.
import { z } from "zod";
import type { Code } from "./codes.js";
import type { Path } from "./diagnostic.js";
import { didYouMean } from "./issues.js";
import { RealServer, type Inventory } from "./schema.js";
import { ALL, buildTopology, type Topology } from "./topology.js";

/** The host var that overrides a real server taken from a group. */
export const REAL_SERVER_VAR = "real_server";

/** What a host's `real_server` var may set: the per-real-server keys, never who it is. */
const RealServerVar = z.strictObject({
  port: RealServer.shape.port,
  weight: z.number().int().min(0).max(65535).optional(),
  inhibit_on_failure: RealServer.shape.inhibit_on_failure,
  uthreshold: RealServer.shape.uthreshold,
  lthreshold: RealServer.shape.lthreshold,
  notify_up: RealServer.shape.notify_up,
  notify_down: RealServer.shape.notify_down,
  check: RealServer.shape.check,
});

export interface GroupProblem {
  code: Code;
  path: Path;
  message: string;
  hint: string;
}

export interface Expanded {
  inventory: Inventory;
  problems: GroupProblem[];
  /** A path into the expanded inventory, as the path of what the user wrote. */
  pathBack: (p: Path) => Path;
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** A host's `real_server` var and where it was written: the host's own vars win over its groups'. */
function varOf(inv: Inventory, topo: Topology, host: string): { value: unknown; path: Path } | undefined {
  const h = has(inv.hosts, host) ? inv.hosts[host] : undefined;
  if (h?.vars && has(h.vars, REAL_SERVER_VAR)) return { value: h.vars[REAL_SERVER_VAR], path: ["hosts", host, "vars", REAL_SERVER_VAR] };
  const gs = (topo.groupsOf.get(host) ?? []).filter((g) => g !== ALL);
  // Deepest group first, then by name from the end (the one resolve.ts applies last wins).
  gs.sort((a, b) => (topo.depth.get(b) ?? 1) - (topo.depth.get(a) ?? 1) || (a < b ? 1 : a > b ? -1 : 0));
  for (const g of [...gs, ALL]) {
    const vars = has(inv.groups, g) ? inv.groups[g]!.vars : undefined;
    if (vars && has(vars, REAL_SERVER_VAR)) return { value: vars[REAL_SERVER_VAR], path: ["groups", g, "vars", REAL_SERVER_VAR] };
  }
  return undefined;
}

export function expandRealServerGroups(inv: Inventory): Expanded {
  const problems: GroupProblem[] = [];
  if (!inv.virtual_servers.some((s) => s.real_servers.some((r) => r.group !== undefined))) return { inventory: inv, problems, pathBack: (p) => p };
  const topo = buildTopology(inv);
  const groupNames = [...topo.members.keys()].filter((g) => g !== ALL);
  // Per service: expanded index -> the index the user wrote.
  const origin = new Map<number, number[]>();
  const virtual_servers = inv.virtual_servers.map((s, i) => {
    const back: number[] = [];
    const out: typeof s.real_servers = [];
    s.real_servers.forEach((r, j) => {
      if (r.group === undefined) {
        out.push(r);
        back.push(j);
        return;
      }
      const at: Path = ["virtual_servers", i, "real_servers", j];
      if (r.host !== undefined || r.address !== undefined) {
        problems.push({ code: "LVS432", path: [...at, "group"], message: `real_servers[${j}] names both a group and a ${r.host !== undefined ? "host" : "address"}`, hint: "write { group: NAME } for every host of a group, or { host: NAME } for one" });
        return;
      }
      const known = r.group === ALL || topo.members.has(r.group);
      if (!known) {
        const guess = didYouMean(r.group, groupNames);
        problems.push({ code: "LVS429", path: [...at, "group"], message: `real server group "${r.group}" is not a group of this inventory`, hint: guess ? `did you mean "${guess}"?` : `groups are: ${groupNames.join(", ") || "(none)"}` });
        return;
      }
      const hosts = (topo.members.get(r.group) ?? []).filter((h) => !topo.directors.includes(h));
      if (hosts.length === 0) {
        problems.push({ code: "LVS430", path: [...at, "group"], message: `real server group "${r.group}" has no hosts${(topo.members.get(r.group) ?? []).length > 0 ? " besides directors" : ""}, so it gives this service no real server`, hint: `add hosts to group ${r.group}, or list the real servers with { host: NAME }` });
        return;
      }
      const { group: _g, ...rest } = r;
      for (const h of hosts) {
        const v = varOf(inv, topo, h);
        let over: z.infer<typeof RealServerVar> = {};
        if (v !== undefined) {
          const parsed = RealServerVar.safeParse(v.value);
          if (parsed.success) over = parsed.data;
          else {
            const issue = parsed.error.issues[0]!;
            problems.push({ code: "LVS431", path: [...v.path, ...(issue.path as (string | number)[])], message: `host var ${REAL_SERVER_VAR} of ${h} (a real server of group ${r.group}): ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`, hint: "it may set port, weight, inhibit_on_failure, uthreshold, lthreshold, notify_up, notify_down and check" });
          }
        }
        const defined = Object.fromEntries(Object.entries(over).filter(([, x]) => x !== undefined));
        out.push({ ...rest, host: h, ...defined } as typeof r);
        back.push(j);
      }
    });
    origin.set(i, back);
    return { ...s, real_servers: out };
  });
  const pathBack = (p: Path): Path => {
    const [k, i, rs, j, ...tail] = p;
    if (k !== "virtual_servers" || typeof i !== "number" || rs !== "real_servers" || typeof j !== "number") return p;
    const orig = origin.get(i)?.[j];
    if (orig === undefined) return p;
    const wrote = inv.virtual_servers[i]?.real_servers[orig];
    // Every key of an entry made from a group points at the group entry.
    return wrote?.group !== undefined ? ["virtual_servers", i, "real_servers", orig, "group"] : ["virtual_servers", i, "real_servers", orig, ...tail];
  };
  return { inventory: { ...inv, virtual_servers }, problems, pathBack };
}
