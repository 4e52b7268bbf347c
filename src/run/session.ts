// The per-host session: one SSH connection for the whole run, and what a play does on one host
// (pyinfra's plan-then-apply, Ansible's handlers). The play scheduler (scheduler.ts) decides which
// hosts run when; a session only ever speaks for its own host.
//
// On a host, per play: connect (once per run), gather facts in one round trip, plan every task
// against them, run the planned steps in order (not under --check). A failed task stops that
// host's play; the handlers it had notified still run at the end of the play (Ansible's
// force_handlers), so a config that changed still gets its reload. A secret the host's
// connection needs that cannot be resolved (LVS212/LVS213) fails the host before dialling, as
// invalid input (exit 1), not as unreachable.
//
// Besides plays, a session runs read-only probes for whoever needs to ask the host something
// outside a play (the rolling gates, `status`, `drill`): `exec` and `httpGet` over the same connection
// (src/run/probe.ts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { LvsctlError } from "../errors/index.js";
import type { Cluster, ResolvedHost } from "../inventory/model.js";
import { evalCondition, type Vars } from "../plan/expr.js";
import { factCommand, mergeRequests, parseFacts, type FactRequest, type HostFacts } from "../plan/facts.js";
import { PlanError } from "../plan/ops/errors.js";
import type { OpPlan, PlanContext, Step } from "../plan/ops/types.js";
import type { DirFile } from "../plan/ops/upload-dir.js";
import { isUnreachable } from "../ssh/errors.js";
import { httpGetLoopback, type HttpResponse } from "../ssh/http.js";
import type { Command, ConnectTarget, Connector, ExecOptions, ExecResult, HostConnection, HostKeyPolicy } from "../ssh/types.js";
import type { HostRecap, RunEventInput, TaskStatus } from "./events.js";
import type { Play, Task } from "./playbook.js";
import { connectTarget, needsBecome, type ResolveSecret } from "./target.js";
import { interpolateArgs } from "./command-args.js";
import { toDesired, type Renderer, type ResolveEnv } from "./task-args.js";
import { clusterVars, factVars, routeProbes, wildcardFactVars } from "./vars.js";

export interface RunOptions {
  /** Plan only: gather facts (read-only) and report what would change. */
  check?: boolean;
  /** Unified diffs of files in task results (secrets masked). */
  diff?: boolean;
  /** Ansible's --limit: `web1,dbs,!web3`. */
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  /** Hosts worked on at once; default all hosts of the batch, at most 50. */
  forks?: number;
  /** Extra vars, highest precedence. */
  vars?: Vars;
  /** Per step, unless the step says otherwise (builds do). Default 5 min. */
  stepTimeoutMs?: number;
  /** Fact gathering timeout. Default 60 s. */
  factsTimeoutMs?: number;
  /** After an interrupt, how long steps in flight may finish before connections close. Default 5 s. */
  graceMs?: number;
  /** How long a rolling gate waits for the cluster to settle after a host. Default 60 s. */
  gateTimeoutMs?: number;
}

export type HostOutcome = "ok" | "failed" | "unreachable" | "interrupted";

/** What every session of one run shares: the run's options, its output, its local reads. */
export interface RunContext {
  cluster: Cluster;
  options: RunOptions;
  check: boolean;
  plan: PlanContext;
  /** Folder of the playbook: relative `src:` paths are read from here. */
  baseDir: string;
  connector: Connector;
  policy: HostKeyPolicy;
  resolveSecret: ResolveSecret;
  target: (host: ResolvedHost, resolve: ResolveSecret) => ConnectTarget;
  renderers: Record<string, Renderer>;
  renderTemplate?: (name: string, vars: Record<string, unknown>) => string;
  readFile(path: string): Buffer;
  readDir(path: string): DirFile[];
  emit(e: RunEventInput): void;
  aborted(): boolean;
  now(): number;
  recap: Record<string, HostRecap>;
}

export function readDirFiles(dir: string): DirFile[] {
  const out: DirFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push({ rel: r, content: readFileSync(join(dir, r)), mode: st.mode & 0o777 });
    }
  };
  walk("");
  return out;
}

