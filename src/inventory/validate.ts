// Rules that look across the document: things each key's own shape cannot tell (schema.ts does
// that), but that break a cluster all the same. Each rule has its own code (codes.ts), points at
// the YAML node that causes the problem, and says how to fix it. Rules never throw and never
// stop at the first finding.
import { isAbsolute, join } from "node:path";
import type { SourceLocation } from "../errors/index.js";
import type { Code } from "./codes.js";
import { formatPath, type Diagnostic, type Path, type Severity } from "./diagnostic.js";
import { didYouMean } from "./issues.js";
import { authPassProblem, KEEPALIVED_DEFAULTS, NAME_PATTERN } from "./limits.js";
import { jumpList, parseJumpTarget } from "./resolve.js";
import { DIRECTORS, Inventory as InventorySchema, REALSERVERS, type Inventory, type SecretRef } from "./schema.js";
import { tarballVersion } from "./tarball-name.js";
import { textFields, textProblem, walkText } from "./text.js";
import { ALL, buildTopology, canonicalIp, inSubnet, instanceMembers, ipFamily, natGateway, parseVip, serviceName, vipProblem, VRRP_OWNER_PRIORITY, type GatewayVip, type ParsedVip, type Topology } from "./topology.js";

export interface ValidateContext {
  /** Where a path of the (validated) inventory is in the user's files. */
  at: (path: Path, opts?: { key?: boolean }) => SourceLocation | undefined;
  /** For `{env: NAME}` secrets. */
  env: NodeJS.ProcessEnv;
  /**
   * Names present in the file, including entries the schema rejected, so a reference to a
   * broken host is not also reported as a reference to a missing one.
   */
  knownHosts?: ReadonlySet<string>;
  knownGroups?: ReadonlySet<string>;
  /** Whether the user wrote this key (the schema fills in defaults, so the data cannot tell). */
  has?: (path: Path) => boolean;
  /** Whether a `{file: PATH}` secret exists (PATH relative to the inventory's folder); unset: not checked. */
  fileExists?: (path: string) => boolean;
  /** Why an existing `{file: PATH}` secret cannot be read as one (not a regular file, too large); unset: not checked. */
  fileProblem?: (path: string) => string | undefined;
  /** The inventory's folder, for relative secret files. */
  baseDir?: string;
  /** Whether the schema already rejected the value at this path (so rules stay quiet about it). */
  rejected?: (path: Path) => boolean;
}

type Report = (severity: Severity, code: Code, path: Path, message: string, hint?: string, key?: boolean) => void;
/** Rules after textRules skip values it refused (textBad holds their paths, JSON-encoded). */
type Rule = (inv: Inventory, topo: Topology, ctx: ValidateContext, report: Report, textBad: Set<string>) => void;

export function validate(inv: Inventory, ctx: ValidateContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report: Report = (severity, code, path, message, hint, key) => {
    const location = ctx.at(path, key ? { key } : undefined);
    out.push({ severity, code, message, ...(hint ? { hint } : {}), ...(location ? { location } : {}) });
  };
  const topo = buildTopology(inv);
  const textBad = new Set<string>();
  const rules: Rule[] = [textRules, hostAndGroupRules, secretRules, vrrpRules, syncDaemonRules, serviceRules, natGatewayRules, unusedRealServers, backendRules];
  for (const rule of rules) rule(inv, topo, ctx, report, textBad);
  return out;
}

// --- text boundaries -------------------------------------------------------------------------

/** Where each string field of the schema sits, and its kind (text.ts). */
const TEXT_FIELDS = textFields(InventorySchema);

/** Every string of the inventory against what the files it reaches allow (text.ts). */
function textRules(inv: Inventory, _topo: Topology, _ctx: ValidateContext, report: Report, textBad: Set<string>): void {
  walkText(inv, TEXT_FIELDS, (path, kind, value, key) => {
    const p = textProblem(kind, value);
    if (!p) return;
    textBad.add(JSON.stringify(path));
    const where = key ? `${formatPath(path.slice(0, -1))}: ${kind === "sysctlKey" ? "" : `the key ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)} `}` : `${formatPath(path)} `;
    report("error", p.code, path, `${where}${p.message}`, p.hint, key);
  });
}

const has = <T>(rec: Record<string, T>, k: string): boolean => Object.prototype.hasOwnProperty.call(rec, k);
const hostExists = (inv: Inventory, ctx: ValidateContext, h: string) => has(inv.hosts, h) || (ctx.knownHosts?.has(h) ?? false);
const groupExists = (inv: Inventory, ctx: ValidateContext, g: string) => g === ALL || has(inv.groups, g) || (ctx.knownGroups?.has(g) ?? false);
const list = (xs: Iterable<string>) => [...xs].join(", ");
/** Whether the file names hosts the schema rejected (they may be the directors rules look for). */
const hostsDropped = (inv: Inventory, ctx: ValidateContext) => [...(ctx.knownHosts ?? [])].some((h) => !has(inv.hosts, h));

// --- hosts and groups ------------------------------------------------------------------------

