// bench/drill's pure part: one line per (connection sync, drill mode) out of `lvsctl drill --json`
// reports, lvsd beside keepalived, each line judged against the targets of issue 11 item 6:
//   - lvsd no worse than keepalived on any line: its worst gap at most GAP_SLACK_MS longer, no
//     more failed requests, no fewer surviving long-lived connections;
//   - with connection sync, every long-lived connection survives a clean handover (mode stop).
// Also the sync diagnostics: what the kernel's sync daemons and connection tables showed while a
// drill ran (sampled from the directors), reduced to one short line.

export type Backend = "keepalived" | "lvsd";
export type Mode = "stop" | "kill" | "crash" | "link";

/** The part of a drill step (src/drill StepReport) the bench reads. */
export interface StepFigures {
  director: string;
  pass: boolean;
  gapMs: number;
  sent: number;
  failed: number;
  movedMs?: number;
  backMs?: number;
  held?: { opened: number; survived: number; notes: string[] };
  failures: string[];
}

/** One drill run: a backend, sync on or off, a mode, its steps (one per director). */
export interface DrillRun {
  backend: Backend;
  sync: boolean;
  mode: Mode;
  /** The drill's exit code and wall time. */
  code: number | null;
  ms: number;
  pass: boolean;
  steps: StepFigures[];
  /** Set when the drill gave no report (it could not run, or its output was not JSON). */
  error?: string;
}

export interface Cell {
  /** The longest gap of any step, ms; null when the drill gave no report. */
  gapMs: number | null;
  failed: number;
  sent: number;
  held: { opened: number; survived: number };
  pass: boolean;
}

export interface Line {
  sync: boolean;
  mode: Mode;
  keepalived?: Cell;
  lvsd?: Cell;
  /** lvsd no worse than keepalived on this line; undefined when one of them is missing. */
  lvsdNoWorse?: boolean;
  /** Why not, when not. */
  worse: string[];
  /** Sync on, mode stop: every long-lived connection survived, per backend. */
  allHeldSurvived?: Partial<Record<Backend, boolean>>;
}

/**
 * How much longer lvsd's gap may be and still count as no worse: one interval of the drill's
 * client (100 ms by default), the resolution of its gap (src/drill/judge.ts).
 */
export const GAP_SLACK_MS = 100;

export function cellOf(run: DrillRun): Cell {
  const gaps = run.steps.map((s) => s.gapMs);
  return {
    gapMs: run.error !== undefined || gaps.length === 0 ? null : Math.max(...gaps),
    failed: run.steps.reduce((a, s) => a + s.failed, 0),
    sent: run.steps.reduce((a, s) => a + s.sent, 0),
    held: {
      opened: run.steps.reduce((a, s) => a + (s.held?.opened ?? 0), 0),
      survived: run.steps.reduce((a, s) => a + (s.held?.survived ?? 0), 0),
    },
    pass: run.pass,
  };
}

const share = (c: Cell) => (c.held.opened ? c.held.survived / c.held.opened : 1);

/** Where lvsd is worse than keepalived on one line ([] when it is not). */
export function worseThan(lvsd: Cell, ka: Cell): string[] {
  const out: string[] = [];
  if (lvsd.gapMs === null) out.push("lvsd's drill gave no report");
  else if (ka.gapMs !== null && lvsd.gapMs > ka.gapMs + GAP_SLACK_MS) out.push(`gap ${lvsd.gapMs} ms against keepalived's ${ka.gapMs} ms`);
  if (lvsd.failed > ka.failed) out.push(`${lvsd.failed} failed requests against keepalived's ${ka.failed}`);
  if (share(lvsd) < share(ka)) out.push(`${lvsd.held.survived}/${lvsd.held.opened} long-lived connections survived against keepalived's ${ka.held.survived}/${ka.held.opened}`);
  return out;
}

