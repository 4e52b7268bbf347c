// lvsd: the director daemon. `lvsd --config FILE [--check] [--log-level LEVEL]`.
//
// Threads: this (main) thread reads the config, serves the status endpoint, writes the logs and
// handles signals; the VRRP engine runs in a worker (runtime/worker.ts) so nothing here can delay
// an advert. Signals:
//   SIGHUP   re-read the config and apply the difference (a bad file is logged and ignored);
//   SIGTERM  masters send priority 0 and remove their VIPs, then exit 0 (SIGINT too);
// Exit codes: 0 clean stop or a good --check, 1 bad usage or config, 70 internal error (the VRRP
// worker died): systemd's Restart=on-failure brings lvsd back, and the restart adopts the VIPs.
import { readFileSync, realpathSync } from "node:fs";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";
// config.js (and zod with it) is imported lazily: the VRRP worker boots while it loads.
import type { LvsdConfig } from "./config.js";
import { createLogger, stdoutSink, type Level, type Logger } from "./log.js";
import { unsupported } from "./runtime/config.js";
import { ADOPTION_ADVERTISED, announceAdoption as announce } from "./runtime/adopt.js";
import type { OutgoingAdvert } from "./runtime/ports.js";
import { EngineHost } from "./runtime/worker.js";
import { needsIpvs, startOrder } from "./core/startup.js";
// Also lazy (status/server.js with node:http, runtime/real.js with the addon): everything loaded
// before the worker is spawned delays a crash restart's first advert.

export const LVSD_VERSION = "0.1.0";

const USAGE = `usage: lvsd --config FILE [--check] [--log-level debug|info|warn|error]

  --config FILE   lvsd's JSON configuration (rendered by \`lvsctl render\`)
  --check         validate the file and exit: 0 when lvsd can run it, 1 otherwise
  --log-level L   default info; logs are JSON lines on stdout
  --version       print the version

Signals: SIGHUP reloads the file (only what changed is touched); SIGTERM resigns mastership
(priority 0), removes the VIPs and exits. Status: GET http://127.0.0.1:<statusPort>/status and
/metrics.`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

interface Args {
  config?: string;
  check: boolean;
  logLevel: Level;
  help: boolean;
  version: boolean;
}

export function parseArgs(argv: string[]): Args | string {
  const a: Args = { check: false, logLevel: "info", help: false, version: false };
  for (let k = 0; k < argv.length; k++) {
    const x = argv[k]!;
    if (x === "--config" || x === "-f") {
      const v = argv[++k];
      if (!v) return `${x} needs a file`;
      a.config = v;
    } else if (x.startsWith("--config=")) a.config = x.slice("--config=".length);
    else if (x === "--check" || x === "-t") a.check = true;
    else if (x === "--log-level") {
      const v = argv[++k];
      if (v !== "debug" && v !== "info" && v !== "warn" && v !== "error") return `--log-level must be debug, info, warn or error`;
      a.logLevel = v;
    } else if (x === "--help" || x === "-h") a.help = true;
    else if (x === "--version") a.version = true;
    else return `unknown argument ${JSON.stringify(x)}`;
  }
  if (!a.help && !a.version && !a.config) return "--config FILE is required";
  return a;
}

/** Reads and checks a config file: the config, or every problem found. */
export async function loadConfig(file: string): Promise<{ ok: true; config: LvsdConfig } | { ok: false; problems: string[] }> {
  const { parseLvsdConfig } = await import("./config.js");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, problems: [`cannot read ${file}: ${(e as Error).message}`] };
  }
  let config: LvsdConfig;
  try {
    config = parseLvsdConfig(text);
  } catch (e) {
    return { ok: false, problems: [(e as Error).message] };
  }
  const problems = unsupported(config);
  return problems.length ? { ok: false, problems } : { ok: true, config };
}

/** Arguments, `--help`, `--version` and `--check`: an exit code, or the arguments to run with. */
export async function runCheck(argv: string[], io: CliIo, onRun?: (a: Args & { config: string }) => void): Promise<{ code: number } | { run: Args & { config: string }; config: LvsdConfig }> {
  const a = parseArgs(argv);
  if (typeof a === "string") {
    io.err(`lvsd: ${a}\n${USAGE}\n`);
    return { code: 1 };
  }
  if (a.help) {
    io.out(`${USAGE}\n`);
    return { code: 0 };
  }
  if (a.version) {
    io.out(`lvsd ${LVSD_VERSION}\n`);
    return { code: 0 };
  }
  if (!a.check) onRun?.({ ...a, config: a.config! });
  const r = await loadConfig(a.config!);
  if (!r.ok) {
    io.err(`lvsd: ${a.config}: configuration rejected:\n${r.problems.map((p) => `  ${p.replace(/\n/g, "\n  ")}`).join("\n")}\n`);
    return { code: 1 };
  }
  if (a.check) {
    const c = r.config;
    io.out(`${a.config}: OK (${c.instances.length} VRRP instance(s), ${c.syncGroups.length} sync group(s), ${c.services.length} IPVS service(s)${c.lvsSyncDaemon ? `, connection sync on ${c.lvsSyncDaemon.interface}` : ""}, status port ${c.statusPort})\n`);
    return { code: 0 };
  }
  return { run: { ...a, config: a.config! }, config: r.config };
}