function hostAndGroupRules(inv: Inventory, topo: Topology, ctx: ValidateContext, report: Report): void {
  const groupNames = Object.keys(inv.groups);
  const hostNames = Object.keys(inv.hosts);

  // Names end up in file names (rendered configs per host), unit names and logs.
  const NAME = NAME_PATTERN;
  const RESERVED = new Set(["__proto__", "constructor", "prototype"]); // JavaScript object keys
  const nameHint = (n: string) => (RESERVED.has(n) ? `"${n}" is reserved; choose another name` : "use letters, digits, '_', '.' and '-', starting with a letter, digit or '_'");
  // The file's names, not only the parsed ones: "__proto__" does not survive parsing.
  for (const h of new Set([...hostNames, ...(ctx.knownHosts ?? [])])) {
    if (!NAME.test(h) || h.length > 253 || RESERVED.has(h)) report("error", "LVS215", ["hosts", h], `host name ${JSON.stringify(h)} cannot be used: names become file names`, nameHint(h), true);
  }
  for (const g of new Set([...groupNames, ...(ctx.knownGroups ?? [])])) {
    if (!NAME.test(g) || RESERVED.has(g)) report("error", "LVS215", ["groups", g], `group name ${JSON.stringify(g)} cannot be used`, nameHint(g), true);
  }
  for (const [h, host] of Object.entries(inv.hosts)) {
    (host.groups ?? []).forEach((g, i) => {
      if (!groupExists(inv, ctx, g)) {
        const guess = didYouMean(g, groupNames);
        report("error", "LVS200", ["hosts", h, "groups", i], `host ${h} is in group "${g}", which does not exist`, guess ? `did you mean "${guess}"? otherwise add it under groups:` : `add "${g}:" under groups:, or remove it here`);
      }
    });
  }

  for (const [g, group] of Object.entries(inv.groups)) {
    group.hosts.forEach((h, i) => {
      if (!hostExists(inv, ctx, h)) {
        const guess = didYouMean(h, hostNames);
        report("error", "LVS201", ["groups", g, "hosts", i], `group ${g} lists host "${h}", which is not defined under hosts:`, guess ? `did you mean "${guess}"?` : `add "${h}:" with its address under hosts:`);
      }
    });
    (group.children ?? []).forEach((c, i) => {
      if (!groupExists(inv, ctx, c) || c === ALL) {
        const guess = didYouMean(c, groupNames);
        report("error", "LVS202", ["groups", g, "children", i], c === ALL ? `group ${g} cannot have "all" as a child: every group is already inside all` : `group ${g} has child group "${c}", which does not exist`, guess && c !== ALL ? `did you mean "${guess}"?` : `define "${c}:" under groups:, or remove it here`);
      }
    });
  }

  // Cycles through children: a group inside itself is no group at all.
  const childrenOf = (g: string) => (has(inv.groups, g) ? (inv.groups[g]!.children ?? []).filter((c) => has(inv.groups, c)) : []);
  for (const { cycle, from } of findCycles(groupNames, childrenOf)) {
    // The position in the file's list (childrenOf skipped names that are not groups).
    const i = (inv.groups[from]!.children ?? []).indexOf(cycle[cycle.length - 1]!);
    report("error", "LVS203", ["groups", from, "children", i], `groups contain each other: ${cycle.join(" -> ")}`, "remove one of the children: entries to break the loop");
  }

  // No directors at all, while there are VRRP instances for them to run. (Quiet when hosts were
  // dropped for schema errors: the directors may be among them.) Services without VRRP are fine:
  // an inventory that only bootstraps real servers, for directors managed elsewhere, names the
  // services (their VIPs and methods) and no director.
  if (topo.directors.length === 0 && !hostsDropped(inv, ctx) && inv.vrrp_instances.length > 0) {
    const path: Path = has(inv.groups, DIRECTORS) ? ["groups", DIRECTORS] : ["vrrp_instances"];
    report("error", "LVS208", path, `${has(inv.groups, DIRECTORS) ? "the directors group has no hosts" : "there is no directors group"}, but vrrp_instances need directors to run them`, `list the load balancers under groups: directors: hosts: [...]; an inventory that only sets up real servers needs no directors and no vrrp_instances`, true);
  }

  // A director that is also a real server (by group): its own VIP would be both held and answered.
  const realservers = new Set(topo.realservers);
  for (const h of topo.directors) {
    if (realservers.has(h)) {
      const listed = inv.groups[REALSERVERS]?.hosts.indexOf(h) ?? -1;
      const path: Path = listed >= 0 ? ["groups", REALSERVERS, "hosts", listed] : ["hosts", h];
      report("error", "LVS209", path, `host ${h} is both a director and a real server`, "a director cannot also serve its own VIP behind IPVS here; use separate hosts");
    }
  }

  // Two hosts answering on one address and port: one of them is a copy-paste slip.
  const seenAddr = new Map<string, string>();
  for (const h of hostNames) {
    const host = inv.hosts[h]!;
    const key = `${canonicalIp(host.address)}|${host.port ?? inv.defaults?.port ?? 22}`;
    const first = seenAddr.get(key);
    if (first) report("warning", "LVS210", ["hosts", h, "address"], `hosts ${first} and ${h} have the same address ${host.address}${host.port ? ` and port ${host.port}` : ""}`, "check for a copy-paste slip; if both really are one machine, give them different SSH ports");
    else seenAddr.set(key, h);
  }

  // Jump hosts.
  const jumpPaths: { path: Path; jump: NonNullable<Inventory["defaults"]>["jump"]; owner?: string }[] = [];
  if (inv.defaults?.jump) jumpPaths.push({ path: ["defaults", "jump"], jump: inv.defaults.jump });
  for (const [g, group] of Object.entries(inv.groups)) if (group.ssh?.jump) jumpPaths.push({ path: ["groups", g, "ssh", "jump"], jump: group.ssh.jump });
  for (const [h, host] of Object.entries(inv.hosts)) if (host.jump) jumpPaths.push({ path: ["hosts", h, "jump"], jump: host.jump, owner: h });
  for (const { path, jump, owner } of jumpPaths) {
    jumpList(jump).forEach((j, i) => {
      const p: Path = typeof jump === "string" ? path : [...path, i];
      if (hostExists(inv, ctx, j)) {
        if (owner === j) report("error", "LVS205", p, `host ${owner} uses itself as its jump host`, "remove it from jump:");
        return;
      }
      const t = parseJumpTarget(j);
      // A bare word is meant as an inventory host; user@host, host:port or a dotted name is an address.
      const literal = t && (j.includes("@") || j.includes(":") || j.includes(".") || ipFamily(t.address) !== 0);
      if (!literal) {
        const guess = didYouMean(j, hostNames);
        report("error", "LVS204", p, t ? `jump host "${j}" is not an inventory host` : `jump host "${j}" is neither an inventory host nor [user@]host[:port]`, guess ? `did you mean "${guess}"?` : "add it under hosts:, or write it as user@address:port");
      }
    });
  }
  // Loops through inventory jump hosts (a -> b -> a), reported once per loop. A host that
  // jumps through itself is reported above.
  const jumpsOf = (h: string) => jumpList(inv.hosts[h]?.jump).filter((j) => j !== h && has(inv.hosts, j));
  for (const { cycle } of findCycles(hostNames, jumpsOf)) {
    report("error", "LVS205", ["hosts", cycle[0]!, "jump"], `jump hosts form a loop: ${cycle.join(" -> ")}`, "one host in the chain must be reachable directly");
  }

  // Become password set while become is off.
  for (const [h, host] of Object.entries(inv.hosts)) {
    if (host.become === false && host.password === undefined && inv.defaults?.become && typeof inv.defaults.become === "object" && inv.defaults.become.password) {
      report("warning", "LVS211", ["hosts", h, "become"], `host ${h} turns become off, but defaults give a become password`, "fine if intended; lvsctl will not use sudo on this host");
    }
  }

  // agent: true without an agent to talk to.
  const agentTrue: Path[] = [];
  if (inv.defaults?.agent === true) agentTrue.push(["defaults", "agent"]);
  for (const [g, group] of Object.entries(inv.groups)) if (group.ssh?.agent === true) agentTrue.push(["groups", g, "ssh", "agent"]);
  for (const [h, host] of Object.entries(inv.hosts)) if (host.agent === true) agentTrue.push(["hosts", h, "agent"]);
  if (agentTrue.length > 0 && !ctx.env["SSH_AUTH_SOCK"]) {
    for (const p of agentTrue) report("warning", "LVS207", p, "agent: true, but SSH_AUTH_SOCK is not set in this environment", "start ssh-agent (eval $(ssh-agent); ssh-add KEY), or give agent: a socket path or key_file:");
  }
}

// --- secrets ---------------------------------------------------------------------------------

function secretRules(inv: Inventory, _topo: Topology, ctx: ValidateContext, report: Report): void {
  const check = (s: SecretRef | undefined, path: Path, what: string) => {
    if (s === undefined) return;
    if (typeof s === "string") {
      report("warning", "LVS206", path, `${what} is written in clear in the inventory`, `use {env: NAME} (read from the environment), {file: PATH} (read from a file) or {prompt: TEXT} (asked on the terminal) so the secret stays out of the file and of version control`);
    } else if ("env" in s && ctx.env[s.env] === undefined) {
      report("warning", "LVS207", path, `${what} comes from environment variable ${s.env}, which is not set here`, `export ${s.env}=... before deploying, or use {file: PATH} or {prompt: TEXT}`);
    } else if ("file" in s && ctx.fileExists) {
      const full = isAbsolute(s.file) ? s.file : join(ctx.baseDir ?? ".", s.file);
      const problem = ctx.fileExists(full) ? ctx.fileProblem?.(full) : undefined;
      if (!ctx.fileExists(full)) report("warning", "LVS214", path, `${what} comes from file ${s.file}, which does not exist${s.file === full ? "" : ` (${full})`}`, "create it (mode 0600) before deploying; relative paths start at the inventory's folder");
      else if (problem) report("error", "LVS217", path, `${what} comes from file ${s.file}, which cannot be a secret: ${problem}`, "point it at a regular file holding only the secret");
    }
  };
  const ssh = (x: { password?: SecretRef; become?: boolean | { password?: SecretRef | undefined } } | undefined, path: Path) => {
    if (!x) return;
    check(x.password, [...path, "password"], `the SSH password at ${formatPath(path)}`);
    if (x.become && typeof x.become === "object") check(x.become.password, [...path, "become", "password"], `the become (sudo) password at ${formatPath(path)}`);
  };
  ssh(inv.defaults, ["defaults"]);
  for (const [g, group] of Object.entries(inv.groups)) ssh(group.ssh, ["groups", g, "ssh"]);
  for (const [h, host] of Object.entries(inv.hosts)) ssh(host, ["hosts", h]);
  inv.vrrp_instances.forEach((inst, i) => {
    check(inst.authentication?.auth_pass, ["vrrp_instances", i, "authentication", "auth_pass"], `auth_pass of VRRP instance ${inst.name}`);
  });
}

