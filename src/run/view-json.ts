// --json: one event per line on stdout (JSON Lines), nothing else. Secrets were masked by the
// executor before the event left it.
import type { RunEvent } from "./events.js";
import type { LineSink } from "./view-plain.js";

export function jsonView(out: LineSink) {
  return {
    onEvent(e: RunEvent): void {
      out.write(JSON.stringify(e) + "\n");
    },
    async finish(): Promise<void> {},
  };
}
