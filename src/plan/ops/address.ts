// Addresses on interfaces (the real server's VIPs on lo): added now with `ip addr replace`,
// put back on boot by a oneshot systemd unit, and removed when no longer wanted.
//
// Removal needs memory: an address on the host is only ever removed when lvsctl added it, so
// the host keeps a state file (/var/lib/lvsctl/state.json) listing, per owning unit, the
// addresses lvsctl manages. It is written as the union of old and new before any address is
// added, and as the new set once removals are done, so an interrupted run still knows what
// it may have added.
//
// The unit's text is generated here (addressUnitContent) unless the caller gives it whole
// (`unitContent`, e.g. src/render's lvs-rs-vip.service for the real-server bootstrap, so that
// `lvsctl render` shows what the host gets). A given unit must put back every wanted address;
// `unitContent: null` says the host must have no such unit (it is stopped, disabled, removed).
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { fileDiff, parentDir, planFile } from "./file.js";
import { sh } from "../../command/index.js";
import { change, execStep, ok, shellStep, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export const STATE_FILE = "/var/lib/lvsctl/state.json";
export const UNIT_DIR = "/etc/systemd/system";
/** iproute2's binary; /sbin/ip exists on Debian (usrmerge) and RHEL alike. */
const IP = "/sbin/ip";

export interface AddressSpec {
  address: string;
  prefix: number;
  dev: string;
}

export interface AddressDesired {
  addresses: AddressSpec[];
  /** The systemd unit that owns these addresses and restores them on boot, e.g. lvs-rs-vip.service. */
  unit: string;
  description?: string;
  /** Units that must start after the addresses exist (the services listening on them). */
  before?: string[];
  stateFile?: string;
  /**
   * The unit's exact text, when decided elsewhere (description and before are then unused);
   * null: no unit at all (the caller's files have none for this host), so an old one is removed.
   */
  unitContent?: string | null;
}

export interface LvsctlState {
  version: 1;
  /** owner (unit name) -> "ADDR/PREFIX dev DEV" */
  addresses: Record<string, string[]>;
}

export function addressKey(a: AddressSpec): string {
  return `${a.address.toLowerCase()}/${a.prefix} dev ${a.dev}`;
}

export function parseAddressKey(key: string): AddressSpec | undefined {
  const m = /^(\S+)\/(\d+) dev (\S+)$/.exec(key);
  return m ? { address: m[1]!, prefix: Number(m[2]), dev: m[3]! } : undefined;
}

export function readState(facts: HostFacts, path: string): { state: LvsctlState; warning?: string } {
  const raw = facts.contents[path];
  const empty: LvsctlState = { version: 1, addresses: {} };
  if (!raw) return { state: empty };
  try {
    const parsed = JSON.parse(raw.toString("utf8")) as Partial<LvsctlState>;
    const addresses: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(parsed.addresses ?? {})) if (Array.isArray(v)) addresses[k] = v.filter((x): x is string => typeof x === "string");
    return { state: { version: 1, addresses } };
  } catch {
    return { state: empty, warning: `${path} is not valid JSON; addresses it listed will not be removed` };
  }
}

export function stateContent(state: LvsctlState): string {
  const sorted: Record<string, string[]> = {};
  for (const k of Object.keys(state.addresses).sort()) {
    const list = [...new Set(state.addresses[k])].sort();
    if (list.length) sorted[k] = list;
  }
  return JSON.stringify({ version: 1, addresses: sorted }, null, 2) + "\n";
}