// --- VRRP ------------------------------------------------------------------------------------

const V3_MAX_ADVERT = 40.95; // RFC 5798 section 5.2.7: 12-bit field in centiseconds (4095)
const V2_MAX_ADVERT = 255; // RFC 3768 section 5.3.7: 8-bit field in seconds

function vrrpRules(inv: Inventory, topo: Topology, ctx: ValidateContext, report: Report, textBad: Set<string>): void {
  const addressOf = (h: string) => (has(inv.hosts, h) ? inv.hosts[h]!.address : undefined);
  const names = new Map<string, number>();
  // (director, interface, family, vrid) -> the instance index that claimed it first
  const vrids = new Map<string, number>();
  const vipOwner = new Map<string, { inst: number; vip: number }>();
  const droppedHosts = hostsDropped(inv, ctx);

  inv.vrrp_instances.forEach((inst, i) => {
    const base: Path = ["vrrp_instances", i];
    const first = names.get(inst.name);
    if (first !== undefined) report("error", "LVS310", [...base, "name"], `two VRRP instances are named ${inst.name} (also vrrp_instances[${first}])`, "give each instance its own name; sync groups and status refer to them by name");
    else names.set(inst.name, i);

    // Members that are not directors.
    for (const m of Object.keys(inst.members ?? {})) {
      if (!topo.directors.includes(m)) {
        const exists = hostExists(inv, ctx, m);
        const guess = didYouMean(m, topo.directors);
        report("error", "LVS306", [...base, "members", m], exists ? `instance ${inst.name} lists ${m} as a member, but ${m} is not in the directors group` : `instance ${inst.name} lists member "${m}", which is not a host`, guess ? `did you mean "${guess}"?` : `members must be hosts of the directors group (${list(topo.directors) || "none yet"})`, true);
      }
    }

    const members = instanceMembers(inst, topo, addressOf, { vrrpStrict: inv.global_defs.vrrp_strict });
    if (members.length === 0 && topo.directors.length > 0 && !droppedHosts) {
      report("error", "LVS301", inst.members ? [...base, "members"] : [...base, "name"], `no director runs VRRP instance ${inst.name}, so nobody would ever become master of its VIPs`, inst.members ? `list at least one director under members: (${list(topo.directors)})` : "add hosts to the directors group", true);
    }

    // Version-dependent advert interval.
    if (inst.version === 2) {
      if (!Number.isInteger(inst.advert_int) || inst.advert_int < 1 || inst.advert_int > V2_MAX_ADVERT) {
        report("error", "LVS303", [...base, "advert_int"], `advert_int ${inst.advert_int} is not valid for VRRP version 2: it must be whole seconds from 1 to ${V2_MAX_ADVERT}`, "use a whole number of seconds, or set version: 3 for sub-second adverts");
      }
    } else {
      const cs = inst.advert_int * 100;
      if (inst.advert_int < 0.01 || inst.advert_int > V3_MAX_ADVERT || Math.abs(cs - Math.round(cs)) > 1e-6) {
        report("error", "LVS303", [...base, "advert_int"], `advert_int ${inst.advert_int} is not valid for VRRP version 3: it must be 0.01 to ${V3_MAX_ADVERT} seconds in steps of 0.01`, "for example 0.1 or 1");
      }
    }

    // nopreempt needs BACKUP everywhere (keepalived ignores nopreempt on a MASTER).
    if (inst.nopreempt) {
      if (inst.state === "MASTER") report("error", "LVS304", [...base, "state"], `instance ${inst.name} has nopreempt with state MASTER; keepalived only honours nopreempt when the initial state is BACKUP`, "set state: BACKUP (the highest priority still wins the first election)");
      for (const [m, mv] of Object.entries(inst.members ?? {})) {
        if (mv.state === "MASTER") report("error", "LVS304", [...base, "members", m, "state"], `instance ${inst.name} has nopreempt, but member ${m} starts as MASTER; keepalived requires BACKUP with nopreempt`, "set state: BACKUP, or drop nopreempt");
      }
    }

    // preempt_delay: keepalived 2.2.7 resets it with nopreempt or vrrp_strict, and clears it on
    // an initial MASTER.
    if (inst.preempt_delay !== undefined && inst.preempt_delay > 0) {
      if (inst.nopreempt || inv.global_defs.vrrp_strict) {
        report("error", "LVS322", [...base, "preempt_delay"], `preempt_delay in instance ${inst.name} has no effect ${inst.nopreempt ? "with nopreempt" : "under vrrp_strict"} (keepalived resets it)`, inst.nopreempt ? "keep either nopreempt (never take over) or preempt_delay (take over after a delay)" : "remove preempt_delay, or turn vrrp_strict off", true);
      } else {
        for (const m of members) {
          if (m.state === "MASTER" && m.stateGiven) {
            const p: Path = inst.members?.[m.host]?.state ? [...base, "members", m.host, "state"] : [...base, "state"];
            report("error", "LVS323", p, `${m.host} starts instance ${inst.name} as MASTER, where preempt_delay cannot work (keepalived clears it)`, "use state: BACKUP (or leave state out): the delay applies to a BACKUP taking over");
            break;
          }
        }
      }
    }
    if (inv.global_defs.vrrp_strict) {
      for (const m of members) {
        if (m.state === "MASTER" && m.stateGiven && m.priority !== VRRP_OWNER_PRIORITY) {
          const p: Path = inst.members?.[m.host]?.state ? [...base, "members", m.host, "state"] : [...base, "state"];
          report("error", "LVS324", p, `${m.host} starts instance ${inst.name} as MASTER with priority ${m.priority}; under vrrp_strict only the address owner (priority 255) may`, "use state: BACKUP (or leave state out), or turn vrrp_strict off");
          break;
        }
      }
    }

    // Priorities: equal ones leave the election to the highest IP address.
    if (!inst.allow_equal_priority) {
      const byPrio = new Map<number, string[]>();
      for (const m of members) byPrio.set(m.priority, [...(byPrio.get(m.priority) ?? []), m.host]);
      for (const [prio, hs] of byPrio) {
        if (hs.length < 2) continue;
        const second = hs[1]!;
        const path: Path = inst.members?.[second]?.priority !== undefined ? [...base, "members", second, "priority"] : inst.priority !== undefined ? [...base, "priority"] : [...base, "name"];
        report("error", "LVS302", path, `directors ${hs.join(" and ")} have the same priority ${prio} in instance ${inst.name}; the election would fall to whichever has the highest IP address`, "give each director its own priority under members:, or set allow_equal_priority: true if that tie-break is intended");
      }
    }
    if (members.filter((m) => m.state === "MASTER" && m.stateGiven).length > 1 && !inst.nopreempt) {
      report("warning", "LVS316", inst.state === "MASTER" ? [...base, "state"] : [...base, "members"], `more than one director of instance ${inst.name} starts as MASTER; they will fight until the adverts settle it`, "give state: MASTER to one director only, or leave state out and let priority decide");
    }
    if (members.length > 0 && inst.priority === 255 && members.length > 1) {
      // priority 255 = address owner (RFC 3768 5.3.4); several owners of one VIP is a conflict.
      report("warning", "LVS302", [...base, "priority"], `priority 255 marks the address owner (RFC 3768 section 5.3.4) and applies here to every director of ${inst.name}`, "use 1-254 and different priorities per director");
    }

    // VIPs: well-formed, one family for v2, not claimed twice. Excluded VIPs (not in adverts)
    // follow the same rules but the advert's: any family, any number.
    const parsed: ParsedVip[] = [];
    const vipList = (key: "virtual_ipaddress" | "virtual_ipaddress_excluded", vs: readonly (typeof inst.virtual_ipaddress)[number][]) => vs.forEach((v, j) => {
      if (textBad.has(JSON.stringify([...base, key, j]))) return;
      const p = parseVip(v);
      if ("error" in p) {
        report("error", "LVS309", [...base, key, j], `VIP ${typeof v === "string" ? JSON.stringify(v) : ""} in instance ${inst.name}: ${p.error}`, 'write ADDRESS[/PREFIX] [dev IFACE] [label NAME], for example "10.0.0.100/24"');
        return;
      }
      if (key === "virtual_ipaddress") parsed.push(p);
      const unusable = vipProblem(p.address, p.prefix);
      if (unusable) report("error", "LVS325", [...base, key, j], `VIP ${p.address}${p.prefix === 0 ? "/0" : ""} in instance ${inst.name} ${unusable.message}; no director can hold it`, unusable.hint);
      const canon = canonicalIp(p.address);
      const prev = vipOwner.get(canon);
      if (prev) {
        report("error", "LVS307", [...base, key, j], prev.inst === i ? `VIP ${p.address} is listed twice in instance ${inst.name}` : `VIP ${p.address} is in two VRRP instances: ${inv.vrrp_instances[prev.inst]?.name} and ${inst.name}`, "a VIP can belong to only one instance, or both masters would claim it");
      } else vipOwner.set(canon, { inst: i, vip: j });
      if (key === "virtual_ipaddress" && p.family === 6 && inst.version === 2) {
        report("error", "LVS317", [...base, key, j], `IPv6 VIP ${p.address} in instance ${inst.name}, which uses VRRP version 2 (IPv4 only, RFC 3768)`, "set version: 3 for IPv6 VIPs (RFC 5798), or move it to virtual_ipaddress_excluded (not in adverts, so any family)");
      }
    });
    vipList("virtual_ipaddress", inst.virtual_ipaddress);
    vipList("virtual_ipaddress_excluded", inst.virtual_ipaddress_excluded ?? []);
    const fams = new Set(parsed.map((p) => p.family));
    if (fams.size > 1) {
      report("error", "LVS318", [...base, "virtual_ipaddress"], `instance ${inst.name} mixes IPv4 and IPv6 VIPs; one VRRP instance speaks one address family (RFC 5798 section 1)`, "split them into two instances (one per family), optionally joined in a sync group");
    }
    const family = parsed[0]?.family ?? 4;

    // VRID uniqueness per (director, interface, family).
    for (const m of members) {
      const key = `${m.host}|${m.interface}|${family}|${inst.virtual_router_id}`;
      const prev = vrids.get(key);
      if (prev !== undefined) {
        report("error", "LVS300", [...base, "virtual_router_id"], `instances ${inv.vrrp_instances[prev]?.name} and ${inst.name} both use VRID ${inst.virtual_router_id} on ${m.interface} of ${m.host}; their adverts would be taken for each other's`, "give each instance on one interface its own virtual_router_id (1-255)");
        break;
      }
      vrids.set(key, i);
    }

    // Authentication.
    const auth = inst.authentication;
    if (auth) {
      if (inv.global_defs.vrrp_strict) report("error", "LVS319", [...base, "authentication"], `instance ${inst.name} uses authentication, which vrrp_strict forbids (keepalived ignores it with a warning)`, "remove authentication:, or turn vrrp_strict off in global_defs", true);
      if (inst.version === 3) report("error", "LVS313", [...base, "authentication"], `instance ${inst.name} uses VRRP version 3, which has no authentication (RFC 5798 section 9)`, "remove authentication:, or use version: 2", true);
      // A secret from env, file or prompt is checked when the renderer resolves it (LVS704).
      const problem = typeof auth.auth_pass === "string" ? authPassProblem(auth.auth_pass) : undefined;
      if (problem) report("error", "LVS312", [...base, "authentication", "auth_pass"], problem.message, problem.hint);
    }

    // Unicast.
    if (inst.unicast === true && inst.unicast_peer) {
      report("error", "LVS314", [...base, "unicast_peer"], `instance ${inst.name} has both unicast: true (peers computed from the directors) and an explicit unicast_peer list`, "keep one of them", true);
    }
    if (inst.unicast === false && (inst.unicast_peer || inst.unicast_src_ip)) {
      report("error", "LVS314", [...base, "unicast"], `instance ${inst.name} says unicast: false but gives unicast settings`, "remove unicast: false, or the unicast_src_ip / unicast_peer settings", true);
    }
    if (inst.unicast_src_ip !== undefined && inst.mcast_src_ip !== undefined) {
      report("error", "LVS330", [...base, "mcast_src_ip"], `instance ${inst.name} gives both mcast_src_ip and unicast_src_ip; keepalived reads them into one source address, so one would silently win`, "keep one: mcast_src_ip for multicast adverts, unicast_src_ip with unicast peers (lvsctl writes the one that fits)", true);
    }
    const srcKey = inst.unicast_src_ip !== undefined ? "unicast_src_ip" : inst.mcast_src_ip !== undefined ? "mcast_src_ip" : undefined;
    if (srcKey && members.length > 1 && !members.every((m) => inst.members?.[m.host]?.unicast_src_ip)) {
      report("error", "LVS314", [...base, srcKey], `instance ${inst.name} gives one ${srcKey} for ${members.length} directors; each director must send from its own address`, "set members: <director>: unicast_src_ip: for each director, or use unicast: true", true);
    }
    if (inst.unicast_peer) {
      const without = members.filter((m) => m.unicastSrcIp === undefined).map((m) => m.host);
      if (without.length > 0) {
        report("error", "LVS305", [...base, "unicast_peer"], `instance ${inst.name} lists unicast_peer but ${without.join(", ")} ${without.length > 1 ? "have" : "has"} no unicast_src_ip`, "set unicast_src_ip per director under members:, or use unicast: true to take the directors' addresses", true);
      }
      inst.unicast_peer.forEach((p, j) => {
        if (ipFamily(p) !== family) report("error", "LVS314", [...base, "unicast_peer", j], `unicast peer ${p} is not of the instance's address family (IPv${family})`, "peers must use the same family as the VIPs");
      });
    }
    if (inst.unicast === true) {
      for (const m of members) {
        if (m.unicastSrcIp !== undefined && ipFamily(m.unicastSrcIp) === 0) {
          report("error", "LVS315", inst.members?.[m.host] ? [...base, "members", m.host] : ["hosts", m.host, "address"], `unicast: true in instance ${inst.name} needs an IP address for ${m.host}, but its address is ${m.unicastSrcIp}`, `set members: ${m.host}: unicast_src_ip: <IP>`, true);
        }
      }
    }
  });

  // Sync groups.
  const inGroup = new Map<string, string>();
  const groupNames = new Map<string, number>();
  const runsOn = (n: string): string => {
    const idx = names.get(n);
    const instDef = idx !== undefined ? inv.vrrp_instances[idx] : undefined;
    return instDef ? instanceMembers(instDef, topo, addressOf, { vrrpStrict: inv.global_defs.vrrp_strict }).map((m) => m.host).sort().join(",") : "";
  };
  inv.vrrp_sync_groups.forEach((g, i) => {
    const prevName = groupNames.get(g.name);
    if (prevName !== undefined) report("error", "LVS320", ["vrrp_sync_groups", i, "name"], `two sync groups are named ${g.name} (also vrrp_sync_groups[${prevName}])`, "give each sync group its own name");
    else groupNames.set(g.name, i);
    // keepalived needs every instance of a sync group on each director that has the group.
    const known = g.group.filter((n) => names.has(n));
    const first = known[0];
    if (first !== undefined) {
      known.slice(1).forEach((n) => {
        if (runsOn(n) !== runsOn(first)) {
          const j = g.group.indexOf(n);
          report("error", "LVS321", ["vrrp_sync_groups", i, "group", j], `sync group ${g.name}: instance ${n} runs on ${runsOn(n) || "no director"}, but ${first} runs on ${runsOn(first) || "no director"}; a sync group must be whole on every director`, "give the instances of one sync group the same members:");
        }
      });
    }
    g.group.forEach((n, j) => {
      if (!names.has(n)) {
        const guess = didYouMean(n, [...names.keys()]);
        report("error", "LVS308", ["vrrp_sync_groups", i, "group", j], `sync group ${g.name} names instance "${n}", which does not exist`, guess ? `did you mean "${guess}"?` : `defined instances: ${list(names.keys()) || "none"}`);
        return;
      }
      const prev = inGroup.get(n);
      if (prev !== undefined) report("error", "LVS311", ["vrrp_sync_groups", i, "group", j], `instance ${n} is in two sync groups (${prev} and ${g.name}); keepalived allows one`, "merge the two sync groups, or remove the instance from one");
      else inGroup.set(n, g.name);
    });
  });
}

