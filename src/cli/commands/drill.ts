// `lvsctl drill INVENTORY`: the rolling failover drill. Thin: load the inventory, pick the client
// and the limits, connect the directors through the run's HostSession, call src/drill's runner,
// print its events and report. Exit 0 every step passed; 1 invalid input; 2 the cluster was not
// healthy to start, a step failed or a director could not be put back; 130 interrupted.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { formatDiagnostic, loadInventory } from "../../inventory/index.js";
import type { Cluster } from "../../inventory/model.js";
import { DRILL_MODES, KILL_DROP_IN, killDropInDir, localClient, oneRequest, remoteClient, runDrill, type DrillClient, type DrillEvent, type DrillMode, type DrillReport, type DrillTarget, type LoadLimits, type ProbeKind, type StepReport } from "../../drill/index.js";
import { defaultRenderers, emptyRecap } from "../../run/index.js";
import { cachedReads, connectTarget, HostSession, type RunContext } from "../../run/session.js";
import { collectPrompts, SecretResolver } from "../../secrets/index.js";
import { defaultHostKeyPolicy, SshConnector } from "../../ssh/index.js";
import { bool, str, strs, type CommandSpec, type ParsedArgs } from "../command.js";
import type { CliIo } from "../io.js";
import { askPrompts } from "../prompt.js";
import { relocate } from "./validate.js";

function num(args: ParsedArgs, name: string, dflt: number | undefined, min: number): number | undefined {
  const t = str(args, name);
  if (t === undefined) return dflt;
  const n = Number(t);
  if (!(Number.isInteger(n) && n >= min)) throw new LvsctlError("LVS770", `--${name} must be a whole number of at least ${min}, not '${t}'`, { hint: `for example --${name} ${dflt ?? Math.max(min, 1)}` });
  return n;
}

/** The service the client asks: --service ADDR:PORT, else the inventory's first TCP service with a VIP and a port. */
function pickTarget(cluster: Cluster, service: string | undefined, probe: ProbeKind): DrillTarget {
  if (service !== undefined) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(service) ?? /^([^:]+):(\d+)$/.exec(service);
    if (!m) throw new LvsctlError("LVS771", `--service must be ADDR:PORT ([ADDR]:PORT for IPv6), not '${service}'`, { hint: "for example --service 10.0.0.100:80" });
    return { address: m[1]!, port: Number(m[2]), probe };
  }
  const s = cluster.services.find((x) => x.protocol === "TCP" && x.vip !== undefined && x.port !== undefined && x.port > 0);
  if (!s) throw new LvsctlError("LVS771", "the inventory has no TCP service with a VIP and a port for the drill's client to ask", { hint: "name one with --service ADDR:PORT" });
  return { address: s.vip!, port: s.port!, probe };
}

function holdersText(h: Record<string, string[]>): string {
  const e = Object.entries(h);
  return e.length ? e.map(([i, ds]) => `${i} on ${ds.join(" and ")}`).join(", ") : "no director holds a VIP";
}

function plainEvent(e: DrillEvent): string {
  switch (e.type) {
    case "drill.health":
      return e.ok ? `healthy: ${holdersText(e.holders)}\n` : `not healthy, the drill does not start:\n${e.problems.map((p) => `  - ${p}\n`).join("")}`;
    case "step.started":
      return `\n${e.director}: ${e.mode}${e.holds.length ? ` (it holds ${e.holds.join(", ")})` : " (a backup)"}\n`;
    case "step.down":
      return `  down: ${e.commands.join("; ")}${e.error ? `\n  FAILED: ${e.error}` : ""}\n`;
    case "step.moved":
      if (e.watched) return e.ms !== undefined ? `  a peer held the VIPs ${e.ms} ms after the kill; at the end of the watch: ${holdersText(e.holders)}\n` : `  no peer took the VIPs while the daemon restarted: ${holdersText(e.holders)}\n`;
      return e.ms !== undefined ? `  VIPs moved in ${e.ms} ms: ${holdersText(e.holders)}\n` : `  VIPs did not move as expected: ${holdersText(e.holders)}\n`;
    case "step.restoring":
      return `  restore: ${e.commands.join("; ")}\n`;
    case "step.back":
      return e.ms !== undefined ? `  back and healthy in ${e.ms} ms: ${holdersText(e.holders)}\n` : `  not back to health: ${e.problems.join("; ") || holdersText(e.holders)}\n`;
    case "step.result":
      return stepLine(e.report);
    case "restore":
      return e.ok ? `restored ${e.director}: ${e.what.join("; ")}\n` : `COULD NOT RESTORE ${e.director}: ${e.error ?? "unknown"} (do by hand: ${e.what.join("; ")})\n`;
  }
}

