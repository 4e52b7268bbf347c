// Sync groups: instances that move together (keepalived vrrp_sync_group). Pure, built on step().
//
// keepalived's semantics, as we implement them:
// - MASTER: a member whose master-down timer fires becomes master only when every other member
//   could too (already MASTER, or BACKUP with its own master-down timer expired); otherwise it
//   waits ("held", state.masterDownExpired). The last member to expire takes the whole group to
//   MASTER (keepalived vrrp_sync_can_goto_master / vrrp_sync_master).
// - BACKUP: a member that leaves MASTER because it heard a better master takes the others to
//   BACKUP with it.
// - FAULT: while any member has a tracked link down, all the others are held in FAULT; when the
//   last own fault clears they all leave FAULT together (keepalived vrrp_sync_fault).
// Forced moves do not propagate again, so one event moves the group at most once.

import { step, type Effect, type InstanceState, type NotifyState, type SyncTarget, type VrrpEvent } from "./state.js";

export interface SyncGroupDef {
  name: string;
  members: readonly string[];
}

export interface GroupStepResult {
  states: Map<string, InstanceState>;
  effects: Array<{ instance: string; effect: Effect }>;
  /** Group-level notifications (keepalived `notify` with type GROUP). */
  groupNotify: NotifyState[];
}

/** The group's collective state, when its members agree (FAULT wins). */
export function groupState(states: ReadonlyMap<string, InstanceState>, members: readonly string[]): NotifyState | null {
  const ss = members.map((m) => states.get(m)?.state);
  if (ss.some((s) => s === "FAULT")) return "FAULT";
  if (ss.every((s) => s === "MASTER")) return "MASTER";
  if (ss.every((s) => s === "BACKUP")) return "BACKUP";
  if (ss.every((s) => s === "STOPPED")) return "STOP";
  return null;
}

function canGoMaster(s: InstanceState | undefined): boolean {
  return s !== undefined && (s.state === "MASTER" || (s.state === "BACKUP" && s.masterDownExpired));
}

/**
 * Deliver `event` to instance `target`, then move the rest of its sync group as keepalived would.
 * `group` is null (or has one member) for an instance outside any group.
 */
export function stepGroup(
  group: SyncGroupDef | null,
  states: ReadonlyMap<string, InstanceState>,
  target: string,
  event: VrrpEvent,
  now: number,
): GroupStepResult {
  const out = new Map(states);
  const effects: GroupStepResult["effects"] = [];
  const apply = (name: string, ev: VrrpEvent): Effect[] => {
    const cur = out.get(name);
    if (!cur) return [];
    const r = step(cur, ev, now);
    out.set(name, r.next);
    for (const e of r.effects) effects.push({ instance: name, effect: e });
    return r.effects;
  };
  const members = group && group.members.includes(target) ? group.members : [target];
  const others = members.filter((m) => m !== target);
  const before = groupState(states, members);

  let ev = event;
  if (ev.type === "timer" && ev.timer === "masterDown" && others.length > 0) {
    const ready = others.every((m) => canGoMaster(out.get(m)));
    if (!ready) ev = { ...ev, hold: true };
  }
  const fx = apply(target, ev);

  if (others.length > 0) {
    const moves = fx.filter((e): e is Extract<Effect, { kind: "transition" }> => e.kind === "transition");
    const last = moves[moves.length - 1];
    if (last) {
      let force: SyncTarget | null = null;
      if (last.to === "MASTER") force = "MASTER";
      else if (last.to === "BACKUP" && last.from === "MASTER") force = "BACKUP";
      if (force) for (const m of others) apply(m, { type: "sync", to: force });
    }
    // Reconcile faults declaratively: a member is held in FAULT iff another member has its own.
    for (const m of members) {
      const s = out.get(m);
      if (!s || s.state === "INIT" || s.state === "STOPPED") continue;
      const want = members.some((o) => o !== m && (out.get(o)?.linksDown.length ?? 0) > 0);
      if (want && !s.syncFault) apply(m, { type: "sync", to: "FAULT" });
      else if (!want && s.syncFault) apply(m, { type: "sync", to: "FAULT_CLEAR" });
    }
  }

  const after = group && members.length > 1 ? groupState(out, members) : null;
  const groupNotify = after !== null && after !== before ? [after] : [];
  return { states: out, effects, groupNotify };
}