// --- connection sync -------------------------------------------------------------------------

/** global_defs.lvs_sync_daemon, and keepalived 1.x's per-instance lvs_sync_daemon_interface. */
function syncDaemonRules(inv: Inventory, _topo: Topology, _ctx: ValidateContext, report: Report): void {
  const g = inv.global_defs.lvs_sync_daemon;
  const names = inv.vrrp_instances.map((i) => i.name);
  const old = inv.vrrp_instances.flatMap((inst, i) => (inst.lvs_sync_daemon_interface !== undefined ? [{ inst, i }] : []));
  for (const { inst, i } of old) {
    report("warning", "LVS327", ["vrrp_instances", i, "lvs_sync_daemon_interface"], `lvs_sync_daemon_interface is keepalived 1.x's spelling (keepalived 2.x warns that it is deprecated); lvsctl reads it as global_defs lvs_sync_daemon on ${inst.lvs_sync_daemon_interface} following instance ${inst.name}, and writes it that way`, `move it: global_defs: { lvs_sync_daemon: { interface: ${inst.lvs_sync_daemon_interface}, instance: ${inst.name} } }`, true);
  }
  // keepalived takes the first and ignores the others, with an error each (global_parser.c, vrrp_parser.c).
  const extra = g ? old : old.slice(1);
  for (const { inst, i } of extra) {
    report("error", "LVS329", ["vrrp_instances", i, "lvs_sync_daemon_interface"], g ? `instance ${inst.name} sets lvs_sync_daemon_interface, but global_defs.lvs_sync_daemon already sets connection sync; one director runs one sync daemon` : `instance ${inst.name} sets lvs_sync_daemon_interface, and so does instance ${old[0]!.inst.name}; one director runs one sync daemon, following one instance`, "keep one setting: global_defs.lvs_sync_daemon", true);
  }
  if (!g) return;
  if (!names.includes(g.instance)) {
    const guess = didYouMean(g.instance, names);
    report("error", "LVS328", ["global_defs", "lvs_sync_daemon", "instance"], `lvs_sync_daemon follows instance "${g.instance}", which does not exist (keepalived would drop connection sync with an error)`, guess ? `did you mean "${guess}"?` : `defined instances: ${list(names) || "none"}`);
  }
  if (g.group !== undefined && !isMulticast(g.group)) {
    report("error", "LVS331", ["global_defs", "lvs_sync_daemon", "group"], `lvs_sync_daemon group ${g.group} is not a multicast address (keepalived ignores it with an error, and the kernel would use 224.0.0.81)`, "give a multicast group such as 224.0.0.81 (IPv4) or ff02::1:81 (IPv6), or leave group out");
  }
}

