// Running host-side commands for the lab: async for the work, sync for teardown (which must
// also run from a process 'exit' handler, where nothing async happens any more).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { LvsctlError } from "../errors/index.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs argv[0] with the rest as arguments; never throws for a non-zero exit. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("run: empty argv");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n[lab] killed after ${opts.timeoutMs} ms`;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** Like run(), but a non-zero exit is an error that names the command and shows its stderr. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw commandFailed(argv, r);
  return r.stdout;
}

export function runSync(argv: readonly string[], opts: { input?: string } = {}): RunResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("runSync: empty argv");
  const r = spawnSync(cmd, args, { input: opts.input ?? "", encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

export function commandFailed(argv: readonly string[], r: RunResult): LvsctlError {
  const tail = r.stderr.trim().split("\n").slice(-8).join("\n    ");
  return new LvsctlError("LAB_COMMAND", `lab: \`${argv.join(" ")}\` exited with ${r.code}\n    ${tail}`, {
    hint: "the lab needs root and the packages named in scripts/install-deps.sh",
  });
}

/** Runs async jobs with at most `limit` in flight; rejects with the first failure after all settle. */
export async function pool<T, R>(items: readonly T[], limit: number, job: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let firstError: unknown;
  async function worker(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        out[i] = await job(items[i] as T, i);
      } catch (e) {
        firstError ??= e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError !== undefined) throw firstError;
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Blocks the thread (teardown from an 'exit' handler cannot await). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while the process exists and is not a zombie (an 'exit' handler cannot reap its children). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** State letter and start time (clock ticks since boot) of a process, from /proc/PID/stat (proc(5)). */
export function procStat(pid: number): { state: string; startTime: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised comm: state is field 3, starttime field 22 (proc(5)).
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "?", startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

/** argv of a process as the kernel shows it, or undefined when it is gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
  } catch {
    return undefined;
  }
}

/** Direct children of a process, from /proc (PPid lines); only what exists right now. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const m = /^PPid:\s+(\d+)$/m.exec(status);
      if (m && Number(m[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The last NSpid entry: a process's pid inside its innermost pid namespace. */
export function innermostPid(pid: number): number | undefined {
  try {
    const m = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const last = m?.[1]?.trim().split(/\s+/).pop();
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/** Runs `fn` holding a lock file (O_EXCL, the owner's pid inside); a dead owner's lock is taken over.
 * `what` names the work in the error when a live owner holds it past `timeoutMs`. */
export async function withLock<T>(file: string, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(readFileSync(file, "utf8").trim() || "0");
      if (!owner || !alive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new LvsctlError("LAB_LOCKED", `lab: ${what} is held by pid ${owner} for too long`, { hint: `remove ${file} if that process is not a lab` });
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** Labs torn down when the process exits or gets SIGINT/SIGTERM/SIGHUP (then it exits 128+N):
 * `track` on up, `untrack` on an orderly down. Teardown is synchronous ('exit' handlers cannot await). */
export function exitTeardown<T extends { downSync(): unknown }>(): { track(lab: T): void; untrack(lab: T): void } {
  const live = new Set<T>();
  const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onExit = (): void => {
    for (const lab of live) {
      try {
        lab.downSync();
      } catch (e) {
        process.stderr.write(`${e instanceof LvsctlError ? e.format() : String(e)}\n`);
      }
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    onExit();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[sig]!);
  };
  return {
    track(lab) {
      if (live.size === 0) {
        process.on("exit", onExit);
        for (const s of SIGNALS) process.on(s, onSignal);
      }
      live.add(lab);
    },
    untrack(lab) {
      if (!live.delete(lab) || live.size > 0) return;
      process.off("exit", onExit);
      for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
