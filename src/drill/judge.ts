// What a drill step measured and whether it passed. Pure: from the client's request results
// (timestamps on one clock, milliseconds) and what was seen of the VIPs.
//
// The gap is the time the VIP did not answer as the client saw it: for each run of failed
// requests, from the end of the last answered request before it to the start of the first
// answered request after it (a run still failing when the client stopped ends at the client's
// stop). The longest such run is the step's gap; with no failed request it is 0. Its resolution
// is the client's interval plus its request timeout: a failure shorter than the interval between
// two requests is not seen at all.

export interface RequestResult {
  /** Start and end of the request, ms on the client's clock. */
  start: number;
  end: number;
  ok: boolean;
  error?: string;
}

export interface Gap {
  ms: number;
  /** When it began (the last answer before it) and ended, on the client's clock. */
  from: number;
  to: number;
  failed: number;
  /** The client stopped before an answer came back. */
  open: boolean;
}

export function longestGap(results: RequestResult[], stoppedAt?: number): Gap | undefined {
  const rs = [...results].sort((a, b) => a.start - b.start);
  let best: Gap | undefined;
  let lastOkEnd: number | undefined;
  let runStart: number | undefined;
  let failed = 0;
  const close = (to: number, open: boolean) => {
    const from = lastOkEnd ?? runStart!;
    const g = { ms: Math.max(0, Math.round(to - from)), from, to, failed, open };
    if (!best || g.ms > best.ms) best = g;
  };
  for (const r of rs) {
    if (r.ok) {
      if (failed > 0) close(r.start, false);
      failed = 0;
      runStart = undefined;
      lastOkEnd = r.end;
    } else {
      if (failed === 0) runStart = r.start;
      failed++;
    }
  }
  if (failed > 0) close(stoppedAt ?? Math.max(...rs.map((r) => r.end)), true);
  return best;
}

export interface HeldResult {
  /** Long-lived connections opened through the VIP before the director went down. */
  opened: number;
  /** Still open and answering after it came back. */
  survived: number;
  notes: string[];
}

export interface StepLimits {
  /** The longest gap allowed, ms. */
  maxGapMs?: number;
  /** Failed requests allowed per step. */
  maxFailed?: number;
}

export interface StepObservation {
  director: string;
  /** Instances it held when the step started (their VIPs had to move). */
  holds: string[];
  /** false (crash): the daemon restarts by itself and may keep them; not moving is no failure. */
  mustMove?: boolean;
  /** ms from the down command to the VIPs seen where expected; undefined: never seen. */
  movedMs?: number;
  /** ms from the restore to the cluster healthy with the VIPs where preemption says; undefined: never. */
  backMs?: number;
  /** instance -> directors that held its VIPs at the end of the step. */
  finalHolders: Record<string, string[]>;
  /** instance -> directors allowed to hold them (plan.after). */
  expectedAfter: Record<string, string[]>;
  /** The health judge's problems at the end of the step ([] = healthy). */
  health: string[];
  requests: RequestResult[];
  stoppedAt: number;
  held?: HeldResult;
  /** Commands that failed, lost connections. */
  errors: string[];
  restored: boolean;
}

export interface StepReport {
  director: string;
  pass: boolean;
  /** Why it failed, one sentence each ([] when it passed). */
  failures: string[];
  vipMoved: boolean;
  movedMs?: number;
  backMs?: number;
  sent: number;
  failed: number;
  gapMs: number;
  gapOpen: boolean;
  held?: HeldResult;
  finalHolders: Record<string, string[]>;
  expectedAfter: Record<string, string[]>;
  health: string[];
  errors: string[];
  restored: boolean;
}

const sameSet = (a: string[], allowed: string[]) => a.length === 1 && allowed.includes(a[0]!);

export function judgeStep(o: StepObservation, limits: StepLimits): StepReport {
  const failures: string[] = [];
  const sent = o.requests.length;
  const failed = o.requests.filter((r) => !r.ok).length;
  const gap = longestGap(o.requests, o.stoppedAt);
  const gapMs = gap?.ms ?? 0;
  failures.push(...o.errors);
  if (!o.restored) failures.push(`${o.director} was not brought back`);
  if (o.holds.length && o.movedMs === undefined && o.mustMove !== false) failures.push(`the VIPs of ${o.holds.join(", ")} did not move off ${o.director}`);
  if (o.backMs === undefined) failures.push("the cluster did not come back to health with the VIPs where the inventory puts them");
  for (const [inst, allowed] of Object.entries(o.expectedAfter)) {
    const have = o.finalHolders[inst] ?? [];
    if (!sameSet(have, allowed)) failures.push(`${inst}: held by ${have.length ? have.join(" and ") : "no director"} after ${o.director} came back, expected ${allowed.join(" or ") || "no director"}`);
  }
  failures.push(...o.health.map((h) => `not healthy afterwards: ${h}`));
  if (sent === 0) failures.push("the client sent no request");
  if (gap?.open) failures.push(`the VIP did not answer again before the client stopped (${failed} failed request(s) at the end)`);
  if (limits.maxGapMs !== undefined && gapMs > limits.maxGapMs) failures.push(`gap ${gapMs} ms is over --max-gap ${limits.maxGapMs} ms`);
  if (limits.maxFailed !== undefined && failed > limits.maxFailed) failures.push(`${failed} failed request(s), over --max-failed ${limits.maxFailed}`);
  const out: StepReport = {
    director: o.director,
    pass: failures.length === 0,
    failures,
    vipMoved: o.movedMs !== undefined,
    sent,
    failed,
    gapMs,
    gapOpen: gap?.open ?? false,
    finalHolders: o.finalHolders,
    expectedAfter: o.expectedAfter,
    health: o.health,
    errors: o.errors,
    restored: o.restored,
  };
  if (o.movedMs !== undefined) out.movedMs = o.movedMs;
  if (o.backMs !== undefined) out.backMs = o.backMs;
  if (o.held) out.held = o.held;
  return out;
}
