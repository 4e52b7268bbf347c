// The one polling loop of the lab tests: ask until the answer is truthy or the time is up. Every
// wait is bounded, and the error on timeout says what was awaited and what was seen last, so a
// failed run reads without a rerun.
import { inspect } from "node:util";
import { LvsctlError } from "../errors/index.js";
import { sleep } from "./proc.js";

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between two asks (default 50 ms); the last ask is at the deadline. */
  everyMs?: number;
  /** More context for the timeout message (log tail, state), built only when the wait fails. */
  detail?: () => string;
}

type Truthy<T> = Exclude<T, undefined | null | false | 0 | "">;

/** What the last ask gave: a value, or the error it threw. */
type Last = { value: unknown } | { error: unknown } | undefined;

function describeLast(last: Last): string {
  if (last === undefined) return "never asked";
  if ("error" in last) return `last error: ${last.error instanceof Error ? last.error.message : inspect(last.error)}`;
  const shown = inspect(last.value, { depth: 3, breakLength: Infinity });
  return `last value: ${shown.length > 500 ? `${shown.slice(0, 500)}...` : shown}`;
}

/**
 * Resolves with fn's first truthy answer. An ask that throws counts as "not yet" (the error is
 * kept for the message); after timeoutMs it rejects with LAB_WAIT_TIMEOUT naming `what`.
 */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, o: WaitOptions): Promise<Truthy<T>> {
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const every = o.everyMs ?? 50;
  let last: Last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
      last = { value: v };
    } catch (e) {
      last = { error: e };
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(every, left));
  }
  const detail = o.detail ? `\n${o.detail()}` : "";
  throw new LvsctlError("LAB_WAIT_TIMEOUT", `timed out after ${Date.now() - t0} ms waiting for ${what} (${describeLast(last)})${detail}`, {
    cause: last && "error" in last ? last.error : undefined,
  });
}