function isMulticast(ip: string): boolean {
  if (ipFamily(ip) === 4) return Number(ip.split(".")[0]) >= 224 && Number(ip.split(".")[0]) <= 239;
  return /^ff/i.test(ip);
}

// --- virtual services ------------------------------------------------------------------------

function serviceRules(inv: Inventory, topo: Topology, ctx: ValidateContext, report: Report): void {
  const seen = new Map<string, number>();
  const vrrpVips = new Set(inv.vrrp_instances.flatMap((inst) => inst.virtual_ipaddress.map(parseVip).filter((p): p is ParsedVip => !("error" in p)).map((p) => canonicalIp(p.address))));
  const hostNames = Object.keys(inv.hosts);
  const directors = new Set(topo.directors);

  inv.virtual_servers.forEach((s, i) => {
    const base: Path = ["virtual_servers", i];
    const name = serviceName(s);
    const hasVip = s.vip !== undefined || s.port !== undefined;
    const schemaSaid = ["vip", "port", "fwmark"].some((k) => ctx.rejected?.([...base, k]));
    if (s.fwmark !== undefined && hasVip) {
      report("error", "LVS400", [...base, "fwmark"], `service ${name} has both fwmark and vip/port`, "a service is either vip + port or fwmark (the firewall marks the packets); remove one", true);
    } else if (s.fwmark === undefined && (s.vip === undefined || s.port === undefined) && !schemaSaid) {
      report("error", "LVS400", base, `service ${s.vip ?? `virtual_servers[${i}]`} needs ${s.vip === undefined && s.port === undefined ? "vip and port" : s.vip === undefined ? "a vip" : "a port"} (or a fwmark)`, "add vip: ADDRESS and port: N, or fwmark: N");
    }

    const key = s.fwmark !== undefined ? `fwmark|${s.fwmark}|${s.vip === undefined ? "" : ipFamily(s.vip)}` : s.vip !== undefined && s.port !== undefined ? `${canonicalIp(s.vip)}|${s.port}|${s.protocol}` : undefined;
    if (key) {
      const prev = seen.get(key);
      if (prev !== undefined) {
        report("error", "LVS401", s.fwmark !== undefined ? [...base, "fwmark"] : [...base, "vip"], `service ${name} (${s.protocol}) is defined twice (also virtual_servers[${prev}])`, "merge the two services' real servers into one");
      } else seen.set(key, i);
    }

    const unusable = s.vip !== undefined ? vipProblem(s.vip) : undefined;
    if (unusable) report("error", "LVS325", [...base, "vip"], `VIP ${s.vip} of service ${name} ${unusable.message}; no director can serve it`, unusable.hint);
    else if (s.vip !== undefined && inv.vrrp_instances.length > 0 && !vrrpVips.has(canonicalIp(s.vip))) {
      report("warning", "LVS407", [...base, "vip"], `VIP ${s.vip} of service ${name} is in no VRRP instance, so no director will hold it`, "add it to an instance's virtual_ipaddress, unless something else brings the address up");
    }

    const family = serviceFamily(s, inv);
    const pg = s.persistence_granularity;
    if (pg !== undefined && typeof pg === "string" && family === 6) {
      report("error", "LVS422", [...base, "persistence_granularity"], `persistence_granularity ${pg} is an IPv4 netmask, but service ${name} is IPv6`, "give IPv6 a prefix length, e.g. persistence_granularity: 64 to keep a /64 of clients on one real server", true);
    }
    if (pg !== undefined && typeof pg === "number" && family === 4) {
      report("error", "LVS422", [...base, "persistence_granularity"], `persistence_granularity ${pg} is a prefix length, but service ${name} is IPv4, which takes a netmask`, `write it as a netmask, e.g. ${pg <= 32 ? prefixToMask(pg) : "255.255.255.0"}`, true);
    }
    if (pg !== undefined) {
      if (s.persistence_timeout === undefined) {
        report("error", "LVS403", [...base, "persistence_granularity"], `service ${name} sets persistence_granularity without persistence_timeout; granularity only applies to persistent services`, "add persistence_timeout: 360 (seconds), or remove persistence_granularity", true);
      }
      if (typeof pg === "string" && !isNetmask(pg)) {
        report("error", "LVS413", [...base, "persistence_granularity"], `persistence_granularity ${pg} is not a netmask (its one-bits must be contiguous)`, "for example 255.255.255.0 to keep a /24 of clients on one real server");
      }
    }

    // keepalived sets sh-*/mh-* only under that scheduler and otherwise stops on an error
    // (check_parser.c lbflags_handler); ipvsadm refuses them too
    (s.sched_flags ?? []).forEach((f, k) => {
      const needs = f.startsWith("sh-") ? "sh" : f.startsWith("mh-") ? "mh" : undefined;
      if (needs && s.lb_algo !== needs) {
        report("error", "LVS434", [...base, "sched_flags", k], `scheduler flag ${f} of service ${name} belongs to the ${needs} scheduler, but lb_algo is ${s.lb_algo}`, `use lb_algo: ${needs}, or the scheduler-neutral name (flag-${f.endsWith("fallback") ? 1 : 2}) if you mean the raw bit`);
      }
    });
    // the kernel applies one-packet scheduling to UDP datagrams only (ip_vs_core.c ip_vs_onepacket_enabled)
    if (s.ops && s.fwmark === undefined && s.protocol !== "UDP") {
      report("warning", "LVS435", [...base, "ops"], `ops (one-packet scheduling) on ${s.protocol} service ${name} does nothing: the kernel applies it to UDP only`, "remove ops, or set protocol: UDP", true);
    }
    if (s.tunnel) {
      const t = s.tunnel;
      if (s.lb_kind !== "TUN") {
        report("error", "LVS436", [...base, "tunnel"], `service ${name} sets a tunnel but its lb_kind is ${s.lb_kind}; only TUN encapsulates`, "set lb_kind: TUN, or remove tunnel", true);
      }
      // keepalived's rules (check_parser.c svr_forwarding_handler), which are the kernel's (ip_vs_ctl.c)
      if (t.type === "gue" && t.port === undefined) {
        report("error", "LVS437", [...base, "tunnel"], `the gue tunnel of service ${name} has no port`, "add port: N, the UDP port the real servers decapsulate GUE on (e.g. 6080)");
      }
      if (t.type !== "gue" && t.port !== undefined) {
        report("error", "LVS437", [...base, "tunnel", "port"], `a ${t.type} tunnel takes no port (only gue runs over UDP)`, "remove port, or use type: gue", true);
      }
      if (t.type === "ipip" && t.checksum !== undefined && t.checksum !== "nocsum") {
        report("error", "LVS437", [...base, "tunnel", "checksum"], `an ipip tunnel has no checksum option (${t.checksum})`, "remove checksum, or use type: gue or gre", true);
      }
      if (t.type === "gre" && t.checksum === "remcsum") {
        report("error", "LVS437", [...base, "tunnel", "checksum"], "a gre tunnel has no remote checksum offload (remcsum)", "use checksum: csum or nocsum, or type: gue", true);
      }
    }

    const check = s.check;
    if (check && check.type !== "MISC_CHECK" && check.retry !== undefined && check.nb_get_retry !== undefined) {
      report("warning", "LVS415", [...base, "check", "nb_get_retry"], "retry and nb_get_retry are the same setting (nb_get_retry is the old name); retry wins", "remove nb_get_retry", true);
    }
    if (s.protocol !== "TCP" && check && (check.type === "HTTP_GET" || check.type === "SSL_GET")) {
      report("error", "LVS416", [...base, "check", "type"], `service ${name} is ${s.protocol} but its check is ${check.type}, which speaks TCP`, `use MISC_CHECK for ${s.protocol} services, or a TCP_CHECK on a TCP port with connect_port:`);
    }

    const vipFamily = s.vip !== undefined ? ipFamily(s.vip) : 0;
    const rsSeen = new Map<string, number>();
    let totalWeight = 0;
    s.real_servers.forEach((r, j) => {
      const rb: Path = [...base, "real_servers", j];
      totalWeight += r.weight;
      if (r.host === undefined && r.address === undefined) {
        report("error", "LVS404", rb, `real server ${j + 1} of service ${name} has neither host nor address`, "write host: <inventory host> (its address is used) or address: <IP>");
      }
      let address = r.address;
      if (r.host !== undefined) {
        if (!hostExists(inv, ctx, r.host)) {
          // A director is never a real server (LVS406), so it is never the suggestion.
          const guess = didYouMean(r.host, hostNames.filter((h) => !topo.directors.includes(h)));
          report("error", "LVS405", [...rb, "host"], `real server host "${r.host}" of service ${name} is not defined under hosts:`, guess ? `did you mean "${guess}"?` : `add it under hosts:, or use address: <IP> for a machine lvsctl does not manage`);
        } else if (has(inv.hosts, r.host)) {
          address ??= inv.hosts[r.host]!.address;
          if (r.address === undefined && ipFamily(address) === 0) {
            report("error", "LVS418", [...rb, "host"], `real server ${r.host} has address ${address}, which is not an IP address; IPVS needs one`, `add address: <IP> to this real server`);
          }
        }
        if (directors.has(r.host)) {
          report("error", "LVS406", [...rb, "host"], `real server ${r.host} of service ${name} is also a director`, "a director cannot be one of its own real servers here; use another host");
        }
      }
      if (address !== undefined && vipFamily !== 0 && ipFamily(address) !== 0 && ipFamily(address) !== vipFamily && s.lb_kind !== "TUN") {
        report("error", "LVS414", r.address !== undefined ? [...rb, "address"] : [...rb, "host"], `real server ${address} is IPv${ipFamily(address)} but the VIP ${s.vip} is IPv${vipFamily}; ${s.lb_kind} cannot cross address families`, "use a real server address of the VIP's family");
      }
      // DR and TUN forward the packet unchanged: the destination port stays the VIP's port.
      if ((s.lb_kind === "DR" || s.lb_kind === "TUN") && r.port !== undefined && s.port !== undefined && r.port !== s.port) {
        report("error", "LVS402", [...rb, "port"], `real server port ${r.port} differs from the service port ${s.port}, but ${s.lb_kind} cannot remap ports: the packet reaches the real server unchanged`, `remove port: (it defaults to ${s.port}), make the real server listen on ${s.port}, or use lb_kind: NAT`);
      }
      // keepalived 2.2: "fwmark virtual server ..., real server ... has port specified - clearing".
      if (s.fwmark !== undefined && s.lb_kind !== "NAT" && r.port !== undefined) {
        report("error", "LVS419", [...rb, "port"], `real server port ${r.port} means nothing in a ${s.lb_kind} fwmark service: the packet keeps the port the client used`, "remove port:; to health-check a port, give the check connect_port: N");
      }
      if (s.fwmark !== undefined && s.lb_kind === "NAT" && r.port === undefined) {
        report("error", "LVS417", rb, `NAT real server ${address ?? r.host ?? j + 1} of fwmark service ${name} has no port; NAT must rewrite the destination to some port`, "add port: N to the real server");
      }
      const rcheck = r.check === false ? undefined : (r.check ?? s.check);
      if (rcheck && rcheck.type !== "MISC_CHECK" && rcheck.connect_port === undefined && r.port === undefined && s.port === undefined) {
        report("error", "LVS410", r.check ? [...rb, "check"] : [...base, "check"], `the ${rcheck.type} of real server ${address ?? r.host ?? j + 1} has no port to connect to (fwmark service without ports)`, s.lb_kind === "NAT" ? "add connect_port: N to the check, or port: N to the real server" : "add connect_port: N to the check", true);
      }
      if (r.check && r.check.type !== "MISC_CHECK" && r.check.retry !== undefined && r.check.nb_get_retry !== undefined) {
        report("warning", "LVS415", [...rb, "check", "nb_get_retry"], "retry and nb_get_retry are the same setting (nb_get_retry is the old name); retry wins", "remove nb_get_retry", true);
      }
      if (s.protocol !== "TCP" && r.check && (r.check.type === "HTTP_GET" || r.check.type === "SSL_GET")) {
        report("error", "LVS416", [...rb, "check", "type"], `service ${name} is ${s.protocol} but this real server's check is ${r.check.type}, which speaks TCP`, `use MISC_CHECK for ${s.protocol} services`);
      }
      if (r.uthreshold !== undefined && r.lthreshold !== undefined && r.uthreshold < r.lthreshold) {
        report("error", "LVS412", [...rb, "uthreshold"], `uthreshold ${r.uthreshold} is below lthreshold ${r.lthreshold}; the real server would be switched off and on at once`, "uthreshold (upper connection limit) must be at least lthreshold");
      }
      if (address !== undefined) {
        const port = r.port ?? s.port ?? 0;
        const k = `${canonicalIp(address)}|${port}`;
        const prev = rsSeen.get(k);
        if (prev !== undefined) report("error", "LVS408", rb, `real server ${address}${port ? `:${port}` : ""} appears twice in service ${name} (also real_servers[${prev}])`, "remove one; to give it more traffic raise its weight");
        else rsSeen.set(k, j);
      }
    });
    if (s.quorum !== undefined && s.quorum > totalWeight) {
      report("warning", "LVS411", [...base, "quorum"], `quorum ${s.quorum} is more than the weights of all real servers together (${totalWeight}); the service would never be up`, `lower quorum to at most ${totalWeight}`);
    }
    if (s.sorry_server && vipFamily !== 0 && ipFamily(s.sorry_server.address) !== vipFamily && s.lb_kind !== "TUN") {
      report("error", "LVS414", [...base, "sorry_server", "address"], `sorry server ${s.sorry_server.address} and VIP ${s.vip} are of different address families`, "use a sorry server of the VIP's family");
    }
    // keepalived 2.2: "virtual server FWM n, sorry server has port specified - clearing".
    if (s.sorry_server?.port !== undefined && s.fwmark !== undefined && s.lb_kind !== "NAT") {
      report("error", "LVS419", [...base, "sorry_server", "port"], `a sorry server port means nothing in a ${s.lb_kind} fwmark service: the packet keeps the port the client used`, "remove the sorry server's port");
    }
    // keepalived lowers it silently to quorum - 1 ("hysteresis 1 >= quorum 1; setting hysteresis to 0").
    if (s.hysteresis !== undefined && s.hysteresis >= (s.quorum ?? KEEPALIVED_DEFAULTS.quorum)) {
      report("error", "LVS420", [...base, "hysteresis"], `hysteresis ${s.hysteresis} is not below quorum ${s.quorum ?? KEEPALIVED_DEFAULTS.quorum}${s.quorum === undefined ? " (the default)" : ""}; keepalived would lower it to ${(s.quorum ?? KEEPALIVED_DEFAULTS.quorum) - 1}`, "hysteresis must be smaller than quorum");
    }
    if (s.sorry_server?.port !== undefined && s.port !== undefined && s.sorry_server.port !== s.port && (s.lb_kind === "DR" || s.lb_kind === "TUN")) {
      report("error", "LVS402", [...base, "sorry_server", "port"], `sorry server port ${s.sorry_server.port} differs from the service port ${s.port}, but ${s.lb_kind} cannot remap ports`, `remove the port (defaults to ${s.port}), or use lb_kind: NAT`);
    }
  });
}

