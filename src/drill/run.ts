// The drill's runner: the plan's commands over SSH, the client running the whole time, the VIPs
// watched, each step judged, and every director put back at the end, also when interrupted or
// when a connection is lost. All I/O comes in through DrillPorts (SSH, client, clock, abort), so
// the tests drive it with fakes; it prints nothing and speaks through events.
//
// One step, on one director:
//   client and held connections start -> warm-up -> down commands -> poll until the VIPs it held
//   are on the expected peer (moved) -> stay down a little -> restore (link: after the director's
//   own timer set the links up) -> poll until the cluster is healthy and the VIPs are where
//   preemption says (back) -> settle -> client stops -> judge (judge.ts).
import type { Command } from "../command/index.js";
import type { Cluster } from "../inventory/model.js";
import { buildStatus, gather, type ClusterStatus, type StatusProbe } from "../status/index.js";
import type { HttpResponse } from "../ssh/http.js";
import type { ExecResult } from "../ssh/types.js";
import type { DrillClient, HeldConnections, RunningLoad } from "./client.js";
import { judgeStep, type HeldResult, type RequestResult, type StepLimits, type StepReport } from "./judge.js";
import { planDrill, type DrillMode, type DrillStep } from "./plan.js";

export interface DrillPorts {
  /** A command on a director (as its become user); throws when the director cannot be reached. */
  exec(host: string, cmd: Command, timeoutMs: number): Promise<ExecResult>;
  /** Drops a director's connection so the next exec connects afresh (after a link cut or a lost connection). */
  reset(host: string): Promise<void>;
  /** GET on a port of the director's loopback through its connection (lvsd's status); absent: not available. */
  httpGet?(host: string, port: number, path: string): Promise<HttpResponse>;
  client: DrillClient;
  now(): number;
  sleep(ms: number): Promise<void>;
  aborted(): boolean;
  emit(e: DrillEvent): void;
}

export interface DrillOptions extends StepLimits {
  mode: DrillMode;
  linkDownSec: number;
  runId: string;
  only?: string[];
  /** Long-lived connections held across each step (0: none). */
  held: number;
  warmupMs?: number;
  /** How long a director stays down once its VIPs moved. */
  downHoldMs?: number;
  settleMs?: number;
  moveTimeoutMs?: number;
  /** crash: how long the step watches whether a peer takes the VIPs before the restore. */
  crashWatchMs?: number;
  backTimeoutMs?: number;
  pollMs?: number;
  probeTimeoutMs?: number;
  /** How long a restore keeps trying to reach a director (after its own timer, for a link cut). */
  restoreTimeoutMs?: number;
}

export type DrillEvent =
  | { type: "drill.health"; ok: boolean; problems: string[]; holders: Record<string, string[]> }
  | { type: "step.started"; director: string; mode: DrillMode; holds: string[] }
  | { type: "step.down"; director: string; commands: string[]; error?: string }
  /** watched (crash): the VIPs did not have to move; ms is when a peer was first seen holding them. */
  | { type: "step.moved"; director: string; ms?: number; holders: Record<string, string[]>; watched?: boolean }
  | { type: "step.restoring"; director: string; commands: string[] }
  | { type: "step.back"; director: string; ms?: number; holders: Record<string, string[]>; problems: string[] }
  | { type: "step.result"; report: StepReport }
  | { type: "restore"; director: string; ok: boolean; what: string[]; error?: string };

export interface RestoreResult {
  director: string;
  ok: boolean;
  /** What was run to bring it back. */
  what: string[];
  error?: string;
}

export interface DrillReport {
  mode: DrillMode;
  client: string;
  /** The gate before the first step; the drill does not start unless it passed. */
  health: { ok: boolean; problems: string[]; judge: string };
  steps: StepReport[];
  /** Directors put back after an interrupt or an error (empty when every step restored its own). */
  restores: RestoreResult[];
  interrupted: boolean;
  /** Why the drill stopped before its last step, when it did. */
  stoppedEarly?: string;
  pass: boolean;
}