/** The unit that puts the addresses back on boot (and takes them away on `systemctl stop`). */
export function addressUnitContent(d: AddressDesired): string {
  const before = ["network-online.target", ...(d.before ?? [])];
  const specs = [...d.addresses].sort((a, b) => addressKey(a).localeCompare(addressKey(b)));
  const start = specs.map((a) => `ExecStart=${IP} addr replace ${a.address}/${a.prefix} dev ${a.dev}`);
  const stop = specs.map((a) => `ExecStop=-${IP} addr del ${a.address}/${a.prefix} dev ${a.dev}`);
  return [
    "# Managed by lvsctl: changes here are overwritten on the next run.",
    "[Unit]",
    `Description=${d.description ?? "Addresses managed by lvsctl"}`,
    "DefaultDependencies=no",
    "After=systemd-sysctl.service network-pre.target",
    "Wants=network-pre.target",
    `Before=${before.join(" ")}`,
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    ...(start.length ? start : ["ExecStart=/bin/true"]),
    ...stop,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** Does a unit's text run `ip addr replace|add ADDR/PREFIX dev DEV` for this address? */
export function unitRestores(unitText: string, a: AddressSpec): boolean {
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^ExecStart(?:Pre|Post)?=-?\\S*ip (?:-\\S+ )*addr (?:replace|add) ${esc(a.address)}/${a.prefix} dev ${esc(a.dev)}(?: |$)`, "im").test(unitText);
}

export function planAddress(facts: HostFacts, d: AddressDesired, ctx: PlanContext): OpPlan {
  if (!/^[A-Za-z0-9@_.:-]+\.service$/.test(d.unit)) throw new PlanError(`unit name ${JSON.stringify(d.unit)} must end in .service`);
  if (typeof d.unitContent === "string") {
    const missing = d.addresses.filter((a) => !unitRestores(d.unitContent!, a));
    if (missing.length) throw new PlanError(`the given ${d.unit} would not put back ${missing.map((a) => `${a.address}/${a.prefix} dev ${a.dev}`).join(", ")} on boot`, "the unit's text and the address list come from different sources; this is a bug in whatever produced them");
  } else if (d.unitContent === null && d.addresses.length) {
    throw new PlanError(`${d.addresses.length} address(es) wanted but no ${d.unit} to put them back on boot`, "the unit's text and the address list come from different sources; this is a bug in whatever produced them");
  }
  const statePath = d.stateFile ?? STATE_FILE;
  const { state, warning } = readState(facts, statePath);
  const owned = state.addresses[d.unit] ?? [];
  const wanted = [...new Set(d.addresses.map(addressKey))].sort();
  const live = new Set(facts.addresses.map((a) => addressKey({ address: a.address, prefix: a.prefix, dev: a.dev })));
  const links = new Set(facts.links.map((l) => l.name));
  const steps: Step[] = [];
  const why: string[] = [];
  const put = (content: string) => planFile(facts, { path: statePath, content, mode: 0o644, owner: "root", group: "root" }, { diff: false });

  const unitPath = `${UNIT_DIR}/${d.unit}`;
  // A host that never had addresses from this unit and wants none gets no unit either.
  if (wanted.length === 0 && owned.length === 0 && facts.sha256[unitPath] === undefined) return ok("no addresses wanted", warning ? { warnings: [warning] } : {});
  const toAdd = wanted.filter((k) => !live.has(k));
  const toRemove = owned.filter((k) => !wanted.includes(k) && live.has(k));
  const union: LvsctlState = { version: 1, addresses: { ...state.addresses, [d.unit]: [...new Set([...owned, ...wanted])] } };
  const final: LvsctlState = { version: 1, addresses: { ...state.addresses, [d.unit]: wanted } };
  // 1. Remember first, so an interrupted run can still clean up what it added.
  const stateDir = parentDir(statePath);
  const mkdir = facts.exists.includes(stateDir) ? [] : [execStep(["mkdir", "-p", "-m", "0755", stateDir])];
  const recordedUnion = toAdd.some((k) => !owned.includes(k));
  if (recordedUnion) steps.push(...mkdir, ...put(stateContent(union)).steps.map((s) => ({ ...s, describe: `record ${statePath}` })));
  // 2. Live changes: one `ip` for one change, `ip -batch -` (one round trip) for several.
  const live_: string[] = [];
  for (const k of toAdd) {
    const a = parseAddressKey(k)!;
    if (links.size && !links.has(a.dev)) throw new PlanError(`interface ${a.dev} does not exist on this host (for ${a.address})`);
    live_.push(`addr replace ${a.address}/${a.prefix} dev ${a.dev}`);
    why.push(`add ${a.address}/${a.prefix} on ${a.dev}`);
  }
  for (const k of toRemove) {
    const a = parseAddressKey(k)!;
    live_.push(`addr del ${a.address}/${a.prefix} dev ${a.dev}`);
    why.push(`remove ${a.address}/${a.prefix} from ${a.dev} (no longer wanted)`);
  }
  if (live_.length === 1) steps.push(execStep([IP, ...live_[0]!.split(" ")]));
  else if (live_.length > 1) steps.push({ kind: "exec", cmd: { argv: [IP, "-batch", "-"] }, stdin: live_.join("\n") + "\n", describe: live_.map((l) => `ip ${l}`).join("; ") });
  // 3. Persist: the unit restores them on boot (or, when the host must have none, goes away).
  let diff: string | undefined;
  const warnings: string[] = warning ? [warning] : [];
  if (d.unitContent === null) {
    if (facts.sha256[unitPath] !== undefined) {
      const unit = facts.units[d.unit];
      const known = facts.init === "systemd" && unit !== undefined && unit.enabled !== "not-found";
      // `disable --now` runs the unit's ExecStop (ip addr del of what it listed): those are
      // addresses lvsctl added, removed above already; its "-" ignores that they are gone.
      if (known) steps.push(execStep(["systemctl", "disable", "--now", "--quiet", d.unit]));
      steps.push(execStep(["rm", "-f", unitPath]));
      if (facts.init === "systemd") steps.push(execStep(["systemctl", "daemon-reload"]));
      why.push(`remove ${d.unit} (no addresses to put back)`);
      if (ctx.diff) diff = fileDiff(unitPath, facts.contents[unitPath] ?? Buffer.alloc(0), "", false);
    }
  } else {
    const unitPlan = planFile(facts, { path: unitPath, content: d.unitContent ?? addressUnitContent(d), mode: 0o644, owner: "root", group: "root" }, ctx);
    if (facts.init !== "systemd") {
      warnings.push(`addresses are not persisted: the host does not run systemd, so ${d.unit} cannot restore them on boot`);
    } else {
      // A daemon-reload is the costly part (a quarter to most of a second on a small host), so:
      // - a unit systemd has never loaded is loaded on demand by `enable --no-reload --now`
      //   (systemd >= 246 retries a not-found unit whose directory changed); older systemd says
      //   "not found", and then the fallback reloads and enables, in the same round trip;
      // - `systemctl enable` reloads by itself (systemctl(1), --no-reload), so a changed unit that
      //   still has to be enabled needs no separate daemon-reload; --now starts it in the same call.
      const unit = facts.units[d.unit];
      const isNew = unit === undefined || unit.enabled === "not-found";
      const enable = unit?.enabled !== "enabled";
      const start = unit?.active !== "active";
      if (unitPlan.status === "change") {
        steps.push(...unitPlan.steps);
        if (!enable) steps.push(execStep(["systemctl", "daemon-reload"]));
        why.push(`${d.unit} ${facts.sha256[unitPath] ? "updated" : "installed"}`);
        diff = unitPlan.diff;
      }
      if (enable && isNew && unitPlan.status === "change") {
        const u = d.unit;
        const script = start
          ? sh`systemctl enable --no-reload --now --quiet ${u} || { systemctl daemon-reload && systemctl enable --now --quiet ${u}; }`
          : sh`systemctl enable --no-reload --quiet ${u} || { systemctl daemon-reload && systemctl enable --quiet ${u}; }`;
        steps.push(shellStep(script, `systemctl enable${start ? " --now" : ""} ${d.unit}`));
        why.push(`enable${start ? " and start" : ""} ${d.unit}`);
      } else if (enable) {
        // Starting it only runs `ip addr replace` for addresses that are already there.
        steps.push(execStep(["systemctl", "enable", ...(start ? ["--now"] : []), "--quiet", d.unit]));
        why.push(`enable${start ? " and start" : ""} ${d.unit}`);
      } else if (start) {
        steps.push(execStep(["systemctl", "start", d.unit]));
        why.push(`start ${d.unit}`);
      }
    }
  }
  // 4. The final record, once removals are done.
  const finalPlan = put(stateContent(final));
  const needFinal = recordedUnion ? stateContent(final) !== stateContent(union) : finalPlan.status === "change";
  if (needFinal) steps.push(...(recordedUnion ? [] : mkdir), ...finalPlan.steps.map((s) => ({ ...s, describe: `record ${statePath}` })));
  if (!steps.length) return ok(`${wanted.length} address(es) present${facts.init === "systemd" ? " and persisted" : ""}`, warnings.length ? { warnings } : {});
  if (!why.length) why.push(`record ${statePath}`);
  const out = change(why.join("; "), steps);
  if (diff) out.diff = diff;
  if (warnings.length) out.warnings = warnings;
  return out;
}

export const addressOp: Operation<AddressDesired> = {
  name: "address",
  needs: (d, ctx) => {
    const unitPath = `${UNIT_DIR}/${d.unit}`;
    const statePath = d.stateFile ?? STATE_FILE;
    return { exists: [parentDir(statePath)], contents: [statePath, ...(ctx.diff ? [unitPath] : [])], sha256: [statePath, unitPath], stats: [unitPath, statePath], units: [d.unit] };
  },
  plan: planAddress,
};