/**
 * NAT real servers send their replies through a gateway that must move with VRRP: a VIP on the
 * directors' inside network, never one director's own address. One host has one default route,
 * so two services may not give it two gateways.
 */
function natGatewayRules(inv: Inventory, topo: Topology, _ctx: ValidateContext, report: Report): void {
  const vips: GatewayVip[] = inv.vrrp_instances.flatMap((inst) => inst.virtual_ipaddress.map(parseVip).filter((p): p is ParsedVip => !("error" in p)).map((p) => ({ address: p.address, prefix: p.prefix })));
  const vipSet = new Set(vips.map((v) => canonicalIp(v.address)));
  const serviceVips = new Set(inv.virtual_servers.flatMap((s) => (s.vip !== undefined ? [canonicalIp(s.vip)] : [])));
  const directorAt = new Map(topo.directors.filter((d) => has(inv.hosts, d)).map((d) => [canonicalIp(inv.hosts[d]!.address), d]));
  const hostAt = new Map(Object.entries(inv.hosts).map(([h, x]) => [canonicalIp(x.address), h]));
  const perHost = new Map<string, { gateway: string; service: string }>();
  inv.virtual_servers.forEach((s, i) => {
    const base: Path = ["virtual_servers", i];
    const gp: Path = [...base, "nat_gateway"];
    const name = serviceName(s);
    if (s.nat_gateway !== undefined) {
      if (s.lb_kind !== "NAT") {
        report("error", "LVS423", gp, `service ${name} is ${s.lb_kind}, but nat_gateway only means something for NAT: ${s.lb_kind} real servers answer clients directly`, "remove nat_gateway, or set lb_kind: NAT", true);
        return;
      }
      const director = directorAt.get(canonicalIp(s.nat_gateway));
      if (director !== undefined) {
        report("error", "LVS424", gp, `nat_gateway ${s.nat_gateway} of service ${name} is director ${director}'s own address: replies would stop whenever ${director} is not master, while the other director takes the traffic`, "name a VIP on the directors' inside network instead (add e.g. ADDRESS/24 to the virtual_ipaddress of the instance on that interface): it moves with the master");
      } else if (inv.vrrp_instances.length > 0 && !vipSet.has(canonicalIp(s.nat_gateway))) {
        report("error", "LVS425", gp, `nat_gateway ${s.nat_gateway} of service ${name} is in no VRRP instance's virtual_ipaddress, so no director holds it`, "add it (with the inside network's prefix, e.g. /24) to the virtual_ipaddress of the instance on the directors' inside interface");
      }
    }
    if (s.lb_kind !== "NAT") return;
    // The hosts lvsctl sets up: real servers named by host, and a sorry server that is an inventory host.
    const members: { host: string; address: string; path: Path }[] = [];
    s.real_servers.forEach((r, j) => {
      if (r.host === undefined || !has(inv.hosts, r.host) || topo.directors.includes(r.host)) return;
      members.push({ host: r.host, address: r.address ?? inv.hosts[r.host]!.address, path: [...base, "real_servers", j] });
    });
    const sorryHost = s.sorry_server ? hostAt.get(canonicalIp(s.sorry_server.address)) : undefined;
    if (sorryHost !== undefined && !topo.directors.includes(sorryHost)) members.push({ host: sorryHost, address: s.sorry_server!.address, path: [...base, "sorry_server"] });
    for (const m of members) {
      if (ipFamily(m.address) === 0) continue; // LVS418
      const g = natGateway(s.nat_gateway, m.address, vips, serviceVips);
      if (!g) {
        report("warning", "LVS428", m.path, `NAT real server ${m.host} of service ${name} has no gateway to route its replies through, so lvsctl only checks its default route`, "give the service nat_gateway: ADDRESS, a VRRP VIP on the real servers' network (the directors' inside interface)");
        continue;
      }
      const vip = vips.find((v) => canonicalIp(v.address) === canonicalIp(g.gateway));
      const max = ipFamily(m.address) === 6 ? 128 : 32;
      if (!g.inferred && vip && vip.prefix < max && !inSubnet(m.address, vip.address, vip.prefix)) {
        report("warning", "LVS427", gp, `nat_gateway ${g.gateway} (/${vip.prefix}) is not on the network of real server ${m.host} (${m.address}); the kernel refuses a gateway it cannot reach directly`, "name the VIP on the real servers' network, or fix the VIP's prefix");
      }
      const prev = perHost.get(m.host);
      if (prev && canonicalIp(prev.gateway) !== canonicalIp(g.gateway)) {
        report("error", "LVS426", s.nat_gateway !== undefined ? gp : m.path, `real server ${m.host} would route its replies through ${prev.gateway} for service ${prev.service} and through ${g.gateway} for service ${name}; a host has one default route`, "give both services the same nat_gateway");
      } else if (!prev) perHost.set(m.host, { gateway: g.gateway, service: name });
    }
  });
}

