// The one call a CLI command needs: run a playbook with the right view on stdout, Ctrl-C wired
// to an orderly stop, and the exit code back.
import { runPlaybook, type RunPlaybookParams, type RunResult } from "./executor.js";
import { createView, interruptSignal } from "./view.js";

export interface OutputChoice {
  /** --json: one event per line on stdout. */
  json?: boolean;
  /** Plain view: also print ok and skipped results. */
  verbose?: boolean;
  /** Default process.stdout; its isTTY picks the listr2 tree or plain lines. */
  stream?: NodeJS.WriteStream;
}

export async function runWithOutput(params: RunPlaybookParams & { output?: OutputChoice }): Promise<RunResult> {
  const { output = {}, onEvent, ...rest } = params;
  const stream = output.stream ?? process.stdout;
  const view = createView(stream, { json: output.json === true, diff: rest.options?.diff === true, verbose: output.verbose === true });
  const own = rest.signal ? undefined : interruptSignal();
  try {
    const result = await runPlaybook({
      ...rest,
      ...(own ? { signal: own.signal } : {}),
      onEvent: (e) => {
        view.onEvent(e);
        onEvent?.(e);
      },
    });
    await view.finish();
    return result;
  } finally {
    own?.dispose();
  }
}
