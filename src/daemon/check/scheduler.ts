// The one scheduler for every health check (keepalived's check_api + epilog logic, plus a rise
// count). Thousands of checks share the event loop of the main thread: each check is a timer on
// the injected clock and one attempt in flight at most; no thread, no polling loop. An attempt
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
import type { Clock, TimerHandle } from "../runtime/ports.js";
import type { CheckerSet, CheckReason, CheckResult, CheckSpec, CheckTarget } from "./types.js";

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

interface Entry {
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
  timer: TimerHandle | undefined;
  inFlight: { abort: AbortController; deadline: TimerHandle; started: number; settled: boolean } | undefined;
}

export class CheckScheduler {
  readonly #o: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners: Array<(c: HealthChange) => void> = [];
  #stopped = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
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
        spec, key, up: !spec.policy.alpha, weight: spec.weight, failures: 0, successes: 0, checks: 0, failed: {},
        last: null, since: null, timer: undefined, inFlight: undefined,
      };
      this.#entries.set(spec.id, n);
      fresh.push(n);
      out.added.push(spec.id);
    }
    const spread = this.#o.initialSpreadMs ?? 1000;
    fresh.forEach((e, k) => {
      const window = Math.min(spread, e.spec.policy.delayLoopMs);
      this.#arm(e, now + (fresh.length > 1 ? (window * k) / fresh.length : 0));
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
  }

  // ---- internals ------------------------------------------------------------------------------

  #arm(e: Entry, at: number): void {
    if (this.#stopped) return;
    if (e.timer) this.#o.clock.cancel(e.timer);
    e.timer = this.#o.clock.at(at, () => {
      e.timer = undefined;
      this.#run(e);
    });
  }

  #cancel(e: Entry): void {
    if (e.timer) this.#o.clock.cancel(e.timer);
    e.timer = undefined;
    const f = e.inFlight;
    if (f) {
      f.settled = true;
      this.#o.clock.cancel(f.deadline);
      f.abort.abort();
      e.inFlight = undefined;
    }
  }

  #run(e: Entry): void {
    if (this.#stopped || e.inFlight) return;
    const { clock, checkers } = this.#o;
    const abort = new AbortController();
    const started = clock.now();
    const spec = e.spec;
    const flight = {
      abort,
      started,
      settled: false,
      deadline: clock.at(started + spec.policy.timeoutMs, () => {
        if (flight.settled) return;
        // The checker answers with its phase's reason from the abort handler; one that does not is
        // judged without it on the next turn of the loop.
        abort.abort();
        setImmediate(() => finish({ ok: false, reason: "timeout", detail: `no answer within ${spec.policy.timeoutMs} ms` }));
      }),
    };
    e.inFlight = flight;
    const finish = (r: CheckResult) => {
      if (flight.settled || e.inFlight !== flight) return;
      flight.settled = true;
      clock.cancel(flight.deadline);
      e.inFlight = undefined;
      this.#settle(e, r, clock.now() - started);
    };
    const checker = checkers[spec.target.type] as { check(t: CheckTarget, s: AbortSignal): Promise<CheckResult> };
    let p: Promise<CheckResult>;
    try {
      p = checker.check(spec.target, abort.signal);
    } catch (err) {
      p = Promise.resolve({ ok: false, reason: "read-error", detail: `checker threw: ${(err as Error).message}` });
    }
    p.then(finish, (err: unknown) => finish({ ok: false, reason: "read-error", detail: `checker rejected: ${(err as Error)?.message ?? String(err)}` }));
  }

  #settle(e: Entry, r: CheckResult, ms: number): void {
    const now = this.#o.clock.now();
    const p = e.spec.policy;
    e.checks++;
    e.last = r.ok ? { ok: true, ...(r.detail ? { detail: r.detail } : {}), at: now, ms } : { ok: false, reason: r.reason, detail: r.detail, at: now, ms };
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
    this.#arm(e, now + next);
  }

  #emit(e: Entry, result: CheckResult): void {
    const c: HealthChange = { id: e.spec.id, service: e.spec.service, address: e.spec.address, port: e.spec.port, up: e.up, weight: e.weight, result };
    for (const l of this.#listeners) l(c);
  }
}