/** runtime/adopt.ts: the adverts of adopting instances, sent from this thread while the worker boots. */
async function announceAdoption(config: LvsdConfig, log: Logger): Promise<{ adverts: OutgoingAdvert[]; ms: number } | { error: unknown }> {
  const t0 = performance.now();
  try {
    const { createAdoptionPorts } = await import("./runtime/real.js");
    const adverts = await announce(config, createAdoptionPorts(log));
    return { adverts, ms: Math.round(performance.now() - t0) };
  } catch (error) {
    return { error };
  }
}

/** Where start-up went, in ms since the process started: node's boot and the bundle's load (until
 * main() runs), then reading and checking the config (the VRRP worker boots meanwhile). */
interface StartupTimes {
  mainAtMs: number;
  configCheckedAtMs: number;
}

async function serve(file: string, initial: LvsdConfig, level: Level, host: EngineHost, flags: { stopping: boolean }, times: StartupTimes): Promise<void> {
  const log: Logger = createLogger({ level, fields: { routerId: initial.routerId } });
  let stopping = false;
  // The adoption check first: it decides whether the engine may start before the first IPVS pass
  // (core/startup.ts), and on a crash restart it sends the adoption advert at once.
  const adoption = await announceAdoption(initial, log);
  if ("error" in adoption) {
    // without the capabilities the engine fails next and says what to do; anything else is worth a warning
    const code = (adoption.error as { code?: unknown } | undefined)?.code;
    const level = code === "EPERM" || code === "EACCES" ? "debug" : "warn";
    log[level]("could not send the adoption advert early; the engine sends it when it starts", { error: adoption.error });
  }
  else if (adoption.adverts.length > 0) {
    log.info(ADOPTION_ADVERTISED, {
      instances: adoption.adverts.map((a) => `${a.ifname}/vrid ${a.vrid}/prio ${a.priority}`),
      sinceProcessStartMs: Math.round(process.uptime() * 1000),
      tookMs: adoption.ms,
    });
  }
  let engineRunning = false;
  const order = startOrder({ needsIpvs: needsIpvs(initial), adoption: "error" in adoption ? "unknown" : adoption.adverts.length > 0 ? "adopting" : "none" });

  // The core's IPVS half (core/director.ts) on this thread: health -> wanted table -> reconciler.
  // The health checks (check/) run on this thread too, never in the VRRP worker: one scheduler,
  // timers on the real clock, each attempt bounded by its deadline.
  const makeDirector = async () => {
    const { Director } = await import("./core/director.js");
    const { realServerId } = await import("./core/health.js");
    // TCP_CHECK and HTTP_GET connections run in the native addon (a C checker's CPU, bench/checks);
    // node:net's checkers remain for a daemon whose addon cannot be loaded here.
    const { CheckHealth, nativeCheckers, realCheckers } = await import("./check/index.js");
    const { realClock } = await import("./runtime/clock.js");
    const { SpawnNotify } = await import("./runtime/kernel.js");
    const { loadAddon } = await import("./native/index.js");
    let checkers = realCheckers;
    try {
      checkers = nativeCheckers(loadAddon());
    } catch (e) {
      log.warn("health checks on node:net: the native addon did not load", { error: e });
    }
    const health = new CheckHealth({ clock: realClock, checkers, notify: new SpawnNotify(log.child({ part: "notify" })), log: log.child({ part: "check" }), idOf: realServerId });
    return new Director({
      openIpvs: async () => (await import("./ipvs/real.js")).openIpvsClient(),
      health,
      // Until the engine runs no instance is MASTER, and the worker is not asked: the first pass
      // may run before the engine is started (core/startup.ts) and must not wait on it.
      vrrpStates: async () => (engineRunning ? (await host.snapshot()).instances : []),
      log: log.child({ part: "ipvs" }),
    });
  };
  type PassResult = Awaited<ReturnType<Awaited<ReturnType<typeof makeDirector>>["start"]>>;
  const logPass = (what: string, r: PassResult) => {
    if (r) log.info(r.ops === 0 && r.ok ? `${what}: the kernel's IPVS table matches, nothing written` : `${what}: IPVS table updated`, { ...r, ...(what === "start" ? { sinceProcessStartMs: Math.round(process.uptime() * 1000) } : {}) });
  };
  const startDirector = (d: Awaited<ReturnType<typeof makeDirector>>) => {
    const first = d.start(initial);
    first.then(
      (r) => logPass("start", r),
      (e: unknown) => log.error("IPVS start failed", { error: e }),
    );
    return first;
  };
  let director: Awaited<ReturnType<typeof makeDirector>> | undefined;
  if (order.engine === "after-first-pass") {
    const t0 = performance.now();
    director = await makeDirector();
    const first = startDirector(director).then(
      () => true,
      () => true,
    );
    const done = await Promise.race([first, new Promise<false>((r) => setTimeout(() => r(false), order.boundMs).unref())]);
    const waitedMs = Math.round(performance.now() - t0);
    if (done) log.info("VRRP starts after the first IPVS pass", { waitedMs, why: order.why });
    else log.warn("the first IPVS pass is still running; starting VRRP anyway", { waitedMs, boundMs: order.boundMs, hint: "a VIP this director takes may answer without its IPVS services until the pass ends; see the IPVS log lines" });
  }

  const engineT0 = performance.now();
  try {
    await host.start(initial);
    engineRunning = true;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /not permitted|EPERM|EACCES/i.test(msg)
      ? "lvsd needs CAP_NET_RAW (raw VRRP and ARP sockets) and CAP_NET_ADMIN (VIPs): run it as root, as its systemd unit does"
      : /ENODEV|No such device/i.test(msg)
        ? "an interface named in the config does not exist on this host"
        : undefined;
    log.error("cannot start the VRRP engine", { error: e, ...(hint ? { hint } : {}) });
    process.exit(1);
  }
  log.info("lvsd started", {
    version: LVSD_VERSION,
    pid: process.pid,
    instances: initial.instances.map((i) => i.name),
    // process start to VRRP running (what a crash restart costs), and how long the engine took
    // to start once it was asked to (the worker booted meanwhile)
    startupMs: Math.round(process.uptime() * 1000),
    engineStartMs: Math.round(performance.now() - engineT0),
    ...times,
  });
  if (!director) {
    director = await makeDirector();
    void startDirector(director).catch(() => undefined);
  }
  const snapshot = async () => {
    const s = await host.snapshot();
    const ipvs = director.status();
    return ipvs ? { ...s, ipvs } : s;
  };

  let status: Server | undefined;
  let statusPort = initial.statusPort;
  const openStatus = async (port: number) => {
    // The status page is not worth stopping VRRP for: retry a little (a previous lvsd may still
    // hold the port while systemd restarts us), then carry on without it.
    for (let attempt = 1; attempt <= 10 && !stopping && port === statusPort; attempt++) {
      try {
        const { startStatusServer } = await import("./status/server.js");
        status = await startStatusServer({ port, snapshot });
        log.info("status endpoint listening", { url: `http://127.0.0.1:${port}/status` });
        return;
      } catch (e) {
        log.error("status endpoint could not listen", { port, attempt, error: e });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await openStatus(statusPort);

  let reloading = Promise.resolve();
  process.on("SIGHUP", () => {
    reloading = reloading.then(async () => {
      const r = await loadConfig(file);
      if (!r.ok) {
        log.error("reload refused: the new configuration is invalid; keeping the running one", { problems: r.problems });
        return;
      }
      try {
        const sum = await host.reload(r.config);
        log.info("reload applied", { ...sum });
      } catch (e) {
        log.error("reload failed", { error: e });
      }
      try {
        logPass("reload", await director.reload(r.config));
      } catch (e) {
        log.error("IPVS reload failed", { error: e });
      }
      if (r.config.statusPort !== statusPort) {
        statusPort = r.config.statusPort;
        status?.close();
        await openStatus(statusPort);
      }
    });
  });
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    flags.stopping = true;
    log.info("stopping: resigning mastership and removing VIPs", { signal: sig });
    status?.close();
    // The IPVS table and the sync daemon stay (a restart adopts them without a write); the VRRP
    // resignation never waits for a reconcile pass.
    void Promise.all([host.shutdown(), director.stop().catch(() => undefined)]).then(
      () => {
        log.info("lvsd stopped");
        process.exit(0);
      },
      (e: unknown) => {
        log.error("unclean stop", { error: e });
        process.exit(70);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

export async function main(argv: string[]): Promise<void> {
  const mainAtMs = Math.round(process.uptime() * 1000);
  const io: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
  // The worker boots (addon, netlink sockets, its own bundle) while the config is checked here.
  let host: EngineHost | undefined;
  const flags = { stopping: false };
  const r = await runCheck(argv, io, (a) => {
    host = EngineHost.spawn({
      adapters: "real",
      logLevel: a.logLevel,
      onLog: stdoutSink,
      onCrash: (why) => {
        if (flags.stopping) return;
        createLogger({ level: "error" }).error("VRRP engine failed: exiting so systemd restarts lvsd", { reason: why });
        process.exit(70);
      },
    });
  });
  if ("code" in r) {
    await host?.terminate();
    process.exitCode = r.code;
    return;
  }
  await serve(r.run.config, r.config, r.run.logLevel, host!, flags, { mainAtMs, configCheckedAtMs: Math.round(process.uptime() * 1000) });
}

function isEntryPoint(): boolean {
  if (!isMainThread || !process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main(process.argv.slice(2));
