// Plain lines for logs and pipes (no TTY): every line starts with the host name, so output of
// hosts working at once can be told apart and grepped.
import { runWarningText, type RunEvent } from "./events.js";
import { exitText, recapBlock } from "./recap.js";

export interface LineSink {
  write(text: string): unknown;
}

export interface PlainViewOptions {
  /** Show diffs (--diff). */
  diff?: boolean;
  /** Also print ok and skipped results (default: only changes, failures, warnings). */
  verbose?: boolean;
}

export function plainView(out: LineSink, opts: PlainViewOptions = {}) {
  const line = (host: string, text: string) => out.write(`${host} | ${text}\n`);
  return {
    onEvent(e: RunEvent): void {
      switch (e.type) {
        case "run.started":
          out.write(`${e.check ? "CHECK (nothing will change) " : ""}${e.playbook} on ${e.hosts.length} host(s)\n`);
          break;
        case "play.started":
          out.write(`PLAY ${e.play} [${e.hosts.join(", ")}]${e.batches.length > 1 ? ` in ${e.batches.length} batches` : ""}\n`);
          break;
        case "run.warning":
          out.write(runWarningText(e) + "\n");
          break;
        case "host.unreachable":
          line(e.host, `UNREACHABLE: ${e.error}${e.hint ? ` (hint: ${e.hint})` : ""}`);
          break;
        case "task.result": {
          const tag = e.handler ? "handler " : "";
          const verb = e.status === "changed" && e.check ? "would change" : e.status;
          if (opts.verbose || e.status === "changed" || e.status === "failed") line(e.host, `${verb}: ${tag}${e.task}: ${e.reason}`);
          for (const w of e.warnings ?? []) line(e.host, `warning: ${e.task}: ${w}`);
          if (opts.diff && e.diff) for (const d of e.diff.replace(/\n$/, "").split("\n")) line(e.host, d);
          break;
        }
        case "roll.order":
          out.write(`PLAY ${e.play} order ${e.hosts.join(", ")}: ${e.reason}\n`);
          break;
        case "gate.result":
          line(e.host, `gate ${e.ok ? "passed" : "FAILED"}: ${e.reason}`);
          break;
        case "play.aborted":
          out.write(`PLAY ${e.play} ABORTED: ${e.reason}\n`);
          break;
        case "run.finished":
          out.write(recapBlock(e.recap));
          out.write(`${exitText(e.exitCode)} after ${(e.ms / 1000).toFixed(1)} s\n`);
          break;
        default:
          break;
      }
    },
    async finish(): Promise<void> {},
  };
}