/** Local reads through a per-run cache: a playbook's `src:` read once, however many hosts use it. */
export function cachedReads(readFile: (p: string) => Buffer = readFileSync, readDir: (p: string) => DirFile[] = readDirFiles) {
  const files = new Map<string, Buffer>();
  const dirs = new Map<string, DirFile[]>();
  return {
    readFile(path: string): Buffer {
      let b = files.get(path);
      if (!b) files.set(path, (b = readFile(path)));
      return b;
    },
    readDir(path: string): DirFile[] {
      let d = dirs.get(path);
      if (!d) dirs.set(path, (d = readDir(path)));
      return d;
    },
  };
}

class StepFailed extends Error {}

function tail(text: string, lines = 12): string {
  const ls = text.trimEnd().split("\n");
  return (ls.length > lines ? ["...", ...ls.slice(-lines)] : ls).join("\n");
}

export function errorText(e: unknown): string {
  if (e instanceof z.ZodError) return z.prettifyError(e).replace(/\n/g, "; ");
  if (e instanceof LvsctlError || e instanceof PlanError) return e.hint ? `${e.message} (hint: ${e.hint})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * A host.unreachable event: the error's message and its hint apart, so each view prints the hint
 * once (errorText would fold it into the message as well).
 */
export function unreachableEvent(host: string, e: unknown): { type: "host.unreachable"; host: string; error: string; hint?: string } {
  const hint = (e instanceof LvsctlError || e instanceof PlanError) && e.hint ? e.hint : undefined;
  const error = e instanceof LvsctlError || e instanceof PlanError ? e.message : errorText(e);
  return { type: "host.unreachable", host, error, ...(hint ? { hint } : {}) };
}

export class HostSession {
  private conn: HostConnection | undefined;
  private closed = false;
  /** Set when the connection was lost mid-run: nothing more is tried on this host. */
  private lost = false;
  /** Failed on the user's input before connecting (a secret it needs): the run exits 1. */
  invalid = false;
  /** Why the host could not be connected, as thrown (probes rethrow it). */
  connectError: unknown;
  readonly host: ResolvedHost;
  readonly become: boolean;

  constructor(
    private readonly ctx: RunContext,
    readonly name: string,
  ) {
    this.host = ctx.cluster.hosts[name]!;
    this.become = needsBecome(this.host);
  }

  private get r(): HostRecap {
    return this.ctx.recap[this.name]!;
  }

  /** Connects once per run. `play` names the play for the failure event of an unresolvable secret. */
  async connect(play: string): Promise<"ok" | "failed" | "unreachable"> {
    if (this.conn) return "ok";
    if (this.lost) return "unreachable";
    const { ctx } = this;
    const start = ctx.now();
    let target: ConnectTarget;
    try {
      target = ctx.target(this.host, ctx.resolveSecret);
    } catch (e) {
      // Not the network: the inventory names a secret that cannot be had (LVS212 environment
      // variable unset, LVS213 file unreadable). That host fails on its input; the others go on.
      this.r.failed++;
      this.invalid = true;
      const reason = e instanceof LvsctlError ? `${e.code}: ${errorText(e)}` : errorText(e);
      ctx.emit({ type: "task.result", host: this.name, play, task: "connect", index: -1, handler: false, status: "failed", reason, steps: [], check: ctx.check, ms: Math.round(ctx.now() - start) });
      return "failed";
    }
    try {
      this.conn = await ctx.connector.connect(target, ctx.policy);
    } catch (e) {
      this.markUnreachable(e);
      return "unreachable";
    }
    ctx.emit({ type: "host.connected", host: this.name, ms: Math.round(ctx.now() - start) });
    return "ok";
  }

  private markUnreachable(e: unknown): void {
    this.lost = true;
    this.connectError = e;
    this.r.unreachable = 1;
    this.ctx.emit(unreachableEvent(this.name, e));
  }

  /** A command on the host outside a play (probes, gates): as the host's become user. Throws when not connected. */
  async exec(cmd: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    if (!this.conn) throw new Error(`${this.name}: not connected`);
    return this.conn.exec(cmd, { become: this.become, timeoutMs: this.ctx.options.factsTimeoutMs ?? 60_000, ...opts });
  }

  /** GET http://127.0.0.1:PORT/PATH as the host sees it, through its connection (probes). Throws when not connected. */
  async httpGet(port: number, path: string, timeoutMs: number): Promise<HttpResponse> {
    if (!this.conn) throw new Error(`${this.name}: not connected`);
    return httpGetLoopback(this.conn, port, path, timeoutMs);
  }

  async close(): Promise<void> {
    if (!this.conn || this.closed) return;
    this.closed = true;
    await Promise.race([this.conn.close().catch(() => {}), new Promise<void>((r) => setTimeout(r, 2000).unref())]);
  }

  /** The play's tasks (already filtered by tags) and then its notified handlers, on this host. */
  async runPlay(play: Play, tasks: Task[], stopped: () => boolean): Promise<HostOutcome> {
    const { ctx } = this;
    const connected = await this.connect(play.name);
    if (connected !== "ok") return connected;
    const c = this.conn!;
    const { become, name: hostName, r } = this;
    const opts = ctx.options;
    const check = ctx.check;
    const hostVars: Vars = { ...clusterVars(ctx.cluster, hostName), ...this.host.vars, ...play.vars, ...(opts.vars ?? {}) };
    const env = (vars: Vars): ResolveEnv => ({
      cluster: ctx.cluster,
      host: hostName,
      vars,
      baseDir: ctx.baseDir,
      readFile: ctx.readFile,
      readDir: ctx.readDir,
      renderers: ctx.renderers,
      ...(ctx.renderTemplate ? { renderTemplate: ctx.renderTemplate } : {}),
    });

    // 1. Which facts: every task's and handler's needs, facts-derived values as wildcards.
    const wild = { ...hostVars, ...wildcardFactVars() };
    const reqs: Partial<FactRequest>[] = [{ routeTo: routeProbes(hostVars) }];
    for (const t of [...tasks, ...play.handlers]) {
      try {
        const res = toDesired(t.op, interpolateArgs(t.op, t.args, wild), env(wild));
        reqs.push(res.op.needs(res.desired as never, ctx.plan));
      } catch {
        // Reported when the task itself is planned.
      }
    }
    // Costly base facts only when a task refers to them.
    if ([...tasks, ...play.handlers].some((t) => JSON.stringify([t.when, t.args]).includes("nodeVersion"))) reqs.push({ optional: ["node"] });
    const req = mergeRequests(...reqs);

    // 2. Facts, one round trip.
    let facts: HostFacts;
    const factStart = ctx.now();
    const factFail = (reason: string): HostOutcome => {
      r.failed++;
      ctx.emit({ type: "task.result", host: hostName, play: play.name, task: "gather facts", index: -1, handler: false, status: "failed", reason, steps: [], check, ms: Math.round(ctx.now() - factStart) });
      return "failed";
    };
    try {
      const res = await c.exec(factCommand(req), { become, timeoutMs: opts.factsTimeoutMs ?? 60_000 });
      if (res.code !== 0) return factFail(`fact gathering exited ${res.code}: ${tail(res.stderr.toString() || res.stdout.toString())}`);
      facts = parseFacts(res.stdout.toString("utf8"), req);
    } catch (e) {
      if (isUnreachable(e)) {
        this.lost = true;
        r.unreachable = 1;
        ctx.emit(unreachableEvent(hostName, e));
        return "unreachable";
      }
      return factFail(`fact gathering failed: ${errorText(e)}`);
    }
    ctx.emit({ type: "host.facts", host: hostName, ms: Math.round(ctx.now() - factStart) });
    const vars: Vars = { ...hostVars, ...factVars(facts, hostVars) };

    const runStep = async (s: Step) => {
      if (s.kind === "put") {
        await c.putFile(s.path, s.content, {
          mode: s.mode,
          become,
          ...(s.owner ? { owner: s.owner } : {}),
          ...(s.group ? { group: s.group } : {}),
          ...(s.validate ? { validate: s.validate } : {}),
        });
        return;
      }
      const res = await c.exec(s.cmd, { become, timeoutMs: s.timeoutMs ?? opts.stepTimeoutMs ?? 300_000, ...(s.stdin !== undefined ? { stdin: s.stdin } : {}) });
      if (!(s.okCodes ?? [0]).includes(res.code ?? -1)) {
        const out = tail(res.stderr.toString("utf8") || res.stdout.toString("utf8"));
        throw new StepFailed(`\`${s.describe}\` ${res.code === null ? `was killed (${res.signal ?? "signal"})` : `exited ${res.code}`}${out ? `: ${out}` : ""}${s.failHint ? ` (hint: ${s.failHint})` : ""}`);
      }
    };

    const notified = new Set<string>();
    /** Plan and (unless --check) apply one task; returns its status. */
    const runTask = async (t: Task, index: number, handler: boolean): Promise<TaskStatus> => {
      const start = ctx.now();
      ctx.emit({ type: "task.started", host: hostName, play: play.name, task: t.name, index, handler });
      const result = (status: TaskStatus, reason: string, extra: { steps?: string[]; plan?: OpPlan; notified?: string[] } = {}) => {
        r[status]++;
        const plan = extra.plan;
        if (plan?.warnings?.length) r.warnings++;
        ctx.emit({
          type: "task.result",
          host: hostName,
          play: play.name,
          task: t.name,
          index,
          handler,
          status,
          reason,
          steps: extra.steps ?? [],
          ...(opts.diff && plan?.diff ? { diff: plan.diff } : {}),
          ...(plan?.warnings?.length ? { warnings: plan.warnings } : {}),
          ...(extra.notified?.length ? { notified: extra.notified } : {}),
          check,
          ms: Math.round(ctx.now() - start),
        });
        return status;
      };
      let plan: OpPlan;
      try {
        if (t.when !== undefined && !evalCondition(t.when, vars)) return result("skipped", `when: ${String(t.when)} is false`);
        const res = toDesired(t.op, interpolateArgs(t.op, t.args, vars), env(vars));
        plan = res.op.plan(facts, res.desired as never, ctx.plan);
      } catch (e) {
        return result("failed", `${t.location ? `${t.location.file}:${t.location.line}:${t.location.col}: ` : ""}${errorText(e)}`);
      }
      const steps = plan.steps.map((s) => s.describe);
      if (plan.status === "ok") return result("ok", plan.reason, { plan });
      const notify = () => {
        t.notify.forEach((n) => notified.add(n));
        return t.notify;
      };
      if (check) return result("changed", plan.reason, { plan, steps, notified: notify() });
      let done = 0;
      try {
        for (const s of plan.steps) {
          if (ctx.aborted()) throw new StepFailed(`interrupted after ${done} of ${plan.steps.length} step(s); re-run to converge`);
          await runStep(s);
          done++;
        }
      } catch (e) {
        if (isUnreachable(e)) {
          this.lost = true;
          r.unreachable = 1;
        }
        // Steps that ran did change the host: notify anyway so handlers still see the change.
        const n = done > 0 ? notify() : [];
        return result("failed", `${plan.reason}: ${errorText(e)}`, { plan, steps: steps.slice(0, done + 1), notified: n });
      }
      return result("changed", plan.reason, { plan, steps, notified: notify() });
    };

    let outcome: HostOutcome = "ok";
    for (let i = 0; i < tasks.length; i++) {
      if (ctx.aborted()) {
        outcome = "interrupted";
        break;
      }
      if (stopped()) break;
      if ((await runTask(tasks[i]!, i, false)) === "failed") {
        outcome = this.lost ? "unreachable" : "failed";
        break;
      }
    }
    // Handlers: in the order they are defined, each at most once, also after a failure (force_handlers).
    for (const [hi, h] of play.handlers.entries()) {
      if (this.lost || ctx.aborted()) break;
      if (notified.has(h.name) && (await runTask(h, hi, true)) === "failed" && outcome === "ok") outcome = "failed";
    }
    if (ctx.aborted() && outcome === "ok") outcome = "interrupted";
    return outcome;
  }
}

/** The run's sessions, one per host, made on first use; every connection closed at the end. */
export class SessionPool {
  private readonly sessions = new Map<string, HostSession>();
  constructor(private readonly ctx: RunContext) {}

  get(host: string): HostSession {
    let s = this.sessions.get(host);
    if (!s) this.sessions.set(host, (s = new HostSession(this.ctx, host)));
    return s;
  }

  /** Hosts that failed on their input before connecting. */
  invalid(): string[] {
    return [...this.sessions.values()].filter((s) => s.invalid).map((s) => s.name);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
  }
}

export { connectTarget };
