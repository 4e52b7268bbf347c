// The play scheduler: which hosts run a play when. Plays in order; per play, batches (`serial`),
// per batch up to `forks` host sessions at once (session.ts does the work on each host). The
// scheduler never prints (Ansible): everything goes out as RunEvents.
//
// Failure policy: a failed host stops only its own play; other hosts carry on, unless the play
// says `any_errors_fatal` (then no host starts another task, batch or play once one has failed or
// was unreachable). A batch where MORE than max_fail_percentage of the hosts failed (or were
// unreachable) stops the play's remaining batches. Hosts that failed or were unreachable are left
// out of later plays.
//
// Rolling plays (`roll: NAME`, src/roll): before batching, the strategy orders the play's hosts by
// asking them (the keepalived roll puts the director that is master now last); after each batch,
// outside --check, its gate must pass for every host of the batch before the next batch starts.
// A failed gate counts as a failure of that host and stops the run there, so a roll never goes on
// past a director that did not come back right, while the rest of the cluster still serves.
//
// Interrupt (the caller's AbortSignal, e.g. on SIGINT): no new host, task or step starts; a step
// in flight finishes (every file write is atomic: putFile renames a complete temp file), and after
// `graceMs` the connections are closed anyway. A re-run converges, because every planner compares
// facts with the desired state.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { ExitCode, LvsctlError } from "../errors/index.js";
import { defaultRolls, type Roll, type RollProbe } from "../roll/index.js";
import type { Cluster, ResolvedHost } from "../inventory/model.js";
import { SecretResolver } from "../secrets/index.js";
import type { ConnectTarget, Connector, HostKeyPolicy } from "../ssh/types.js";
import { emptyRecap, maskDeep, type HostRecap, type RunEvent, type RunEventInput } from "./events.js";
import { loadPlaybook, type Play, type Playbook } from "./playbook.js";
import { defaultRenderers } from "./renderers.js";
import { batches, selectHosts, taskSelected } from "./select.js";
import { cachedReads, readDirFiles, SessionPool, type HostOutcome, type RunContext, type RunOptions } from "./session.js";
import { connectTarget, type ResolveSecret } from "./target.js";
import type { Renderer } from "./task-args.js";
import type { DirFile } from "../plan/ops/upload-dir.js";

export { readDirFiles, type RunOptions };

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
  /** `roll: NAME` -> the strategy. Default: src/roll's (keepalived). */
  rolls?: Record<string, (cluster: Cluster) => Roll>;
  /** The gates' pause between polls; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunResult {
  exitCode: ExitCode;
  interrupted: boolean;
  recap: Record<string, HostRecap>;
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

/** A rolling gate's GET of a daemon's status on the host's loopback: it answers at once or is not up yet (the gate polls again). */
const ROLL_HTTP_TIMEOUT_MS = 10_000;
const bad = (o: HostOutcome | undefined) => o === "failed" || o === "unreachable";

