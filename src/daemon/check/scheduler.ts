// The one scheduler for every health check (keepalived's check_api + epilog logic, plus a rise
// count). Thousands of checks share the event loop of the main thread: each check is an item in
// one timer queue on the injected clock (timer-queue.ts: one clock timer for every next run and
// every deadline) and one attempt in flight at most; no thread, no polling loop. An attempt
// that hangs is aborted at its deadline and judged then, whatever the checker does, so one stuck
// server never delays another check.
//
// Per check (keepalived check_http.c epilog(), check_api.c):
//
//             success (successes < rise)            failure (failures <= retry)
//            +-----------+                          +-----------+
//            |           v                          |           v
//          DOWN ---- rise successes ----> UP ---- retry+1 failures ----> DOWN
//            ^  next: delay_loop (or         next: delay_loop after a success,
//            |  delay_before_retry if        delay_before_retry while retrying
//            |  longer) after a failure
//
// A server starts UP (keepalived), or DOWN with `alpha`. The scheduler speaks (onChange) only
// when a server goes up or down, or a misc_dynamic weight changes; everything else is in the
// snapshot.
import type { Clock } from "../runtime/ports.js";
import { TimerQueue, untimed, type Timed } from "./timer-queue.js";
import type { CheckerSet, CheckReason, CheckResult, CheckSignal, CheckSpec, CheckTarget } from "./types.js";

export interface HealthChange {
  id: string;
  service: string;
  address: string;
  port: number;
  up: boolean;
  /** The weight the server should have while up (misc_dynamic may change it). */
  weight: number;
  /** The result that caused the change. */
  result: CheckResult;
}

export interface CheckStatus {
  id: string;
  service: string;
  address: string;
  port: number;
  type: CheckTarget["type"];
  up: boolean;
  weight: number;
  /** Failures / successes in a row. */
  failures: number;
  successes: number;
  checks: number;
  /** Failures since start, by reason. */
  failed: Partial<Record<CheckReason, number>>;
  /** The last attempt: ok, reason and detail, when it ended (clock ms) and how long it took. */
  last: { ok: boolean; reason?: CheckReason; detail?: string; at: number; ms: number } | null;
  /** When the state last changed (clock ms), null if never. */
  since: number | null;
  running: boolean;
}

export interface SchedulerOptions {
  clock: Clock;
  checkers: CheckerSet;
  /** First attempts are spread evenly over min(delay_loop, this) so a start does not burst
   * thousands of connections at once (default 1000 ms; 0: all at once). */
  initialSpreadMs?: number;
}

interface Entry extends Timed {
  kind: "run";
  spec: CheckSpec;
  key: string;
  up: boolean;
  weight: number;
  failures: number;
  successes: number;
  checks: number;
  failed: Partial<Record<CheckReason, number>>;
  last: CheckStatus["last"];
  since: number | null;
  inFlight: Flight | undefined;
}

/** One attempt in flight: its deadline in the timer queue, and the signal its checker is given
 * (one object for both; an attempt allocates nothing else of the scheduler's). */
class Flight implements CheckSignal, Timed {
  readonly kind = "deadline";
  tAt = 0;
  tSeq = 0;
  tLane: Timed["tLane"] = undefined;
  tPrev: Timed | undefined = undefined;
  tNext: Timed | undefined = undefined;
  aborted = false;
  settled = false;
  #listener: (() => void) | undefined;
  #more: Array<() => void> | undefined;
  constructor(
    readonly entry: Entry,
    readonly started: number,
  ) {}

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    if (!this.#listener) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.#listener === listener) this.#listener = this.#more?.shift();
    else if (this.#more) {
      const i = this.#more.indexOf(listener);
      if (i >= 0) this.#more.splice(i, 1);
    }
  }