function stepLine(r: StepReport): string {
  const held = r.held ? `, ${r.held.survived}/${r.held.opened} long-lived connection(s) survived` : "";
  return `  ${r.pass ? "PASS" : "FAIL"}: gap ${r.gapMs} ms, ${r.failed}/${r.sent} request(s) failed${held}${r.failures.map((f) => `\n    - ${f}`).join("")}\n`;
}

function summary(rep: DrillReport): string {
  const lines = ["", `drill (${rep.mode}, client: ${rep.client}):`];
  for (const s of rep.steps) lines.push(`  ${s.director.padEnd(12)} ${s.pass ? "PASS" : "FAIL"}  gap ${String(s.gapMs).padStart(6)} ms  failed ${s.failed}/${s.sent}${s.held ? `  held ${s.held.survived}/${s.held.opened}` : ""}${s.movedMs !== undefined ? `  moved ${s.movedMs} ms` : ""}${s.backMs !== undefined ? `  back ${s.backMs} ms` : ""}`);
  if (rep.stoppedEarly) lines.push(`  stopped: ${rep.stoppedEarly}`);
  const bad = rep.restores.filter((r) => !r.ok);
  if (bad.length) lines.push(`  NOT RESTORED: ${bad.map((r) => `${r.director} (${r.error ?? "unknown"}; by hand: ${r.what.join("; ")})`).join(", ")}`);
  lines.push(rep.pass ? "PASS" : "FAIL");
  return lines.join("\n") + "\n";
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const file = resolvePath(io.cwd, args.positionals[0]!);
  const loaded = await loadInventory(file, { env: io.env });
  for (const d of loaded.diagnostics) io.err(formatDiagnostic(relocate(d, io.cwd)) + "\n");
  if (!loaded.ok) return ExitCode.Invalid;
  const cluster = loaded.cluster;

  const mode = (str(args, "mode") ?? "stop") as DrillMode;
  if (!DRILL_MODES.includes(mode)) throw new LvsctlError("LVS772", `--mode must be ${DRILL_MODES.join(", ")}, not '${mode}'`, { hint: "stop: a clean stop of the daemon; kill: SIGKILL, and systemd does not restart it until the drill does; crash: SIGKILL, and systemd restarts it if its unit says so; link: the VRRP interfaces cut for --link-down seconds" });
  const probe = (str(args, "probe") ?? "http") as ProbeKind;
  if (probe !== "http" && probe !== "tcp") throw new LvsctlError("LVS772", `--probe must be http or tcp, not '${probe}'`);
  const maxGap = num(args, "max-gap", undefined, 0);
  const maxFailed = num(args, "max-failed", undefined, 0);
  const intervalMs = num(args, "interval", 100, 10)!;
  const requestTimeoutMs = num(args, "timeout", 1000, 50)!;
  const linkDownSec = num(args, "link-down", 10, 1)!;
  const held = num(args, "held", 4, 0)!;
  const only = strs(args, "director").flatMap((t) => t.split(",")).map((t) => t.trim()).filter(Boolean);
  for (const d of only) if (!cluster.directors.some((x) => x.host.name === d)) throw new LvsctlError("LVS773", `--director ${d}: not a director of the inventory`, { hint: `directors: ${cluster.directors.map((x) => x.host.name).join(", ")}` });
  if (cluster.directors.length < 2) throw new LvsctlError("LVS773", `a drill needs at least two directors; the inventory has ${cluster.directors.length}`, { hint: "a failover needs a peer to fail over to" });
  const clientHost = str(args, "client");
  if (clientHost !== undefined && !cluster.hosts[clientHost]) throw new LvsctlError("LVS774", `--client ${clientHost}: not a host of the inventory`, { hint: "the client is reached over SSH like the directors: add it to the inventory's hosts" });
  const target = pickTarget(cluster, str(args, "service"), probe);
  // Bounds for every step, whatever happens: the longest a step can take (move, link cut, restore, back) and no more requests than that allows.
  const maxMs = 30_000 + 2_000 + (linkDownSec + 3) * 1000 + 60_000 + 90_000 + 10_000;
  const limits: LoadLimits = { intervalMs, requestTimeoutMs, maxMs, maxRequests: Math.ceil(maxMs / intervalMs) };

  const knownHosts = strs(args, "known-hosts").map((f) => resolvePath(io.cwd, f));
  const policy = knownHosts.length ? { knownHostsFiles: knownHosts, acceptNew: bool(args, "accept-new-host-keys") } : defaultHostKeyPolicy(bool(args, "accept-new-host-keys"));
  const hosts = [...cluster.directors.map((d) => d.host.name), ...(clientHost ? [clientHost] : [])];
  const answers = await askPrompts(collectPrompts(cluster, { hosts }), io, { file, text: readFileSync(file, "utf8") });
  const secrets = new SecretResolver({ env: io.env, baseDir: dirname(file), answers });
  const json = bool(args, "json");
  const t0 = performance.now();
  const ac = new AbortController();
  const reads = cachedReads();
  const recap = Object.fromEntries(hosts.map((h) => [h, emptyRecap()]));
  const ctx: RunContext = {
    cluster,
    options: {},
    check: false,
    plan: { diff: false, check: false },
    baseDir: dirname(file),
    connector: new SshConnector(),
    policy,
    resolveSecret: secrets.resolve,
    target: connectTarget,
    renderers: defaultRenderers(secrets.resolve),
    readFile: reads.readFile,
    readDir: reads.readDir,
    emit: (e) => {
      if (e.type === "host.unreachable" && !json) io.err(secrets.mask(`${e.host}: unreachable: ${e.error}${e.hint ? ` (hint: ${e.hint})` : ""}\n`));
    },
    aborted: () => ac.signal.aborted,
    now: () => performance.now() - t0,
    recap,
  };
  const sessions = new Map<string, HostSession>();
  const session = async (host: string): Promise<HostSession> => {
    let s = sessions.get(host);
    if (!s) sessions.set(host, (s = new HostSession(ctx, host)));
    const c = await s.connect("drill");
    if (c !== "ok") {
      // A new session next time: after a link cut the director comes back.
      sessions.delete(host);
      throw new Error(c === "unreachable" ? `${host} is unreachable` : `${host}: its connection settings cannot be resolved`);
    }
    return s;
  };
  const reset = async (host: string) => {
    const s = sessions.get(host);
    sessions.delete(host);
    await s?.close();
  };

  let client: DrillClient;
  if (clientHost) {
    const s = await session(clientHost);
    client = remoteClient(clientHost, { exec: (cmd, opts) => s.exec(cmd, opts) }, target, limits, runIdOf());
  } else {
    // This machine must reach the VIP; DR answers come straight from the real servers, so on
    // another subnet they need a route back. Three tries before giving up.
    let reached = false;
    const errors: string[] = [];
    for (let i = 0; i < 3 && !reached; i++) {
      const r = await oneRequest(target, requestTimeoutMs);
      reached = r.ok;
      if (!r.ok) errors.push(r.error ?? "failed");
    }
    if (!reached) {
      throw new LvsctlError("LVS775", `this machine cannot reach ${target.address}:${target.port} (${probe}): ${[...new Set(errors)].join("; ")}`, {
        hint: "run the client on a host that can: --client HOST (a host of the inventory, reached over SSH); or name another service with --service ADDR:PORT",
        exitCode: ExitCode.TaskFailed,
      });
    }
    client = localClient(target, limits);
  }

  // Ctrl-C: stop taking directors down and put back what is down; a second one says so again;
  // a third leaves at once (and says what may be left down).
  let sigints = 0;
  const onSignal = () => {
    sigints++;
    if (sigints === 1) {
      io.err("\ninterrupted: putting the cluster back (Ctrl-C twice more to leave without restoring)\n");
      ac.abort(new Error("interrupted"));
    } else if (sigints === 2) io.err("still restoring; Ctrl-C once more leaves a director down\n");
    else {
      io.err(`left without restoring: check the directors (systemctl start the daemon, ip link set dev IF up; after --mode kill also rm ${killDropInDir("UNIT")}/${KILL_DROP_IN} and systemctl daemon-reload)\n`);
      process.exit(ExitCode.Interrupted);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let report: DrillReport;
  try {
    report = await runDrill(
      cluster,
      {
        exec: async (host, cmd, timeoutMs) => (await session(host)).exec(cmd, { timeoutMs }),
        // lvsd's status endpoint listens on the director's loopback: read through its SSH connection.
        httpGet: async (host, port, path) => (await session(host)).httpGet(port, path, 10_000),
        reset,
        client,
        now: () => performance.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        aborted: () => ac.signal.aborted,
        emit: (e) => {
          if (!json) io.out(secrets.mask(plainEvent(e)));
        },
      },
      { mode, linkDownSec, runId: runIdOf(), held, ...(only.length ? { only } : {}), ...(maxGap !== undefined ? { maxGapMs: maxGap } : {}), ...(maxFailed !== undefined ? { maxFailed } : {}) },
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await Promise.all([...sessions.values()].map((s) => s.close()));
  }
  io.out(secrets.mask(json ? JSON.stringify({ target, ...report }, null, 2) + "\n" : summary(report)));
  if (report.interrupted) return ExitCode.Interrupted;
  return report.pass ? ExitCode.Ok : ExitCode.TaskFailed;
}

let runId: string | undefined;
/** One id per process: names the transient timers on the directors. */
function runIdOf(): string {
  return (runId ??= `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`);
}

export const drillCommand: CommandSpec = {
  name: "drill",
  summary: "take each director down in turn while a client asks the VIP; measure the failover",
  usage: "lvsctl drill INVENTORY [--mode stop|kill|crash|link] [--max-gap MS] [--max-failed N] [--json] [options]",
  options: {
    mode: { type: "string", short: "m", value: "MODE", help: "stop (clean stop of the daemon, default), kill (SIGKILL, no restart by systemd until the drill starts it), crash (SIGKILL, systemd restarts it as its unit says) or link (VRRP interfaces cut)" },
    "max-gap": { type: "string", value: "MS", help: "a step fails when the VIP did not answer for longer than this" },
    "max-failed": { type: "string", value: "N", help: "a step fails when more requests than this failed" },
    json: { type: "boolean", help: "the report as one JSON document on stdout" },
    client: { type: "string", value: "HOST", help: "send the requests from this host of the inventory (over SSH), not from this machine" },
    service: { type: "string", value: "ADDR:PORT", help: "the service to ask (default: the inventory's first TCP service)" },
    probe: { type: "string", value: "KIND", help: "http (a GET, any status answers; default) or tcp (a connect)" },
    interval: { type: "string", value: "MS", help: "between requests (default 100)" },
    timeout: { type: "string", value: "MS", help: "a request not answered in this long failed (default 1000)" },
    held: { type: "string", value: "N", help: "long-lived connections held open across each step (default 4; 0: none)" },
    "link-down": { type: "string", value: "SEC", help: "--mode link: how long the links stay down (default 10)" },
    director: { type: "string", multiple: true, value: "NAME", help: "only these directors, in this order (repeat or comma-separate)" },
    "accept-new-host-keys": { type: "boolean", help: "record the key of a host never seen before (OpenSSH accept-new)" },
    "known-hosts": { type: "string", multiple: true, value: "FILE", help: "known_hosts file(s) to verify against" },
  },
  details: [
    "The cluster must be healthy first (every director's daemon active, one master per VRRP",
    "instance, roles as the priorities say, the IPVS table as the inventory says); if not, nothing",
    "is touched. Then one director at a time: a client sends requests through the VIP (from this",
    "machine, or --client HOST over SSH) and holds a few connections open, the director goes down,",
    "the VIPs it held must move to the best peer, it comes back, and the VIPs must end where",
    "preemption says (the highest priority; with nopreempt, where they went). Each step reports the",
    "gap (longest time the VIP did not answer, to the client's interval), requests sent and failed,",
    "and how many held connections survived (without connection sync, expect none to survive a",
    "move).",
    "--mode kill sends SIGKILL to every process of the daemon's unit, and systemd does not restart",
    "it: the drill first writes Restart=no into a runtime drop-in",
    `(${killDropInDir("UNIT")}/${KILL_DROP_IN}) and removes it when it starts`,
    "the daemon again. A crash a peer must take over, the same for both backends; left to systemd,",
    "lvsd (Restart=on-failure) would be back and adopt its VIPs about when the backup's master down",
    "interval ends, and the step would time that race, not a failover. That race is --mode crash:",
    "SIGKILL with systemd left to restart the daemon (lvsd's unit does, keepalived's does not, so",
    "the drill starts it after the watch); the VIPs need not move, the step watches 10 s and reports",
    "whether and when a peer held them, the gap and the failed requests. With nopreempt the VIPs",
    "must end where the restart left them: on the director if no peer took them, else on the peer.",
    "--mode link arms a timer on the director that sets its links up again, so it comes back even",
    "though SSH to it goes with the link.",
    "The cluster is always put back: Ctrl-C, a failed step or a lost connection start the daemon",
    "again or set the links up, and the report says what was restored and what could not be.",
    "Exit 0 when every step passed; 1 invalid input; 2 not healthy to start, a step failed, or a",
    "director could not be put back; 130 interrupted.",
  ].join("\n"),
  positionals: [{ name: "inventory", required: true }],
  run,
};

