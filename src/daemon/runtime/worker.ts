// Timing that holds under load (issue 4 item 4): the VRRP engine - its timers, its advert socket,
// the netlink sockets that add VIPs - runs in its own worker_threads Worker, with its own event
// loop and its own V8 isolate (so its own heap and GC). The main thread keeps everything that may
// be slow: config parsing, the status HTTP server, log writing, and later health checks and IPVS
// sync. A main loop blocked for 200 ms (a big reload, a GC of a large heap, a slow scrape) does
// not move an advert: test/unit/daemon/runtime/jitter.test.ts measures it.
//
// Why a worker and not a child process: same binary and same bundle (the worker re-enters the
// bundle with a role in workerData), structured-clone messages instead of a pipe protocol, and one
// PID for systemd. The cost is one more isolate (~5-10 MiB RSS). A crash of the engine ends the
// whole process (exit 70), so systemd restarts it, and the restart adopts the VIPs (state.ts).
//
// The worker never blocks on the main thread: logs and status are posted messages; the only
// messages it waits for are requests (reload, snapshot, shutdown), answered by id.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { LvsdConfig } from "../config.js";
import { createLogger, type Level, type Logger, type LogRecord } from "../log.js";
import type { StatusSnapshot } from "../status/types.js";
import { realClock } from "./clock.js";
import { Engine, type EngineDeps, type ReloadSummary } from "./engine.js";
import { FakeAddresses, FakeChannel, FakeGarp, FakeNet, FakeNotify } from "./fakes.js";

export const WORKER_ROLE = "lvsd-vrrp-engine";

export interface EngineWorkerData {
  role: typeof WORKER_ROLE;
  /** Absent: the worker boots (and opens its kernel sockets) and waits for a "start" message, so
   * its start-up overlaps the main thread's config validation (a crash restart is a race against
   * the backup's master-down timer). */
  config?: LvsdConfig;
  /** "real": raw sockets and rtnetlink (root). "loopback": in-memory fakes (tests, timing). */
  adapters: "real" | "loopback";
  logLevel: Level;
}

type Request =
  | { id: number; type: "start"; config: LvsdConfig }
  | { id: number; type: "reload"; config: LvsdConfig }
  | { id: number; type: "snapshot" }
  | { id: number; type: "shutdown" }
  | { id: number; type: "loopbackSent" };

type Reply = { type: "reply"; id: number; ok: true; value: unknown } | { type: "reply"; id: number; ok: false; error: string };
type Note = { type: "log"; record: LogRecord } | { type: "started" } | { type: "fatal"; error: string };

// ---- worker side ---------------------------------------------------------------------------------

function loopbackDeps(config: LvsdConfig, log: Logger): { deps: EngineDeps; channel: FakeChannel } {
  const channel = new FakeChannel(realClock);
  const addresses = new FakeAddresses();
  const ifs = new Set(config.instances.flatMap((i) => [i.interface, ...i.trackInterfaces]));
  for (const i of ifs) addresses.seed(i, "127.0.0.1", 8);
  return { channel, deps: { clock: realClock, channel, addresses, net: new FakeNet([...ifs]), garp: new FakeGarp(), notify: new FakeNotify(), log } };
}

function runWorker(data: EngineWorkerData): void {
  const port = parentPort!;
  const post = (m: Reply | Note) => port.postMessage(m);
  const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
  const log = createLogger({ level: data.logLevel, sink: (record) => post({ type: "log", record }), fields: { thread: "vrrp" } });
  // Real adapters are made at once (addon loaded, netlink sockets open) while the config is still
  // being checked on the main thread. Imported only here: loopback mode never loads the addon.
  const real = data.adapters === "real" ? import("./real.js").then((m) => m.createRealDeps(log)) : undefined;
  real?.catch(() => undefined); // reported when "start" awaits it
  let loopback: FakeChannel | undefined;
  let engine: Engine | undefined;

  const start = async (config: LvsdConfig): Promise<void> => {
    if (engine) throw new Error("the engine is already started");
    if (real) engine = new Engine({ ...(await real), log });
    else {
      const l = loopbackDeps(config, log);
      loopback = l.channel;
      engine = new Engine(l.deps);
    }
    await engine.start(config);
  };
  const started = (config: LvsdConfig) =>
    start(config).then(
      () => post({ type: "started" }),
      (e: unknown) => post({ type: "fatal", error: message(e) }),
    );

  port.on("message", (req: Request) => {
    const answer = (p: Promise<unknown> | unknown) =>
      Promise.resolve(p).then(
        (value) => post({ type: "reply", id: req.id, ok: true, value }),
        (e: unknown) => post({ type: "reply", id: req.id, ok: false, error: message(e) }),
      );
    if (req.type === "start") {
      if (engine) log.warn("ignoring a second start request");
      else void started(req.config);
      return;
    }
    if (!engine) {
      if (req.type === "shutdown") void answer(undefined).then(() => port.close());
      else void answer(Promise.reject(new Error("the VRRP engine is not started")));
      return;
    }
    switch (req.type) {
      case "reload":
        void answer(engine.reload(req.config));
        break;
      case "snapshot":
        void answer(engine.snapshot());
        break;
      case "shutdown":
        void answer(engine.shutdown()).then(() => port.close());
        break;
      case "loopbackSent":
        void answer(loopback ? loopback.sent.map((s) => ({ at: s.at, vrid: s.vrid, priority: s.priority })) : []);
        break;
    }
  });
  if (data.config) void started(data.config);
}