  /** Runs the listeners once, as AbortSignal does ("once" whatever was asked); a listener that
   * throws is reported as uncaught, as EventTarget does, after the others have run. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const all = this.#listener ? [this.#listener, ...(this.#more ?? [])] : [];
    this.#listener = this.#more = undefined;
    for (const l of all) {
      try {
        l();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
}

export class CheckScheduler {
  readonly #o: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners: Array<(c: HealthChange) => void> = [];
  /** Every check's next run and every attempt's deadline, on one clock timer. */
  readonly #timers: TimerQueue<Entry | Flight>;
  #stopped = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
    this.#timers = new TimerQueue<Entry | Flight>(o.clock, (item) => (item.kind === "run" ? this.#run(item) : this.#expire(item)));
  }

  onChange(cb: (c: HealthChange) => void): void {
    this.#listeners.push(cb);
  }

  /** Starts, or on reload applies the difference: a check whose spec is unchanged keeps its state
   * and timer; a changed one keeps its up/down state and restarts its timing; a removed one is
   * cancelled (an attempt in flight is aborted). Returns the ids added, changed and removed. */
  set(specs: readonly CheckSpec[]): { added: string[]; changed: string[]; removed: string[] } {
    const out = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    const next = new Map(specs.map((s) => [s.id, s]));
    for (const [id, e] of this.#entries) {
      if (!next.has(id)) {
        this.#cancel(e);
        this.#entries.delete(id);
        out.removed.push(id);
      }
    }
    const now = this.#o.clock.now();
    const fresh: Entry[] = [];
    for (const spec of specs) {
      const key = JSON.stringify(spec);
      const e = this.#entries.get(spec.id);
      if (e && e.key === key) continue;
      if (e) {
        this.#cancel(e);
        e.spec = spec;
        e.key = key;
        if (e.up && !(spec.target.type === "MISC" && spec.target.dynamic)) e.weight = spec.weight;
        fresh.push(e);
        out.changed.push(spec.id);
        continue;
      }
      const n: Entry = {
        ...untimed(), kind: "run", spec, key, up: !spec.policy.alpha, weight: spec.weight, failures: 0, successes: 0, checks: 0, failed: {},
        last: null, since: null, inFlight: undefined,
      };
      this.#entries.set(spec.id, n);
      fresh.push(n);
      out.added.push(spec.id);
    }
    const spread = this.#o.initialSpreadMs ?? 1000;
    fresh.forEach((e, k) => {
      const window = Math.min(spread, e.spec.policy.delayLoopMs);
      if (!this.#stopped) this.#timers.at(e, now + (fresh.length > 1 ? (window * k) / fresh.length : 0));
    });
    return out;
  }

  /** Every check's state (the status endpoint's `checks`). */
  snapshot(): CheckStatus[] {
    return [...this.#entries.values()].map((e) => ({
      id: e.spec.id,
      service: e.spec.service,
      address: e.spec.address,
      port: e.spec.port,
      type: e.spec.target.type,
      up: e.up,
      weight: e.weight,
      failures: e.failures,
      successes: e.successes,
      checks: e.checks,
      failed: { ...e.failed },
      last: e.last ? { ...e.last } : null,
      since: e.since,
      running: e.inFlight !== undefined,
    }));
  }

  /** Up/down and weight of one check (undefined: not scheduled). */
  health(id: string): { up: boolean; weight: number } | undefined {
    const e = this.#entries.get(id);
    return e ? { up: e.up, weight: e.weight } : undefined;
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries.values()) this.#cancel(e);
    this.#timers.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  #cancel(e: Entry): void {
    this.#timers.remove(e);
    const f = e.inFlight;
    if (f) {
      f.settled = true;
      this.#timers.remove(f);
      e.inFlight = undefined;
      f.abort();
    }
  }

  #run(e: Entry): void {
    if (this.#stopped || e.inFlight) return;
    const { clock, checkers } = this.#o;
    const started = clock.now();
    const spec = e.spec;
    const flight = new Flight(e, started);
    e.inFlight = flight;
    this.#timers.after(flight, spec.policy.timeoutMs, started);
    const checker = checkers[spec.target.type] as { check(t: CheckTarget, s: CheckSignal): Promise<CheckResult> };
    let p: Promise<CheckResult>;
    try {
      p = checker.check(spec.target, flight);
    } catch (err) {
      p = Promise.resolve({ ok: false, reason: "read-error", detail: `checker threw: ${(err as Error).message}` });
    }
    p.then(
      (r) => this.#finish(flight, r),
      (err: unknown) => this.#finish(flight, { ok: false, reason: "read-error", detail: `checker rejected: ${(err as Error)?.message ?? String(err)}` }),
    );
  }

  /** The deadline passed: the checker answers with its phase's reason from the abort listener;
   * one that does not is judged without it on the next turn of the loop. */
  #expire(f: Flight): void {
    if (f.settled) return;
    f.abort();
    setImmediate(() => this.#finish(f, { ok: false, reason: "timeout", detail: `no answer within ${f.entry.spec.policy.timeoutMs} ms` }));
  }

  #finish(f: Flight, r: CheckResult): void {
    const e = f.entry;
    if (f.settled || e.inFlight !== f) return;
    f.settled = true;
    this.#timers.remove(f);
    e.inFlight = undefined;
    this.#settle(e, r, this.#o.clock.now() - f.started);
  }

  #settle(e: Entry, r: CheckResult, ms: number): void {
    const now = this.#o.clock.now();
    const p = e.spec.policy;
    e.checks++;
    e.last = r.ok ? (r.detail ? { ok: true, detail: r.detail, at: now, ms } : { ok: true, at: now, ms }) : { ok: false, reason: r.reason, detail: r.detail, at: now, ms };
    let next: number;
    if (r.ok) {
      e.failures = 0;
      e.successes++;
      const weight = r.weight ?? e.spec.weight;
      if (!e.up && e.successes >= p.rise) {
        e.up = true;
        e.weight = weight;
        e.since = now;
        this.#emit(e, r);
      } else if (e.up && weight !== e.weight) {
        e.weight = weight;
        this.#emit(e, r);
      }
      next = p.delayLoopMs;
    } else {
      e.successes = 0;
      e.failures++;
      e.failed[r.reason] = (e.failed[r.reason] ?? 0) + 1;
      if (e.up && e.failures > p.retry) {
        e.up = false;
        e.since = now;
        this.#emit(e, r);
      }
      // retrying a server still up: delay_before_retry; one already down: the longer of the two
      next = e.up ? p.delayBeforeRetryMs : Math.max(p.delayBeforeRetryMs, p.delayLoopMs);
    }
    if (!this.#stopped) this.#timers.after(e, next, now);
  }

  #emit(e: Entry, result: CheckResult): void {
    const c: HealthChange = { id: e.spec.id, service: e.spec.service, address: e.spec.address, port: e.spec.port, up: e.up, weight: e.weight, result };
    for (const l of this.#listeners) l(c);
  }
}