/** The lines, sync off before sync on, modes in the order given. */
export function linesOf(runs: DrillRun[], modes: readonly Mode[]): Line[] {
  const lines: Line[] = [];
  for (const sync of [false, true]) {
    for (const mode of modes) {
      const of = (b: Backend) => runs.find((r) => r.backend === b && r.sync === sync && r.mode === mode);
      const ka = of("keepalived");
      const lv = of("lvsd");
      if (!ka && !lv) continue;
      const line: Line = { sync, mode, worse: [] };
      if (ka) line.keepalived = cellOf(ka);
      if (lv) line.lvsd = cellOf(lv);
      if (line.keepalived && line.lvsd) {
        line.worse = worseThan(line.lvsd, line.keepalived);
        line.lvsdNoWorse = line.worse.length === 0;
      }
      if (sync && mode === "stop") {
        line.allHeldSurvived = {};
        for (const [b, c] of [["keepalived", line.keepalived], ["lvsd", line.lvsd]] as const) if (c) line.allHeldSurvived[b] = c.held.opened > 0 && c.held.survived === c.held.opened;
      }
      lines.push(line);
    }
  }
  return lines;
}

const cellText = (c: Cell | undefined) => (c ? `${c.gapMs === null ? "-" : String(c.gapMs)} ms ${c.failed}/${c.sent} ${c.held.survived}/${c.held.opened}${c.pass ? "" : " FAIL"}` : "not run");

/** The table: one line per (sync, mode); each cell is "gap failed/sent survived/held". */
export function formatTable(lines: Line[]): string {
  const head = ["sync", "mode", "keepalived", "lvsd", "lvsd no worse"];
  const rows = lines.map((l) => [l.sync ? "on" : "off", l.mode, cellText(l.keepalived), cellText(l.lvsd), l.lvsdNoWorse === undefined ? "-" : l.lvsdNoWorse ? "yes" : `NO: ${l.worse.join("; ")}`]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(width[i]!))).join("  ");
  return [fmt(head), ...rows.map(fmt), "cells: worst gap over both steps, failed/sent requests, long-lived connections survived/held"].join("\n");
}

/** The targets of issue 11 item 6, over every line. */
export function targets(lines: Line[]): { lvsdNoWorseEverywhere: boolean | null; syncStopAllSurvive: Partial<Record<Backend, boolean>> } {
  const judged = lines.filter((l) => l.lvsdNoWorse !== undefined);
  const stop = lines.find((l) => l.sync && l.mode === "stop");
  return { lvsdNoWorseEverywhere: judged.length ? judged.every((l) => l.lvsdNoWorse) : null, syncStopAllSurvive: stop?.allHeldSurvived ?? {} };
}

// ---- sync diagnostics: samples of the directors' sync daemons and connection tables -------------

/** One look at a director while a drill ran. */
export interface SyncSample {
  /** ms since the drill started. */
  t: number;
  director: string;
  /** The sync daemons the kernel runs (`ipvsadm -L --daemon`): "master", "backup", both or none; null: not reachable. */
  daemons: string[] | null;
  /** ESTABLISHED entries to the VIP's port in its connection table (`ipvsadm -Lnc`); null: not reachable. */
  established: number | null;
  /** Their client ports (a long-lived connection shows up in many samples under one port). */
  ports?: number[];
  /** Every entry to the VIP's port, counted by state (ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, ...). */
  states?: Record<string, number>;
}

/** `ipvsadm -L --daemon` -> the sync daemons running ("master sync daemon (mcast=eth0, syncid=62)" ...). */
export function parseDaemons(text: string): string[] {
  return [...text.matchAll(/^(master|backup) sync daemon/gm)].map((m) => m[1]!).sort();
}

