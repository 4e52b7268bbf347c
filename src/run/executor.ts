// The executor: plan first, then apply (pyinfra), and never print (Ansible): everything it has to
// say goes out as RunEvents.
//
// Per play, per batch (`serial`), per host (up to `forks` at once, one SSH connection per host
// for the whole run): connect, gather facts in one round trip, plan every task against them,
// then run the planned steps in order (not under --check). A failed task stops that host; the
// handlers it had notified still run at the end of the play (Ansible's force_handlers), so a
// config that changed still gets its restart. Other hosts carry on; an unreachable host never
// stops the others unless the play says `any_errors_fatal` (then no host starts another task,
// batch or play once one has failed). A secret the host's connection needs that cannot be
// resolved (LVS212/LVS213) fails that host before dialling, as invalid input (exit 1), not as
// unreachable. A batch where MORE than max_fail_percentage of the hosts failed (or were
// unreachable) stops the play's remaining batches. Hosts that failed or were unreachable are left
// out of later plays.
//
// Interrupt (the caller's AbortSignal, e.g. on SIGINT): no new host, task or step starts; a step
// in flight finishes (every file write is atomic: putFile renames a complete temp file), and after
// `graceMs` the connections are closed anyway. A re-run converges, because every planner compares
// facts with the desired state.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { ExitCode, LvsctlError } from "../errors/index.js";
import type { Cluster, ResolvedHost } from "../inventory/model.js";
import { evalCondition, interpolate, type Vars } from "../plan/expr.js";
import { factCommand, mergeRequests, parseFacts, type FactRequest, type HostFacts } from "../plan/facts.js";
import { PlanError } from "../plan/ops/errors.js";
import type { OpPlan, PlanContext, Step } from "../plan/ops/types.js";
import { SecretResolver } from "../secrets/index.js";
import { isUnreachable } from "../ssh/errors.js";
import type { Connector, HostConnection, HostKeyPolicy, ConnectTarget } from "../ssh/types.js";
import { emptyRecap, maskDeep, type HostRecap, type RunEvent, type RunEventInput, type TaskStatus } from "./events.js";
import { loadPlaybook, type Play, type Playbook, type Task } from "./playbook.js";
import { batches, selectHosts, taskSelected } from "./select.js";
import { connectTarget, needsBecome, type ResolveSecret } from "./target.js";
import { toDesired, type Renderer, type ResolveEnv } from "./task-args.js";
import { defaultRenderers } from "./renderers.js";
import { clusterVars, factVars, routeProbes, wildcardFactVars } from "./vars.js";
import type { DirFile } from "../plan/ops/upload-dir.js";

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
}

/** What the run needs of secrets; src/secrets' SecretResolver is the one implementation (the default). */
export interface SecretsPort {
  resolve: ResolveSecret;
  /** Replace every secret value handed out so far with ***. */
  mask(text: string): string;
}

export interface RunPlaybookParams {
  cluster: Cluster;
  /** A loaded playbook, or the path of one. */
  playbook: Playbook | string;
  connector: Connector;
  policy: HostKeyPolicy;
  options?: RunOptions;
  onEvent?: (e: RunEvent) => void;
  /** Abort = Ctrl-C: see the header comment. */
  signal?: AbortSignal;
  /** For `render: NAME` (and `render:` of sysctl/address): NAME -> the files a host gets. Default: src/render's (defaultRenderers). */
  renderers?: Record<string, Renderer>;
  /** For `template:` tasks. */
  renderTemplate?: (name: string, vars: Record<string, unknown>) => string;
  secrets?: SecretsPort;
  /** Override how an inventory host becomes an SSH target. */
  target?: (host: ResolvedHost, resolve: ResolveSecret) => ConnectTarget;
  /** Local reads (playbook `src:` files, tarballs, directories); injectable for tests. */
  readFile?: (path: string) => Buffer;
  readDir?: (path: string) => DirFile[];
  now?: () => number;
}