/** Which judge says "healthy" before and after each step; named in the report. */
export const HEALTH_JUDGE = "lvsctl status (src/status judge): every director asked, its daemon active, one master per instance where the priorities and preemption put it, IPVS tables as the inventory says, no real server down, SSH-managed real servers with their lo VIPs and ARP sysctls";

/** What the drill reads of a status: who holds each instance's VIPs, and what is wrong. */
export interface Seen {
  /** instance -> the directors holding all its VIPs (instances nobody holds are left out, as mastersNow does). */
  masters: Record<string, string[]>;
  problems: string[];
  status: ClusterStatus;
}

export function seenOf(status: ClusterStatus): Seen {
  const masters: Record<string, string[]> = {};
  for (const i of status.instances) if (i.masters.length) masters[i.name] = [...i.masters];
  return { masters, problems: status.problems.map((p) => p.message), status };
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * How long held connections are open before the director goes down, at least. The kernel's master
 * sync daemon sends a connection after its third packet, but only when its buffer is full or 2 s
 * old (IPVS_SYNC_FLUSH_TIME, net/netfilter/ipvs/ip_vs_sync.c), and a sync daemon that is stopped
 * (a clean stop of keepalived or lvsd stops it) drops what it has not sent. A connection younger
 * than that cannot be on the backup yet: the bench's first run lost every one of them on a clean
 * stop with sync on, for a reason no connection that is really long-lived meets.
 */
export const HELD_SYNC_MS = 3000;

export async function runDrill(cluster: Cluster, ports: DrillPorts, o: DrillOptions): Promise<DrillReport> {
  const warmupMs = o.warmupMs ?? 1000;
  const downHoldMs = o.downHoldMs ?? 2000;
  const settleMs = o.settleMs ?? 1000;
  const moveTimeoutMs = o.moveTimeoutMs ?? 30_000;
  const crashWatchMs = o.crashWatchMs ?? 10_000;
  const backTimeoutMs = o.backTimeoutMs ?? 90_000;
  const pollMs = o.pollMs ?? 250;
  const probeTimeoutMs = o.probeTimeoutMs ?? 5000;
  const restoreTimeoutMs = o.restoreTimeoutMs ?? 60_000;
  const { now, sleep, aborted, emit } = ports;

  /**
   * The cluster as `lvsctl status` sees it (src/status gather + buildStatus). `skip` ones (links
   * cut) are not asked; a failed command resets that connection, so the next poll reconnects.
   */
  const probeAll = async (skip: Set<string> = new Set()): Promise<Seen> => {
    const probe: StatusProbe = {
      async exec(host, cmd) {
        if (skip.has(host)) throw new Error("its links are cut by the drill");
        try {
          return await ports.exec(host, cmd, probeTimeoutMs);
        } catch (e) {
          await ports.reset(host).catch(() => undefined);
          throw e;
        }
      },
      async httpGet(host, port, path) {
        if (skip.has(host)) throw new Error("its links are cut by the drill");
        if (!ports.httpGet) throw new Error("the drill cannot read lvsd's status endpoint here");
        return ports.httpGet(host, port, path);
      },
    };
    return seenOf(buildStatus(cluster, await gather(cluster, probe), new Date()));
  };

  const report: DrillReport = { mode: o.mode, client: ports.client.where, health: { ok: false, problems: [], judge: HEALTH_JUDGE }, steps: [], restores: [], interrupted: false, pass: false };
  const seen0 = await probeAll();
  const problems0 = seen0.problems;
  const holders0 = seen0.masters;
  report.health = { ok: problems0.length === 0, problems: problems0, judge: HEALTH_JUDGE };
  emit({ type: "drill.health", ok: problems0.length === 0, problems: problems0, holders: holders0 });
  if (problems0.length) {
    report.stoppedEarly = "the cluster is not healthy: the drill did not start";
    return report;
  }

  /** Runs a step's `up` commands until they all went through or time is up (a link cut: the director's own timer brings it back first). */
  const restore = async (step: DrillStep, budgetMs: number): Promise<RestoreResult> => {
    const what = step.up.map((c) => c.describe);
    emit({ type: "step.restoring", director: step.director, commands: what });
    const deadline = now() + budgetMs;
    let error = "";
    for (;;) {
      try {
        for (const c of step.up) {
          const r = await ports.exec(step.director, c.cmd, 15_000);
          if (r.code !== 0 && !c.mayFail) throw new Error(`\`${c.describe}\` exited ${r.code}: ${(r.stderr.toString("utf8") || r.stdout.toString("utf8")).trim().slice(0, 300)}`);
        }
        return { director: step.director, ok: true, what };
      } catch (e) {
        error = errText(e);
      }
      if (now() >= deadline) return { director: step.director, ok: false, what, error };
      await ports.reset(step.director).catch(() => undefined);
      await sleep(1000);
    }
  };

  /** Waits for `cond` over fresh probes, polling; stops early on an interrupt. */
  const pollUntil = async (timeoutMs: number, skip: () => Set<string>, cond: (seen: Seen) => boolean): Promise<{ at?: number; seen: Seen }> => {
    const t0 = now();
    for (;;) {
      const seen = await probeAll(skip());
      if (cond(seen)) return { at: now(), seen };
      if (aborted() || now() - t0 >= timeoutMs) return { seen };
      await sleep(pollMs);
    }
  };

  /** Directors whose step ran its down commands and whose up commands have not gone through yet. */
  const pending = new Map<string, DrillStep>();
  const directors = o.only ?? cluster.directors.map((d) => d.host.name);
  try {
    for (const director of directors) {
      if (aborted()) break;
      // Planned from who holds the VIPs now: with nopreempt they stay where an earlier step put them.
      const seen = await probeAll();
      const health = seen.problems;
      if (health.length) {
        report.stoppedEarly = `the cluster was not healthy before ${director}'s step: ${health.join("; ")}`;
        break;
      }
      const step = planDrill(cluster, seen.masters, { mode: o.mode, linkDownSec: o.linkDownSec, runId: o.runId, only: [director] })[0]!;
      const rep = await runStep(step);
      if (rep) {
        report.steps.push(rep);
        emit({ type: "step.result", report: rep });
        if (!rep.restored) {
          report.stoppedEarly = `${director} could not be brought back: no further director is taken down`;
          break;
        }
      }
    }
  } finally {
    for (const step of pending.values()) {
      const r = await restore(step, (step.selfRestoreMs ?? 0) + restoreTimeoutMs);
      report.restores.push(r);
      emit({ type: "restore", ...r });
      if (r.ok) pending.delete(step.director);
    }
  }
  report.interrupted = aborted();
  if (report.interrupted) report.stoppedEarly ??= "interrupted";
  report.pass = !report.interrupted && report.stoppedEarly === undefined && report.steps.length === directors.length && report.steps.every((s) => s.pass) && report.restores.every((r) => r.ok);
  return report;

  async function runStep(step: DrillStep): Promise<StepReport | undefined> {
    const d = step.director;
    emit({ type: "step.started", director: d, mode: step.mode, holds: step.holds });
    const errors: string[] = [];
    let held: HeldConnections | undefined;
    let load: RunningLoad | undefined;
    let restored = false;
    let movedMs: number | undefined;
    /** Instances a peer was seen holding while this director was down. */
    const movedInst = new Set<string>();
    let backMs: number | undefined;
    let expectedAfter = step.after;
    let final: Seen | undefined;
    let stopped: { results: RequestResult[]; stoppedAt: number } = { results: [], stoppedAt: now() };
    let heldResult: HeldResult | undefined;
    try {
      if (o.held > 0 && ports.client.hold) held = await ports.client.hold(o.held);
      load = await ports.client.start();
      await sleep(held ? Math.max(warmupMs, HELD_SYNC_MS) : warmupMs);
      if (aborted()) return undefined;
      // From the first command on, the director counts as down: a restore is owed even if the command fails half way.
      pending.set(d, step);
      let tDown: number | undefined;
      for (const c of step.down) {
        if (!c.prepares) tDown ??= now();
        try {
          const r = await ports.exec(d, c.cmd, 15_000);
          if (r.code !== 0) throw new Error(`exited ${r.code}: ${(r.stderr.toString("utf8") || r.stdout.toString("utf8")).trim().slice(0, 300)}`);
        } catch (e) {
          errors.push(`\`${c.describe}\` on ${d} failed: ${errText(e)}`);
          break;
        }
      }
      tDown ??= now();
      emit({ type: "step.down", director: d, commands: step.down.map((c) => c.describe), ...(errors.length ? { error: errors[0]! } : {}) });
      const cutUntil = step.selfRestoreMs !== undefined ? tDown + step.selfRestoreMs + 2000 : undefined;
      const skip = () => (cutUntil !== undefined && now() < cutUntil ? new Set([d]) : new Set<string>());
      if (!errors.length && !aborted()) {
        // Moved: each instance it held is on an allowed peer (a killed keepalived leaves its VIPs on its own interface too).
        const isMoved = ({ masters: m }: Seen) => step.holds.length > 0 && step.holds.every((i) => (step.during[i] ?? []).some((x) => (m[i] ?? []).includes(x)));
        if (step.mustMove) {
          const moved = await pollUntil(moveTimeoutMs, skip, (seen) => step.holds.length === 0 || isMoved(seen));
          if (moved.at !== undefined) movedMs = Math.round(moved.at - tDown);
          emit({ type: "step.moved", director: d, ...(movedMs !== undefined ? { ms: movedMs } : {}), holders: moved.seen.masters });
          await sleep(downHoldMs);
        } else {
          // crash: systemd may have the daemon back before a peer's master down interval ends; watch, and note when a peer held them.
          const tWatch = now();
          let last: Seen | undefined;
          for (;;) {
            last = await probeAll(skip());
            if (movedMs === undefined && isMoved(last)) movedMs = Math.round(now() - tDown);
            for (const i of step.holds) if ((step.during[i] ?? []).some((x) => (last!.masters[i] ?? []).includes(x))) movedInst.add(i);
            if (aborted() || now() - tWatch >= crashWatchMs) break;
            await sleep(pollMs);
          }
          emit({ type: "step.moved", director: d, ...(movedMs !== undefined ? { ms: movedMs } : {}), holders: last.masters, watched: true });
        }
      }
      if (aborted()) return undefined;
      // A link cut ends by the director's own timer; the restore then only makes sure.
      if (step.selfRestoreMs !== undefined) {
        const wait = tDown + step.selfRestoreMs + 1000 - now();
        if (wait > 0) await sleep(wait);
        if (aborted()) return undefined;
      }
      const r = await restore(step, restoreTimeoutMs);
      restored = r.ok;
      if (r.ok) pending.delete(d);
      else errors.push(`restoring ${d} failed: ${r.error ?? "unknown"}`);
      const tUp = now();
      // crash: an instance no peer took while the daemon restarted ends where keptAfter says.
      expectedAfter = step.keptAfter ? Object.fromEntries(Object.entries(step.after).map(([i, a]) => [i, movedInst.has(i) ? a : (step.keptAfter![i] ?? a)])) : step.after;
      if (restored && !aborted()) {
        const back = await pollUntil(backTimeoutMs, () => new Set(), ({ problems, masters: m }) => {
          if (problems.length) return false;
          return Object.entries(expectedAfter).every(([i, allowed]) => (m[i] ?? []).length === 1 && allowed.includes(m[i]![0]!));
        });
        if (back.at !== undefined) backMs = Math.round(back.at - tUp);
        final = back.seen;
        emit({ type: "step.back", director: d, ...(backMs !== undefined ? { ms: backMs } : {}), holders: back.seen.masters, problems: back.seen.problems });
        await sleep(settleMs);
      }
    } finally {
      if (load) stopped = await load.stop();
      if (held) heldResult = await held.finish();
    }
    if (aborted() && !restored) return undefined;
    const obs = {
      director: d,
      holds: step.holds,
      mustMove: step.mustMove,
      finalHolders: final?.masters ?? {},
      expectedAfter,
      health: final?.problems ?? [],
      requests: stopped.results,
      stoppedAt: stopped.stoppedAt,
      errors,
      restored,
      ...(movedMs !== undefined ? { movedMs } : {}),
      ...(backMs !== undefined ? { backMs } : {}),
      ...(heldResult ? { held: heldResult } : {}),
    };
    return judgeStep(obs, o);
  }
}