/** `ipvsadm -Lnc` -> the client ports of ESTABLISHED entries whose virtual address is `vip:port`. */
export function establishedPorts(text: string, vip: string, port: number): number[] {
  return text.split("\n").flatMap((l) => {
    const w = l.trim().split(/\s+/);
    return w[2] === "ESTABLISHED" && w[4] === `${vip}:${port}` ? [Number(w[3]!.slice(w[3]!.lastIndexOf(":") + 1))] : [];
  });
}

export function countEstablished(text: string, vip: string, port: number): number {
  return establishedPorts(text, vip, port).length;
}

/** The loop each director runs during a drill (bench/drill/run.ts): a marker with its clock, the sync daemons, the ESTABLISHED entries. */
export const SAMPLE_MARK = "@@sample";
export const CONNS_MARK = "@@conns";
export const STATES_MARK = "@@state";

/** That loop's output -> samples, t relative to `t0` (ms on the director's clock). */
export function parseSampleLog(text: string, director: string, vip: string, port: number, t0: number): SyncSample[] {
  const out: SyncSample[] = [];
  for (const block of text.split(`${SAMPLE_MARK} `).slice(1)) {
    const nl = block.indexOf("\n");
    const at = Number(block.slice(0, nl < 0 ? undefined : nl));
    const body = nl < 0 ? "" : block.slice(nl + 1);
    const cut = body.indexOf(CONNS_MARK);
    if (!Number.isFinite(at) || cut < 0) continue;
    const conns = body.slice(cut);
    const ports = establishedPorts(conns, vip, port);
    const states = Object.fromEntries([...conns.matchAll(new RegExp(`^${STATES_MARK} (\\S+) (\\d+)$`, "gm"))].map((m) => [m[1]!, Number(m[2])]));
    out.push({ t: at - t0, director, daemons: parseDaemons(body.slice(0, cut)), established: ports.length, ports, ...(Object.keys(states).length ? { states } : {}) });
  }
  return out;
}

/**
 * Long-lived connections (client ports seen in at least `minSamples` samples of one director) and
 * how many of them the other directors ever had in their tables: what connection sync carried.
 */
export function syncedLongLived(samples: SyncSample[], minSamples = 3): Record<string, { longLived: number; seenOn: Record<string, number> }> {
  const directors = [...new Set(samples.map((s) => s.director))];
  const portsOf = (d: string) => {
    const n = new Map<number, number>();
    for (const s of samples) if (s.director === d) for (const p of s.ports ?? []) n.set(p, (n.get(p) ?? 0) + 1);
    return n;
  };
  const counts = new Map(directors.map((d) => [d, portsOf(d)]));
  const out: Record<string, { longLived: number; seenOn: Record<string, number> }> = {};
  for (const d of directors) {
    const long = [...counts.get(d)!].filter(([, k]) => k >= minSamples).map(([p]) => p);
    out[d] = { longLived: long.length, seenOn: Object.fromEntries(directors.filter((x) => x !== d).map((x) => [x, long.filter((p) => counts.get(x)!.has(p)).length])) };
  }
  return out;
}

/** Per director: the sync daemons seen (in order, repeats collapsed) and the most ESTABLISHED entries seen. */
export function summarizeSamples(samples: SyncSample[]): Record<string, { daemons: string; maxEstablished: number | null; unreachable: number }> {
  const out: Record<string, { daemons: string; maxEstablished: number | null; unreachable: number }> = {};
  for (const d of [...new Set(samples.map((s) => s.director))]) {
    const mine = samples.filter((s) => s.director === d).sort((a, b) => a.t - b.t);
    const states: string[] = [];
    for (const s of mine) {
      if (s.daemons === null) continue;
      const st = s.daemons.length ? s.daemons.join("+") : "none";
      if (states[states.length - 1] !== st) states.push(st);
    }
    const est = mine.flatMap((s) => (s.established === null ? [] : [s.established]));
    out[d] = { daemons: states.join(" -> ") || "-", maxEstablished: est.length ? Math.max(...est) : null, unreachable: mine.filter((s) => s.daemons === null).length };
  }
  return out;
}
