// What the executor says, as typed values (STYLE.md habit 10). The executor never prints: the
// listr2 view, the plain-line view, `--json` and the tests are all consumers of these events.
// Every string in an event has passed through the run's secret mask before it is emitted.

export type TaskStatus = "ok" | "changed" | "failed" | "skipped";

export interface HostRecap {
  /** Tasks that found nothing to change (changed tasks are counted apart, not here). */
  ok: number;
  changed: number;
  failed: number;
  /** 1 when the host could not be reached (connect or fact gathering failed to connect). */
  unreachable: number;
  skipped: number;
  /** Results that carried warnings (counted among ok/changed too). */
  warnings: number;
}

interface Base {
  /** Milliseconds since the run started. */
  t: number;
}

export type RunEvent = Base &
  (
    | { type: "run.started"; playbook: string; check: boolean; hosts: string[] }
    | { type: "play.started"; play: string; hosts: string[]; tasks: string[]; handlers: string[]; batches: string[][] }
    | { type: "batch.started"; play: string; index: number; hosts: string[] }
    /** Something the whole run should know, said once: today a known_hosts file or line that cannot be used. */
    | { type: "run.warning"; source: "known_hosts"; file: string; line?: number; message: string }
    | { type: "host.connected"; host: string; ms: number }
    | { type: "host.unreachable"; host: string; error: string; hint?: string }
    | { type: "host.facts"; host: string; ms: number }
    | { type: "task.started"; host: string; play: string; task: string; index: number; handler: boolean }
    | {
        type: "task.result";
        host: string;
        play: string;
        task: string;
        index: number;
        /** true for a handler: the "handler ran" event. */
        handler: boolean;
        status: TaskStatus;
        reason: string;
        /** What was (or, under --check, would be) done, in order. */
        steps: string[];
        diff?: string;
        warnings?: string[];
        /** Handlers this result notified (changed results only). */
        notified?: string[];
        /** --check: nothing was executed. */
        check: boolean;
        ms: number;
      }
    | { type: "play.aborted"; play: string; reason: string }
    /** A rolling play's host order, asked from the hosts (`roll:`), and why. */
    | { type: "roll.order"; play: string; hosts: string[]; reason: string }
    /** A rolling play's gate after `host`: passed (the next host may go) or failed (the roll stops). */
    | { type: "gate.result"; play: string; host: string; ok: boolean; reason: string; ms: number }
    | { type: "host.recap"; host: string; recap: HostRecap }
    | { type: "run.finished"; exitCode: number; interrupted: boolean; ms: number; recap: Record<string, HostRecap> }
  );

export type RunEventOf<T extends RunEvent["type"]> = Extract<RunEvent, { type: T }>;

/** An event as the executor builds it, before the run clock stamps `t`. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, "t"> : never) : never;

/** `warning: known_hosts FILE:LINE: why`, as the plain and listr views print a run.warning. */
export function runWarningText(e: RunEventOf<"run.warning">): string {
  return `warning: ${e.source} ${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`;
}

export function emptyRecap(): HostRecap {
  return { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, warnings: 0 };
}

/** Mask every string in a JSON-like value (events are plain data). */
export function maskDeep<T>(value: T, mask: (s: string) => string): T {
  if (typeof value === "string") return mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, mask)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, mask);
    return out as T;
  }
  return value;
}