/** A host in the realservers group that no service uses: usually a typo in real_servers. */
function unusedRealServers(inv: Inventory, topo: Topology, _ctx: ValidateContext, report: Report): void {
  if (inv.virtual_servers.length === 0) return;
  // Real servers by address, so a service naming one by address finds it without a scan.
  const byAddress = new Map<string, string[]>();
  for (const h of topo.realservers) {
    if (!has(inv.hosts, h)) continue;
    const a = canonicalIp(inv.hosts[h]!.address);
    byAddress.set(a, [...(byAddress.get(a) ?? []), h]);
  }
  const used = new Set<string>();
  const useAddress = (a: string) => {
    for (const h of byAddress.get(canonicalIp(a)) ?? []) used.add(h);
  };
  for (const s of inv.virtual_servers) {
    for (const r of s.real_servers) {
      if (r.host !== undefined) used.add(r.host);
      if (r.address !== undefined) useAddress(r.address);
    }
    if (s.sorry_server) useAddress(s.sorry_server.address);
  }
  const position = new Map<string, number>();
  (inv.groups[REALSERVERS]?.hosts ?? []).forEach((h, i) => {
    if (!position.has(h)) position.set(h, i);
  });
  for (const h of topo.realservers) {
    if (used.has(h)) continue;
    const listed = position.get(h) ?? -1;
    report("warning", "LVS421", listed >= 0 ? ["groups", REALSERVERS, "hosts", listed] : ["hosts", h], `real server ${h} is in the realservers group but in no virtual service`, `add { host: ${h} } to a service's real_servers, or take it out of the group`);
  }
}

