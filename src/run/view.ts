// Picking the output for a run: --json, a listr2 tree on a terminal, plain lines otherwise.
import { jsonView } from "./view-json.js";
import { listrView } from "./view-listr.js";
import { plainView, type LineSink } from "./view-plain.js";
import type { RunEvent } from "./events.js";

export interface View {
  onEvent(e: RunEvent): void;
  /** Resolves when everything is written (the listr tree has finished drawing). */
  finish(): Promise<void>;
}

export interface ViewChoice {
  json?: boolean;
  diff?: boolean;
  verbose?: boolean;
  /** Default: out.isTTY. */
  tty?: boolean;
}

export function createView(out: LineSink & { isTTY?: boolean }, choice: ViewChoice = {}): View {
  if (choice.json) return jsonView(out);
  const tty = choice.tty ?? out.isTTY === true;
  if (tty) return listrView(out, { diff: choice.diff === true });
  return plainView(out, { diff: choice.diff === true, verbose: choice.verbose === true });
}

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM (stop starting new work); a second one
 * exits at once with 130. Call dispose() when the run is over.
 */
export function interruptSignal(proc: NodeJS.Process = process): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) proc.exit(130);
    ac.abort(new Error("interrupted"));
  };
  proc.on("SIGINT", handler);
  proc.on("SIGTERM", handler);
  return {
    signal: ac.signal,
    dispose: () => {
      proc.off("SIGINT", handler);
      proc.off("SIGTERM", handler);
    },
  };
}