if (!isMainThread && (workerData as Partial<EngineWorkerData> | undefined)?.role === WORKER_ROLE) {
  runWorker(workerData as EngineWorkerData);
}

// ---- main-thread side ------------------------------------------------------------------------------

/** Set by scripts/build-lvsd.mjs: the worker's own, smaller bundle beside the main one (it leaves
 * out zod, the HTTP server and the CLI, about 10 MiB of RSS less in the worker's isolate). */
declare const __LVSD_WORKER_BUNDLE__: string | undefined;

function defaultEntry(): URL {
  const here = new URL(import.meta.url);
  if (typeof __LVSD_WORKER_BUNDLE__ !== "string") return here;
  const sibling = new URL(__LVSD_WORKER_BUNDLE__, here);
  // Shipped without it? The main bundle contains this module too and can serve as the worker.
  return existsSync(fileURLToPath(sibling)) ? sibling : here;
}

/** The bundle (.cjs) runs as is. A source checkout (.ts, under tsx) needs tsx registered inside the
 * worker first: Node does not run the parent's `--import tsx` in workers. */
function spawnWorker(entry: URL, data: EngineWorkerData): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: data });
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

export interface EngineHostOptions {
  adapters: "real" | "loopback";
  logLevel?: Level;
  onLog: (r: LogRecord) => void;
  /** The worker died without being asked to (the daemon should exit so systemd restarts it). */
  onCrash?: (reason: string) => void;
  /** Module the worker runs; defaults to this module (in the bundle: the worker bundle). */
  entry?: URL;
}

/** What the VRRP engine reads of a config: all but the IPVS services, which stay on the main
 * thread (a config of 1,000 services is most of the bytes a postMessage would clone, twice). */
function vrrpPart(config: LvsdConfig): LvsdConfig {
  return config.services.length === 0 ? config : { ...config, services: [] };
}

export class EngineHost {
  #w: Worker;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #stopping = false;
  #started = false;
  #starting: { resolve: () => void; reject: (e: Error) => void } | undefined;

  private constructor(opts: EngineHostOptions, config?: LvsdConfig) {
    const data: EngineWorkerData = { role: WORKER_ROLE, adapters: opts.adapters, logLevel: opts.logLevel ?? "info", ...(config ? { config: vrrpPart(config) } : {}) };
    const w = spawnWorker(opts.entry ?? defaultEntry(), data);
    this.#w = w;
    w.on("message", (m: Reply | Note) => {
      if (m.type === "log") opts.onLog(m.record);
      else if (m.type === "started") {
        this.#started = true;
        this.#starting?.resolve();
        this.#starting = undefined;
      } else if (m.type === "fatal") {
        if (this.#starting) this.#starting.reject(new Error(m.error));
        else opts.onCrash?.(m.error);
        this.#starting = undefined;
        void w.terminate();
      } else if (m.type === "reply") {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(new Error(m.error));
      }
    });
    w.on("error", (e) => {
      if (this.#starting) this.#starting.reject(e);
      else if (!this.#stopping) opts.onCrash?.(e.message);
      this.#starting = undefined;
    });
    w.on("exit", (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`VRRP worker exited (${code})`));
      this.#pending.clear();
      if (this.#starting) this.#starting.reject(new Error(`VRRP worker exited (${code}) before starting`));
      this.#starting = undefined;
      if (!this.#stopping && this.#started) opts.onCrash?.(`VRRP worker exited (${code})`);
    });
  }

  /** Boots the worker without a config: call start() once the config is checked. */
  static spawn(opts: EngineHostOptions): EngineHost {
    return new EngineHost(opts);
  }

  /** Boots the worker and starts the engine; resolves once VRRP runs (or rejects with why not). */
  static async start(opts: EngineHostOptions & { config: LvsdConfig }): Promise<EngineHost> {
    const h = new EngineHost(opts, opts.config);
    await h.#waitStarted();
    return h;
  }

  #waitStarted(): Promise<void> {
    if (this.#started) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
  }

  /** Starts the engine of a spawned worker (once). */
  start(config: LvsdConfig): Promise<void> {
    if (this.#started || this.#starting) return Promise.reject(new Error("the VRRP engine is already started"));
    const p = this.#waitStarted();
    this.#w.postMessage({ id: this.#next++, type: "start", config: vrrpPart(config) });
    return p;
  }

  #request<T>(req: Omit<Request, "id"> & { type: Request["type"] }): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#w.postMessage({ ...req, id });
    });
  }

  snapshot(): Promise<StatusSnapshot> {
    return this.#request({ type: "snapshot" });
  }
  reload(config: LvsdConfig): Promise<ReloadSummary> {
    return this.#request({ type: "reload", config: vrrpPart(config) } as Omit<Request, "id">);
  }
  /** Loopback mode only: every advert "sent", with the worker's performance.now() timestamp. */
  loopbackSent(): Promise<Array<{ at: number; vrid: number; priority: number }>> {
    return this.#request({ type: "loopbackSent" });
  }
  /** Priority 0 from masters, VIPs removed, then the worker ends. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    this.#stopping = true;
    const done = this.#request<void>({ type: "shutdown" });
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([done.catch(() => undefined), timer]);
    await this.#w.terminate();
  }
  /** Ends the worker at once (tests, a config that failed its check). */
  async terminate(): Promise<void> {
    this.#stopping = true;
    await this.#w.terminate();
  }
}