/** 4 or 6 by the VIP, or for a fwmark service by its first real server (as lvsd and keepalived
 * take it); 0 when unknown. */
function serviceFamily(s: Inventory["virtual_servers"][number], inv: Inventory): 0 | 4 | 6 {
  if (s.vip !== undefined) return ipFamily(s.vip);
  const r = s.real_servers[0];
  const a = r?.address ?? (r?.host !== undefined ? inv.hosts[r.host]?.address : undefined);
  return a !== undefined ? ipFamily(a) : 0;
}

function prefixToMask(n: number): string {
  const m = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return [24, 16, 8, 0].map((sh) => (m >>> sh) & 255).join(".");
}

function isNetmask(mask: string): boolean {
  const parts = mask.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const inv = ~n >>> 0;
  return (inv & (inv + 1)) === 0;
}

// --- director backend ------------------------------------------------------------------------

function backendRules(inv: Inventory, _topo: Topology, ctx: ValidateContext, report: Report): void {
  const k = inv.director.keepalived;
  if (inv.director.backend === "keepalived" && k.from === "source") {
    if (k.tarball === undefined)
      report("error", "LVS600", ["director", "keepalived", "from"], "keepalived from source needs a tarball to build", "add tarball: a local path or an http(s) URL of keepalived's release tarball (lvsctl downloads nothing on its own), or use from: package");
    else if (k.version === undefined && tarballVersion(k.tarball) === undefined)
      report("error", "LVS604", ["director", "keepalived", "tarball"], `the keepalived version cannot be read from the tarball's name ${JSON.stringify(k.tarball.replace(/^.*\//, ""))}`, "add version: (e.g. version: 2.2.7): it names the build's directory");
  }
  if (inv.director.backend === "lvsd" && ctx.has?.(["director", "keepalived"])) {
    report("warning", "LVS601", ["director", "keepalived"], "keepalived: settings are ignored because backend is lvsd", "remove them, or set backend: keepalived", true);
  }
  if (inv.director.backend !== "lvsd") return;
  // What keepalived has and lvsd does not yet: refused rather than dropped, since each changes
  // what the directors do on the wire.
  inv.vrrp_instances.forEach((inst, i) => {
    if (inst.virtual_ipaddress_excluded?.length) {
      report("error", "LVS602", ["vrrp_instances", i, "virtual_ipaddress_excluded"], `instance ${inst.name}: lvsd does not carry virtual_ipaddress_excluded yet, so these addresses would never come up`, "move them to virtual_ipaddress (one address family per instance), or use backend: keepalived", true);
    }
  });
  const sync = inv.global_defs.lvs_sync_daemon;
  for (const k of ["maxlen", "port", "ttl", "group"] as const) {
    if (sync?.[k] !== undefined) report("error", "LVS602", ["global_defs", "lvs_sync_daemon", k], `lvsd starts the kernel's sync daemon with interface, instance and id only; its ${k} would be the kernel's default instead of ${sync[k]}`, `remove ${k} (the other directors must then use the kernel's default too), or use backend: keepalived`, true);
  }
  const alerts: Path[] = [];
  if (inv.global_defs.smtp_alert !== undefined) alerts.push(["global_defs", "smtp_alert"]);
  inv.vrrp_instances.forEach((x, i) => x.smtp_alert !== undefined && alerts.push(["vrrp_instances", i, "smtp_alert"]));
  inv.vrrp_sync_groups.forEach((x, i) => x.smtp_alert !== undefined && alerts.push(["vrrp_sync_groups", i, "smtp_alert"]));
  inv.virtual_servers.forEach((s, i) => {
    if (s.smtp_alert !== undefined) alerts.push(["virtual_servers", i, "smtp_alert"]);
    s.real_servers.forEach((r, j) => r.smtp_alert !== undefined && alerts.push(["virtual_servers", i, "real_servers", j, "smtp_alert"]));
  });
  for (const p of alerts) report("warning", "LVS603", p, "lvsd sends no mail: smtp_alert is ignored with backend lvsd", "use notify scripts (notify_master, notify_up, ...) to alert, or backend: keepalived", true);
}

/**
 * The cycles of a directed graph, each once, by one depth-first walk (iterative, so a chain of
 * 50,000 nodes does not overflow the stack). `cycle` runs from the node that is re-entered back
 * to it (`a -> b -> a`); `from` is the node whose edge number `index` closes it.
 */
export function findCycles(nodes: readonly string[], next: (n: string) => readonly string[]): { cycle: string[]; from: string; index: number }[] {
  const state = new Map<string, "open" | "done">();
  const out: { cycle: string[]; from: string; index: number }[] = [];
  for (const start of nodes) {
    if (state.has(start)) continue;
    const stack: { node: string; edges: readonly string[]; i: number }[] = [{ node: start, edges: next(start), i: 0 }];
    const onStack: string[] = [start];
    state.set(start, "open");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.edges.length) {
        state.set(top.node, "done");
        stack.pop();
        onStack.pop();
        continue;
      }
      const index = top.i++;
      const c = top.edges[index]!;
      const st = state.get(c);
      if (st === "open") {
        out.push({ cycle: [...onStack.slice(onStack.lastIndexOf(c)), c], from: top.node, index });
      } else if (st === undefined) {
        state.set(c, "open");
        stack.push({ node: c, edges: next(c), i: 0 });
        onStack.push(c);
      }
    }
  }
  return out;
}
