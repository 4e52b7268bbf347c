// The reconciler's pure step: the wanted table against one dump of the kernel's, and only the
// differences as operations. An unchanged table gives no operation; a change to one real server
// gives one operation on it. `applyOps` is the same operations applied to a table in memory (the
// fake kernel's model and the property test's: reconcile(w, applyOps(a, reconcile(w, a))) = []).
import { destKeyText, sameDest, sameService, serviceKeyText, type DestRule, type ServiceRule, type TableEntry } from "./table.js";
import type { ServiceKey } from "../netlink/ipvs.js";

export type IpvsOp =
  | { kind: "add-service"; service: ServiceRule }
  | { kind: "edit-service"; service: ServiceRule }
  | { kind: "del-service"; key: ServiceKey }
  | { kind: "add-dest"; key: ServiceKey; dest: DestRule }
  | { kind: "edit-dest"; key: ServiceKey; dest: DestRule }
  | { kind: "del-dest"; key: ServiceKey; dest: DestRule };

export interface ReconcileResult {
  ops: IpvsOp[];
  /** Services in the kernel that lvsd neither wants nor owns: left alone (someone else's). */
  foreign: ServiceKey[];
}

/** `owned`: service key texts lvsd has wanted before (a service dropped from the config is one);
 * those not wanted any more are deleted, other unknown services are left alone. Every destination
 * of a wanted service is lvsd's. Order: deletions of services, then per wanted service (in the
 * wanted order) the service, its removed, changed and added destinations. */
export function reconcile(wanted: readonly TableEntry[], actual: readonly TableEntry[], owned: ReadonlySet<string> = new Set()): ReconcileResult {
  const ops: IpvsOp[] = [];
  const foreign: ServiceKey[] = [];
  const have = new Map(actual.map((e) => [serviceKeyText(e.service.key), e]));
  const want = new Set(wanted.map((e) => serviceKeyText(e.service.key)));
  for (const [k, e] of have) {
    if (want.has(k)) continue;
    if (owned.has(k)) ops.push({ kind: "del-service", key: e.service.key });
    else foreign.push(e.service.key);
  }
  for (const w of wanted) {
    const a = have.get(serviceKeyText(w.service.key));
    if (!a) {
      ops.push({ kind: "add-service", service: w.service });
      for (const d of w.dests) ops.push({ kind: "add-dest", key: w.service.key, dest: d });
      continue;
    }
    if (!sameService(w.service, a.service)) ops.push({ kind: "edit-service", service: w.service });
    const aDests = new Map(a.dests.map((d) => [destKeyText(d), d]));
    const wDests = new Map(w.dests.map((d) => [destKeyText(d), d]));
    for (const [k, d] of aDests) if (!wDests.has(k)) ops.push({ kind: "del-dest", key: w.service.key, dest: d });
    for (const [k, d] of wDests) {
      const have = aDests.get(k);
      if (!have) ops.push({ kind: "add-dest", key: w.service.key, dest: d });
      else if (!sameDest(d, have)) ops.push({ kind: "edit-dest", key: w.service.key, dest: d });
    }
  }
  return { ops, foreign };
}

/** The operations applied to a table in memory, as the kernel applies them (its errors too: a
 * duplicate is EEXIST, a missing service or destination ESRCH / ENOENT). Pure. */
export function applyOps(table: readonly TableEntry[], ops: readonly IpvsOp[]): { table: TableEntry[]; errors: { op: IpvsOp; code: string }[] } {
  const t = new Map(table.map((e) => [serviceKeyText(e.service.key), { service: { ...e.service }, dests: e.dests.map((d) => ({ ...d })) }]));
  const errors: { op: IpvsOp; code: string }[] = [];
  for (const op of ops) {
    const k = serviceKeyText(op.kind === "add-service" || op.kind === "edit-service" ? op.service.key : op.key);
    const e = t.get(k);
    switch (op.kind) {
      case "add-service":
        if (e) errors.push({ op, code: "EEXIST" });
        else t.set(k, { service: { ...op.service }, dests: [] });
        break;
      case "edit-service":
        if (!e) errors.push({ op, code: "ESRCH" });
        else e.service = { ...op.service };
        break;
      case "del-service":
        if (!e) errors.push({ op, code: "ESRCH" });
        else t.delete(k);
        break;
      default: {
        if (!e) {
          errors.push({ op, code: "ESRCH" });
          break;
        }
        const dk = destKeyText(op.dest);
        const i = e.dests.findIndex((d) => destKeyText(d) === dk);
        if (op.kind === "add-dest") {
          if (i >= 0) errors.push({ op, code: "EEXIST" });
          else e.dests.unshift({ ...op.dest }); // the kernel lists the newest first
        } else if (i < 0) errors.push({ op, code: "ENOENT" });
        else if (op.kind === "edit-dest") e.dests[i] = { ...op.dest };
        else e.dests.splice(i, 1);
      }
    }
  }
  return { table: [...t.values()], errors };
}

/** One line per operation for logs: what was done to which service and real server. */
export function describeOp(op: IpvsOp): string {
  switch (op.kind) {
    case "add-service":
    case "edit-service":
      return `${op.kind} ${serviceKeyText(op.service.key)} ${op.service.scheduler}${op.service.timeout ? ` persistent ${op.service.timeout}s` : ""}`;
    case "del-service":
      return `del-service ${serviceKeyText(op.key)}`;
    default:
      return `${op.kind} ${serviceKeyText(op.key)} -> ${destKeyText(op.dest)}${op.kind === "del-dest" ? "" : ` weight ${op.dest.weight}`}`;
  }
}
