// The live per-host tree on a terminal (the only module that imports listr2). One listr task per
// host, all concurrent, exitOnError false; under each, one row per playbook task, resolved by the
// executor's events. The host name is in every title (listr2's simple renderer prints titles
// without their parents). listr2's generic task types are loosened to `Wrapper` here on purpose:
// its renderer type parameters add nothing for a view that only sets titles and output.
import { Listr, ListrLogger, ProcessOutput } from "listr2";
import { runWarningText, type RunEvent, type RunEventOf } from "./events.js";
import { exitText, recapBlock } from "./recap.js";
import type { LineSink } from "./view-plain.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Wrapper = any;

type Result = RunEventOf<"task.result"> | { status: "unreachable"; reason: string } | { status: "not-run"; reason: string };

class Deferred<T> {
  promise: Promise<T>;
  resolve!: (v: T) => void;
  settled = false;
  constructor() {
    this.promise = new Promise<T>((r) => (this.resolve = r));
  }
  settle(v: T) {
    if (!this.settled) {
      this.settled = true;
      this.resolve(v);
    }
  }
}

export interface ListrViewOptions {
  diff?: boolean;
  /** listr2 renderer: "default" on a TTY; "simple" or "test" elsewhere (tests). */
  renderer?: "default" | "simple" | "verbose" | "test" | "silent";
  /** Where listr2 draws (default: process.stdout). */
  stream?: NodeJS.WriteStream;
}

export function listrView(out: LineSink, opts: ListrViewOptions = {}) {
  // per play: host -> task index -> result
  let rows = new Map<string, Deferred<Result>[]>();
  const handlerLines = new Map<string, string[]>();
  const counts = new Map<string, { ok: number; changed: number; failed: number; skipped: number }>();
  const unreachable = new Map<string, string>();
  const problems: string[] = [];
  const runs: Promise<unknown>[] = [];

  const logger = opts.stream ? { logger: new ListrLogger({ processOutput: new ProcessOutput(opts.stream, opts.stream) }) } : {};

  const settleRest = (host: string, from: number, r: Result) => rows.get(host)?.slice(from).forEach((d) => d.settle(r));

  const startPlay = (e: RunEventOf<"play.started">) => {
    rows = new Map(e.hosts.map((h) => [h, e.tasks.map(() => new Deferred<Result>())]));
    const playRows = rows;
    const list = new Listr(
      e.hosts.map((host) => ({
        title: host,
        task: async (_ctx: unknown, hostTask: Wrapper) => {
          await hostTask
            .newListr(
              e.tasks.map((name, i) => ({
                title: `${host}: ${name}`,
                task: async (_c: unknown, t: Wrapper) => {
                  const r = await playRows.get(host)![i]!.promise;
                  if (r.status === "unreachable") return t.skip(`${host}: ${name}: not run (unreachable)`);
                  if (r.status === "not-run") return t.skip(`${host}: ${name}: not run (${r.reason})`);
                  if (r.status === "skipped") return t.skip(`${host}: ${name}: skipped (${r.reason})`);
                  if (r.status === "failed") throw new Error(`${host}: ${name}: ${r.reason}`);
                  const warn = r.warnings?.length ? ` — warning: ${r.warnings.join("; ")}` : "";
                  t.title = `${host}: ${name} [${r.status === "changed" ? (r.check ? "would change" : "changed") : "ok"}]${warn}`;
                  const extra = [r.status === "changed" ? r.reason : "", ...(opts.diff && r.diff ? [r.diff] : [])].filter(Boolean);
                  if (extra.length) t.output = extra.join("\n");
                },
                rendererOptions: { persistentOutput: true },
              })),
              { concurrent: false, exitOnError: false },
            )
            .run()
            .catch(() => undefined);
          const c = counts.get(host) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
          const summary = `ok=${c.ok} changed=${c.changed} failed=${c.failed} skipped=${c.skipped}`;
          if (unreachable.has(host)) throw new Error(`${host}: UNREACHABLE: ${unreachable.get(host)}`);
          if (c.failed > 0) throw new Error(`${host}: ${summary}`);
          hostTask.title = `${host}: ${summary}`;
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        renderer: opts.renderer ?? "default",
        fallbackRenderer: "simple",
        // A finished host folds into one line with its counts (50 hosts must fit a terminal);
        // failures and warnings are printed again below the tree.
        rendererOptions: { collapseSubtasks: true, collapseErrors: false, ...logger },
        fallbackRendererOptions: { ...logger },
      } as never,
    );
    runs.push(list.run().catch(() => undefined));
  };

  const gateLines: string[] = [];
  return {
    onEvent(e: RunEvent): void {
      switch (e.type) {
        case "play.started":
          startPlay(e);
          break;
        case "run.warning":
          // Drawn with the problems below the trees, where a warning stays visible.
          problems.push(runWarningText(e));
          break;
        case "host.unreachable":
          unreachable.set(e.host, e.error);
          problems.push(`${e.host}: UNREACHABLE: ${e.error}${e.hint ? ` (hint: ${e.hint})` : ""}`);
          settleRest(e.host, 0, { status: "unreachable", reason: e.error });
          break;
        case "task.result": {
          const c = counts.get(e.host) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
          c[e.status]++;
          counts.set(e.host, c);
          if (e.handler) {
            const l = handlerLines.get(e.host) ?? [];
            l.push(`${e.host}: handler ${e.task}: ${e.status}${e.status === "failed" ? `: ${e.reason}` : ""}`);
            handlerLines.set(e.host, l);
            break;
          }
          if (e.status === "failed") problems.push(`${e.host}: FAILED ${e.task}: ${e.reason}`);
          for (const w of e.warnings ?? []) problems.push(`${e.host}: warning: ${e.task}: ${w}`);
          if (e.index < 0) {
            settleRest(e.host, 0, { status: "not-run", reason: e.reason });
            break;
          }
          rows.get(e.host)?.[e.index]?.settle(e);
          if (e.status === "failed") settleRest(e.host, e.index + 1, { status: "not-run", reason: "an earlier task failed" });
          break;
        }
        case "gate.result":
          // Shown after the trees: a passed gate says who is master; a failed one is a problem.
          (e.ok ? gateLines : problems).push(`${e.host}: gate ${e.ok ? "passed" : "FAILED"}: ${e.reason}`);
          break;
        case "play.aborted":
          for (const h of rows.keys()) settleRest(h, 0, { status: "not-run", reason: e.reason });
          break;
        case "run.finished":
          for (const h of rows.keys()) settleRest(h, 0, { status: "not-run", reason: e.interrupted ? "interrupted" : "not reached" });
          void Promise.all(runs).then(() => {
            for (const lines of handlerLines.values()) for (const l of lines) out.write(l + "\n");
            for (const l of gateLines) out.write(l + "\n");
            for (const p of problems) out.write(p + "\n");
            out.write(recapBlock(e.recap));
            out.write(`${exitText(e.exitCode)}\n`);
          });
          break;
        default:
          break;
      }
    },
    /** Resolves when every tree has finished drawing. */
    async finish(): Promise<void> {
      await Promise.all(runs);
      await new Promise((r) => setImmediate(r));
    },
  };
}
