// The drill's client: requests through the VIP for as long as a step lasts, and a few long-lived
// connections held open across it. Behind a small interface, so the runner is tested with a fake
// clock and a fake client; the real ones are here: from this machine (node:http / node:net), or
// from a host of the inventory over SSH (a bounded curl loop whose lines stream back).
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { sh } from "../command/index.js";
import type { Command, ExecOptions, ExecResult } from "../ssh/types.js";
import type { HeldResult, RequestResult } from "./judge.js";

export type ProbeKind = "http" | "tcp";

export interface DrillTarget {
  address: string;
  port: number;
  probe: ProbeKind;
}

/** A client sending requests; stop() ends it and hands back what it saw. */
export interface RunningLoad {
  stop(): Promise<{ results: RequestResult[]; stoppedAt: number }>;
}

export interface HeldConnections {
  opened: number;
  /** Each connection asked once more; how many still answer. Closes them all. */
  finish(): Promise<HeldResult>;
}

export interface DrillClient {
  /** "this machine" or the host's name, for the report. */
  readonly where: string;
  start(): Promise<RunningLoad>;
  /** Opens `n` long-lived connections through the VIP; undefined when this client cannot. */
  hold?(n: number): Promise<HeldConnections>;
}

export interface LoadLimits {
  intervalMs: number;
  requestTimeoutMs: number;
  /** Bounds, whatever happens to the step: at most this many requests, for at most this long. */
  maxRequests: number;
  maxMs: number;
}

/**
 * A load from a single-request function: one request at a time, `intervalMs` apart (start to
 * start, or right away after a slow one), bounded by count and time. Clock and sleep injected.
 */
export function loopLoad(one: () => Promise<{ ok: boolean; error?: string }>, limits: LoadLimits, clock: { now(): number; sleep(ms: number): Promise<void> }): RunningLoad {
  const results: RequestResult[] = [];
  let stopping = false;
  const t0 = clock.now();
  const done = (async () => {
    while (!stopping && results.length < limits.maxRequests && clock.now() - t0 < limits.maxMs) {
      const start = clock.now();
      const r = await one();
      const end = clock.now();
      results.push({ start, end, ok: r.ok, ...(r.error ? { error: r.error } : {}) });
      const wait = limits.intervalMs - (end - start);
      if (wait > 0 && !stopping) await clock.sleep(wait);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await done;
      return { results, stoppedAt: clock.now() };
    },
  };
}

/** One HTTP GET (any status is an answer) or one TCP connect, with a timeout. Never throws. */
export function oneRequest(t: DrillTarget, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok ? { ok } : { ok, error: error ?? "failed" });
    };
    const timer = setTimeout(() => {
      finish(false, `no answer in ${timeoutMs} ms`);
      cleanup();
    }, timeoutMs);
    let cleanup = () => {};
    if (t.probe === "tcp") {
      const s = connect({ host: t.address, port: t.port });
      cleanup = () => s.destroy();
      s.once("connect", () => {
        finish(true);
        s.destroy();
      });
      s.once("error", (e) => finish(false, e.message));
      return;
    }
    const req = httpRequest({ host: t.address, port: t.port, path: "/", method: "GET", agent: false, headers: { Connection: "close" } }, (res) => {
      res.resume();
      res.once("end", () => finish(true));
      res.once("error", (e) => finish(false, e.message));
    });
    cleanup = () => req.destroy();
    req.once("error", (e) => finish(false, e.message));
    req.end();
  });
}

/**
 * Long-lived connections: HTTP keep-alive connections asked every `pingMs` (so a server's idle
 * timeout does not close them), or plain TCP connections that only have to stay open. One
 * survives when it was never closed or reset and (HTTP) answers a last request at the end.
 */