export interface RunResult {
  exitCode: ExitCode;
  interrupted: boolean;
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

type HostOutcome = "ok" | "failed" | "unreachable" | "interrupted";

class StepFailed extends Error {}

function tail(text: string, lines = 12): string {
  const ls = text.trimEnd().split("\n");
  return (ls.length > lines ? ["...", ...ls.slice(-lines)] : ls).join("\n");
}

function errorText(e: unknown): string {
  if (e instanceof z.ZodError) return z.prettifyError(e).replace(/\n/g, "; ");
  if (e instanceof LvsctlError || e instanceof PlanError) return e.hint ? `${e.message} (hint: ${e.hint})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

async function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export async function runPlaybook(p: RunPlaybookParams): Promise<RunResult> {
  const opts = p.options ?? {};
  const now = p.now ?? (() => performance.now());
  const t0 = now();
  // Relative `{file: ...}` secrets are read from the inventory's folder, as `lvsctl render` does.
  const secrets: SecretsPort = p.secrets ?? new SecretResolver({ env: process.env, baseDir: dirname(p.cluster.source) });
  const renderers = p.renderers ?? defaultRenderers(secrets.resolve);
  const playbook = typeof p.playbook === "string" ? loadPlaybook(p.playbook) : p.playbook;
  const ctx: PlanContext = { diff: opts.diff === true };
  const check = opts.check === true;
  const emit = (e: RunEventInput) => p.onEvent?.(maskDeep({ ...e, t: Math.round(now() - t0) } as RunEvent, secrets.mask));
  const aborted = () => p.signal?.aborted === true;
  const recap: Record<string, HostRecap> = {};
  const conns = new Map<string, HostConnection>();
  const dropped = new Set<string>(); // failed or unreachable: left out of later plays
  const invalid = new Set<string>(); // failed on the user's input before connecting (a secret): exit 1
  const fileCache = new Map<string, Buffer>();
  const dirCache = new Map<string, DirFile[]>();
  const readFile = (path: string) => {
    let b = fileCache.get(path);
    if (!b) fileCache.set(path, (b = (p.readFile ?? readFileSync)(path)));
    return b;
  };
  const readDir = (path: string) => {
    let d = dirCache.get(path);
    if (!d) dirCache.set(path, (d = (p.readDir ?? readDirFiles)(path)));
    return d;
  };
  const closed = new Set<HostConnection>();
  const closeAll = async () => {
    const open = [...conns.values()].filter((c) => !closed.has(c));
    open.forEach((c) => closed.add(c));
    await Promise.all(open.map((c) => Promise.race([c.close().catch(() => {}), new Promise<void>((r) => setTimeout(r, 2000).unref())])));
  };
  // Resolve every play's hosts up front: a bad --limit or hosts: fails before anything connects.
  const playHosts = playbook.plays.map((play) => selectHosts(p.cluster, play.hosts, opts.limit));
  const onAbort = () => setTimeout(() => void closeAll(), opts.graceMs ?? 5000).unref();
  p.signal?.addEventListener("abort", onAbort, { once: true });
  const allHosts = [...new Set(playHosts.flat())];
  emit({ type: "run.started", playbook: playbook.file, check, hosts: allHosts });
  for (const h of allHosts) recap[h] = emptyRecap();

  /** Plays stopped by any_errors_fatal. */
  const fatal = new Set<Play>();
  const runHost = async (play: Play, tasks: Task[], hostName: string): Promise<HostOutcome> => {
    const outcome = await runHostInner(play, tasks, hostName);
    if (play.anyErrorsFatal && (outcome === "failed" || outcome === "unreachable") && !fatal.has(play)) {
      fatal.add(play);
      emit({ type: "play.aborted", play: play.name, reason: `${hostName} ${outcome === "failed" ? "failed" : "was unreachable"} and the play says any_errors_fatal: no host starts another task` });
    }
    return outcome;
  };
  const runHostInner = async (play: Play, tasks: Task[], hostName: string): Promise<HostOutcome> => {
    const host = p.cluster.hosts[hostName]!;
    const r = recap[hostName]!;
    let conn = conns.get(hostName);
    if (!conn) {
      const start = now();
      let target: ConnectTarget;
      try {
        target = (p.target ?? connectTarget)(host, secrets.resolve);
      } catch (e) {
        // Not the network: the inventory names a secret that cannot be had (LVS212 environment
        // variable unset, LVS213 file unreadable). That host fails on its input; the others go on.
        r.failed++;
        invalid.add(hostName);
        const reason = e instanceof LvsctlError ? `${e.code}: ${errorText(e)}` : errorText(e);
        emit({ type: "task.result", host: hostName, play: play.name, task: "connect", index: -1, handler: false, status: "failed", reason, steps: [], check, ms: Math.round(now() - start) });
        return "failed";
      }
      try {
        conn = await p.connector.connect(target, p.policy);
      } catch (e) {
        r.unreachable = 1;
        emit({ type: "host.unreachable", host: hostName, error: errorText(e), ...(e instanceof LvsctlError && e.hint ? { hint: e.hint } : {}) });
        return "unreachable";
      }
      conns.set(hostName, conn);
      emit({ type: "host.connected", host: hostName, ms: Math.round(now() - start) });
    }
    const c = conn;
    const become = needsBecome(host);
    const hostVars: Vars = { ...clusterVars(p.cluster, hostName), ...host.vars, ...play.vars, ...(opts.vars ?? {}) };
    const env = (vars: Vars): ResolveEnv => ({
      cluster: p.cluster,
      host: hostName,
      vars,
      baseDir: playbook.baseDir,
      readFile,
      readDir,
      renderers,
      ...(p.renderTemplate ? { renderTemplate: p.renderTemplate } : {}),
    });

    // 1. Which facts: every task's and handler's needs, facts-derived values as wildcards.
    const wild = { ...hostVars, ...wildcardFactVars() };
    const reqs: Partial<FactRequest>[] = [{ routeTo: routeProbes(hostVars) }];
    for (const t of [...tasks, ...play.handlers]) {
      try {
        const res = toDesired(t.op, interpolate(t.args, wild), env(wild));
        reqs.push(res.op.needs(res.desired as never, ctx));
      } catch {
        // Reported when the task itself is planned.
      }
    }
    // Costly base facts only when a task refers to them.
    if ([...tasks, ...play.handlers].some((t) => JSON.stringify([t.when, t.args]).includes("nodeVersion"))) reqs.push({ optional: ["node"] });
    const req = mergeRequests(...reqs);

    // 2. Facts, one round trip.
    let facts: HostFacts;
    const factStart = now();
    const factFail = (reason: string): HostOutcome => {
      r.failed++;
      emit({ type: "task.result", host: hostName, play: play.name, task: "gather facts", index: -1, handler: false, status: "failed", reason, steps: [], check, ms: Math.round(now() - factStart) });
      return "failed";
    };
    try {
      const res = await c.exec(factCommand(req), { become, timeoutMs: opts.factsTimeoutMs ?? 60_000 });
      if (res.code !== 0) return factFail(`fact gathering exited ${res.code}: ${tail(res.stderr.toString() || res.stdout.toString())}`);
      facts = parseFacts(res.stdout.toString("utf8"), req);
    } catch (e) {
      if (isUnreachable(e)) {
        r.unreachable = 1;
        emit({ type: "host.unreachable", host: hostName, error: errorText(e) });
        return "unreachable";
      }
      return factFail(`fact gathering failed: ${errorText(e)}`);
    }
    emit({ type: "host.facts", host: hostName, ms: Math.round(now() - factStart) });
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
        throw new StepFailed(`\`${s.describe}\` ${res.code === null ? `was killed (${res.signal ?? "signal"})` : `exited ${res.code}`}${out ? `: ${out}` : ""}`);
      }
    };

    const notified = new Set<string>();
    let lost = false;
    /** Plan and (unless --check) apply one task; returns its status. */
    const runTask = async (t: Task, index: number, handler: boolean): Promise<TaskStatus> => {
      const start = now();
      emit({ type: "task.started", host: hostName, play: play.name, task: t.name, index, handler });
      const result = (status: TaskStatus, reason: string, extra: { steps?: string[]; plan?: OpPlan; notified?: string[] } = {}) => {
        r[status]++;
        const plan = extra.plan;
        if (plan?.warnings?.length) r.warnings++;
        emit({
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
          ms: Math.round(now() - start),
        });
        return status;
      };
      let plan: OpPlan;
      try {
        if (t.when !== undefined && !evalCondition(t.when, vars)) return result("skipped", `when: ${String(t.when)} is false`);
        const res = toDesired(t.op, interpolate(t.args, vars), env(vars));
        plan = res.op.plan(facts, res.desired as never, ctx);
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
          if (aborted()) throw new StepFailed(`interrupted after ${done} of ${plan.steps.length} step(s); re-run to converge`);
          await runStep(s);
          done++;
        }
      } catch (e) {
        if (isUnreachable(e)) {
          lost = true;
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
      if (aborted()) {
        outcome = "interrupted";
        break;
      }
      if (fatal.has(play)) break;
      if ((await runTask(tasks[i]!, i, false)) === "failed") {
        outcome = lost ? "unreachable" : "failed";
        break;
      }
    }
    // Handlers: in the order they are defined, each at most once, also after a failure (force_handlers).
    for (const [hi, h] of play.handlers.entries()) {
      if (lost || aborted()) break;
      if (notified.has(h.name) && (await runTask(h, hi, true)) === "failed" && outcome === "ok") outcome = "failed";
    }
    if (aborted() && outcome === "ok") outcome = "interrupted";
    return outcome;
  };

  try {
    for (const [pi, play] of playbook.plays.entries()) {
      if (aborted()) break;
      const hosts = playHosts[pi]!.filter((h) => !dropped.has(h));
      const tasks = play.tasks.filter((t) => taskSelected(t, opts.tags, opts.skipTags));
      const bs = batches(hosts, play.serial);
      emit({ type: "play.started", play: play.name, hosts, tasks: tasks.map((t) => t.name), handlers: play.handlers.map((h) => h.name), batches: bs });
      for (const [bi, batch] of bs.entries()) {
        if (aborted()) break;
        emit({ type: "batch.started", play: play.name, index: bi, hosts: batch });
        const forks = Math.max(1, opts.forks ?? Math.min(50, batch.length));
        if (fatal.has(play)) break;
        const outcomes = await pool(batch, forks, (h) => (aborted() ? Promise.resolve<HostOutcome>("interrupted") : fatal.has(play) ? Promise.resolve<HostOutcome>("ok") : runHost(play, tasks, h)));
        batch.forEach((h, i) => {
          if (outcomes[i] === "failed" || outcomes[i] === "unreachable") dropped.add(h);
        });
        const bad = outcomes.filter((o) => o === "failed" || o === "unreachable").length;
        if (play.maxFailPercentage !== undefined && (bad * 100) / batch.length > play.maxFailPercentage && bi < bs.length - 1) {
          emit({ type: "play.aborted", play: play.name, reason: `${bad} of ${batch.length} host(s) in batch ${bi + 1} failed, more than max_fail_percentage ${play.maxFailPercentage}%; ${bs.length - bi - 1} batch(es) not run` });
          break;
        }
      }
      // Ansible's any_errors_fatal ends the whole playbook, not only this play.
      if (fatal.has(play)) break;
    }
  } finally {
    p.signal?.removeEventListener("abort", onAbort);
    await closeAll();
  }
  const interrupted = aborted();
  const values = Object.values(recap);
  const exitCode: ExitCode = interrupted
    ? ExitCode.Interrupted
    : invalid.size > 0
      ? ExitCode.Invalid
      : values.some((r) => r.failed > 0)
        ? ExitCode.TaskFailed
        : values.some((r) => r.unreachable > 0)
          ? ExitCode.Unreachable
          : ExitCode.Ok;
  for (const h of allHosts) emit({ type: "host.recap", host: h, recap: recap[h]! });
  emit({ type: "run.finished", exitCode, interrupted, ms: Math.round(now() - t0), recap });
  return { exitCode, interrupted, recap };
}