export async function runPlaybook(p: RunPlaybookParams): Promise<RunResult> {
  const opts = p.options ?? {};
  const now = p.now ?? (() => performance.now());
  const t0 = now();
  // Relative `{file: ...}` secrets are read from the inventory's folder, as `lvsctl render` does.
  const secrets: SecretsPort = p.secrets ?? new SecretResolver({ env: process.env, baseDir: dirname(p.cluster.source) });
  const playbook = typeof p.playbook === "string" ? loadPlaybook(p.playbook) : p.playbook;
  const check = opts.check === true;
  const aborted = () => p.signal?.aborted === true;
  const recap: Record<string, HostRecap> = {};
  const reads = cachedReads(p.readFile ?? readFileSync, p.readDir ?? readDirFiles);
  const ctx: RunContext = {
    cluster: p.cluster,
    options: opts,
    check,
    plan: { diff: opts.diff === true, check: opts.check === true },
    baseDir: playbook.baseDir,
    connector: p.connector,
    policy: p.policy,
    resolveSecret: secrets.resolve,
    target: p.target ?? connectTarget,
    renderers: p.renderers ?? defaultRenderers(secrets.resolve),
    ...(p.renderTemplate ? { renderTemplate: p.renderTemplate } : {}),
    readFile: reads.readFile,
    readDir: reads.readDir,
    emit: (e: RunEventInput) => p.onEvent?.(maskDeep({ ...e, t: Math.round(now() - t0) } as RunEvent, secrets.mask)),
    aborted,
    now,
    recap,
  };
  const emit = ctx.emit;
  const sessions = new SessionPool(ctx);
  const dropped = new Set<string>(); // failed or unreachable: left out of later plays
  // Resolve every play's hosts up front: a bad --limit or hosts: fails before anything connects.
  const playHosts = playbook.plays.map((play) => selectHosts(p.cluster, play.hosts, opts.limit));
  const onAbort = () => setTimeout(() => void sessions.closeAll(), opts.graceMs ?? 5000).unref();
  p.signal?.addEventListener("abort", onAbort, { once: true });
  const rollsByName = p.rolls ?? defaultRolls;
  const rolls = playbook.plays.map((play) => {
    if (play.roll === undefined) return undefined;
    const make = rollsByName[play.roll];
    if (!make) throw new LvsctlError("LVS757", `play "${play.name}" names roll ${JSON.stringify(play.roll)}, which lvsctl does not have`, { hint: `rolls: ${Object.keys(rollsByName).join(", ")}`, ...(play.location ? { location: play.location } : {}) });
    return make(p.cluster);
  });
  /** Read-only commands for the rolls, over the run's sessions (a director outside the play is connected on first use). */
  const connected = async (host: string) => {
    const s = sessions.get(host);
    const c = await s.connect("roll");
    if (c !== "ok") throw new Error(c === "unreachable" ? "unreachable" : "its connection settings cannot be resolved");
    return s;
  };
  const probe: RollProbe = {
    async exec(host, cmd) {
      return (await connected(host)).exec(cmd);
    },
    async httpGet(host, port, path) {
      return (await connected(host)).httpGet(port, path, ROLL_HTTP_TIMEOUT_MS);
    },
  };
  const sleep = p.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const allHosts = [...new Set(playHosts.flat())];
  emit({ type: "run.started", playbook: playbook.file, check, hosts: allHosts });
  // Once per run, not per host: the files are read once and shared by every connection.
  if (allHosts.length > 0) for (const w of p.connector.knownHostsWarnings?.(p.policy) ?? []) emit({ type: "run.warning", source: "known_hosts", ...w });
  for (const h of allHosts) recap[h] = emptyRecap();

  /** Plays stopped by any_errors_fatal. */
  const fatal = new Set<Play>();
  const runHost = async (play: Play, tasks: Play["tasks"], host: string): Promise<HostOutcome> => {
    const outcome = await sessions.get(host).runPlay(play, tasks, () => fatal.has(play));
    if (play.anyErrorsFatal && bad(outcome) && !fatal.has(play)) {
      fatal.add(play);
      emit({ type: "play.aborted", play: play.name, reason: `${host} ${outcome === "failed" ? "failed" : "was unreachable"} and the play says any_errors_fatal: no host starts another task` });
    }
    return outcome;
  };

  let stopRun = false;
  try {
    for (const [pi, play] of playbook.plays.entries()) {
      if (aborted() || stopRun) break;
      let hosts = playHosts[pi]!.filter((h) => !dropped.has(h));
      const tasks = play.tasks.filter((t) => taskSelected(t, opts.tags, opts.skipTags));
      const roll = rolls[pi];
      if (roll && hosts.length > 0) {
        const o = await roll.order(hosts, probe);
        hosts = o.hosts;
        emit({ type: "roll.order", play: play.name, hosts, reason: o.reason });
      }
      const bs = batches(hosts, play.serial);
      emit({ type: "play.started", play: play.name, hosts, tasks: tasks.map((t) => t.name), handlers: play.handlers.map((h) => h.name), batches: bs });
      for (const [bi, batch] of bs.entries()) {
        if (aborted()) break;
        emit({ type: "batch.started", play: play.name, index: bi, hosts: batch });
        const forks = Math.max(1, opts.forks ?? Math.min(50, batch.length));
        if (fatal.has(play)) break;
        const outcomes = await pool(batch, forks, (h) => (aborted() ? Promise.resolve<HostOutcome>("interrupted") : fatal.has(play) ? Promise.resolve<HostOutcome>("ok") : runHost(play, tasks, h)));
        batch.forEach((h, i) => {
          if (bad(outcomes[i])) dropped.add(h);
        });
        if (roll && outcomes.some(bad)) {
          // A roll never goes on past a host that did not finish its play.
          stopRun = true;
          emit({ type: "play.aborted", play: play.name, reason: `${batch.filter((_, i) => bad(outcomes[i])).join(", ")} did not finish; the roll stops: ${bs.length - bi - 1} batch(es) not run` });
          break;
        }
        if (roll && !check && !aborted() && outcomes.every((o) => o === "ok")) {
          for (const h of batch) {
            const start = now();
            const g = await roll.gate(h, probe, { timeoutMs: opts.gateTimeoutMs ?? 60_000, sleep, now, aborted });
            emit({ type: "gate.result", play: play.name, host: h, ok: g.ok, reason: g.reason, ms: Math.round(now() - start) });
            if (!g.ok) {
              recap[h]!.failed++;
              stopRun = true;
              emit({ type: "play.aborted", play: play.name, reason: `the gate after ${h} failed: ${g.reason}; ${bs.length - bi - 1} batch(es) not run, the hosts not yet deployed keep what they had` });
              break;
            }
          }
          if (stopRun) break;
        }
        const nBad = outcomes.filter(bad).length;
        if (play.maxFailPercentage !== undefined && (nBad * 100) / batch.length > play.maxFailPercentage && bi < bs.length - 1) {
          emit({ type: "play.aborted", play: play.name, reason: `${nBad} of ${batch.length} host(s) in batch ${bi + 1} failed, more than max_fail_percentage ${play.maxFailPercentage}%; ${bs.length - bi - 1} batch(es) not run` });
          break;
        }
      }
      // Ansible's any_errors_fatal ends the whole playbook, not only this play.
      if (fatal.has(play)) break;
    }
  } finally {
    p.signal?.removeEventListener("abort", onAbort);
    await sessions.closeAll();
  }
  const interrupted = aborted();
  const values = Object.values(recap);
  const exitCode: ExitCode = interrupted
    ? ExitCode.Interrupted
    : sessions.invalid().length > 0
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