export async function holdConnections(t: DrillTarget, n: number, opts: { pingMs: number; timeoutMs: number }): Promise<HeldConnections> {
  interface Held {
    s: Socket;
    dead?: string;
    answers: number;
    timer?: NodeJS.Timeout;
  }
  const req = Buffer.from(`GET / HTTP/1.1\r\nHost: ${t.address}\r\nConnection: keep-alive\r\n\r\n`);
  const open = (): Promise<Held> =>
    new Promise((resolve) => {
      const h: Held = { s: connect({ host: t.address, port: t.port }), answers: 0 };
      const fail = (why: string) => {
        h.dead ??= why;
        if (h.timer) clearInterval(h.timer);
        resolve(h);
      };
      const timer = setTimeout(() => fail(`did not connect in ${opts.timeoutMs} ms`), opts.timeoutMs);
      h.s.on("error", (e) => fail(e.message));
      h.s.on("close", () => fail("closed"));
      h.s.on("data", (d) => (h.answers += (d.toString("latin1").match(/HTTP\/1\.[01] \d{3}/g) ?? []).length));
      h.s.once("connect", () => {
        clearTimeout(timer);
        if (t.probe === "http") {
          h.s.write(req);
          h.timer = setInterval(() => h.dead === undefined && h.s.write(req), opts.pingMs);
        }
        resolve(h);
      });
    });
  const held = await Promise.all(Array.from({ length: n }, open));
  const opened = held.filter((h) => h.dead === undefined).length;
  return {
    opened,
    async finish() {
      const notes: string[] = [];
      let survived = 0;
      await Promise.all(
        held.map(async (h, i) => {
          if (h.timer) clearInterval(h.timer);
          if (h.dead === undefined && t.probe === "http") {
            const before = h.answers;
            h.s.write(req);
            const t0 = Date.now();
            while (h.answers === before && h.dead === undefined && Date.now() - t0 < opts.timeoutMs) await new Promise((r) => setTimeout(r, 50));
            if (h.answers === before && h.dead === undefined) h.dead = `no answer in ${opts.timeoutMs} ms`;
          }
          if (h.dead === undefined) survived++;
          else notes.push(`connection ${i + 1}: ${h.dead}`);
          h.s.destroy();
        }),
      );
      return { opened, survived: Math.min(survived, opened), notes };
    },
  };
}

/** This machine as the client. */
export function localClient(t: DrillTarget, limits: LoadLimits): DrillClient {
  const clock = { now: () => performance.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  return {
    where: "this machine",
    start: async () => loopLoad(() => oneRequest(t, limits.requestTimeoutMs), limits, clock),
    hold: (n) => holdConnections(t, n, { pingMs: 1000, timeoutMs: Math.max(2000, limits.requestTimeoutMs) }),
  };
}

/**
 * The remote loop: one request at a time with curl (HTTP) or bash's /dev/tcp (TCP), a line per
 * request (`START_MS END_MS ok|fail`, the host's clock), until the stop file appears or a bound is
 * reached. Values are words (src/command); only the literal text is code.
 */
export function remoteLoadScript(t: DrillTarget, limits: LoadLimits, stopFile: string): Command {
  const secs = Math.max(1, Math.ceil(limits.requestTimeoutMs / 1000));
  const url = `http://${t.address.includes(":") ? `[${t.address}]` : t.address}:${t.port}/`;
  const one = t.probe === "http" ? sh`curl -s -o /dev/null --max-time ${secs} ${url}` : sh`timeout ${secs} bash -c ${`exec 3<>/dev/tcp/${t.address}/${t.port}`}`;
  const interval = (limits.intervalMs / 1000).toFixed(3);
  const maxSec = Math.ceil(limits.maxMs / 1000);
  return sh`stop=${stopFile}; n=0; end=$(( $(date +%s) + ${maxSec} ))
while [ "$n" -lt ${limits.maxRequests} ] && [ ! -e "$stop" ] && [ "$(date +%s)" -lt "$end" ]; do
  s=$(date +%s%3N)
  if ${one} >/dev/null 2>&1; then r=ok; else r=fail; fi
  echo "$s $(date +%s%3N) $r"
  n=$((n + 1))
  sleep ${interval}
done
rm -f "$stop"`;
}

/** The remote loop's lines -> results (lines it does not know are left out). */
export function parseRemoteLoad(text: string): RequestResult[] {
  const out: RequestResult[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+) (ok|fail)$/.exec(line.trim());
    if (m) out.push({ start: Number(m[1]), end: Number(m[2]), ok: m[3] === "ok", ...(m[3] === "fail" ? { error: "failed" } : {}) });
  }
  return out;
}

export interface RemoteExec {
  exec(cmd: Command, opts?: ExecOptions): Promise<ExecResult>;
}

/** A host of the inventory as the client, over its SSH connection. No held connections from there. */
export function remoteClient(host: string, session: RemoteExec, t: DrillTarget, limits: LoadLimits, runId: string): DrillClient {
  return {
    where: host,
    async start() {
      const stopFile = `/tmp/lvsctl-drill-${runId.replace(/[^A-Za-z0-9-]/g, "")}.stop`;
      await session.exec(sh`rm -f ${stopFile}`);
      let text = "";
      const running = session.exec(remoteLoadScript(t, limits, stopFile), { timeoutMs: limits.maxMs + 30_000, onStdout: (b) => (text += b.toString("utf8")) }).then(
        (r) => r.stdout.toString("utf8") || text,
        () => text,
      );
      return {
        async stop() {
          await session.exec(sh`touch ${stopFile}`).catch(() => undefined);
          const out = await running;
          const results = parseRemoteLoad(out);
          return { results, stoppedAt: results.length ? Math.max(...results.map((r) => r.end)) : 0 };
        },
      };
    },
  };
}
