// One real server's web service stopped and started again behind a director's health check, as
// the qemu deploy tests prove it for each backend: a client sends requests through the VIP the
// whole time, the master's IPVS table is polled, and what was measured comes back (time until the
// real server was taken out and put back, requests and failures before and after). The bounds
// are the check's own timers as the inventory sets them.
import type { QemuLab } from "../../../src/lab/index.js";
import type { QemuRealServer, QemuRealServers } from "../../../src/lab/qemu-realservers.js";
import { runCli } from "./index.js";

/** A check's timers, in seconds, as the inventory gives them (HTTP_GET / TCP_CHECK). */
export interface CheckTimers {
  delayLoopSec: number;
  connectTimeoutSec: number;
  retry: number;
  delayBeforeRetrySec: number;
  /** Successes in a row that bring a server back (lvsd's rise; keepalived: 1). */
  rise: number;
}

/**
 * The longest a stopped server can stay in the table: the next check is at most delay_loop away,
 * then retry more attempts delay_before_retry apart, each allowed connect_timeout (keepalived
 * check_api.c / our scheduler: a server is down after retry + 1 failures in a row).
 */
export function outBoundMs(c: CheckTimers): number {
  return (c.delayLoopSec + c.retry * (c.delayBeforeRetrySec + c.connectTimeoutSec) + c.connectTimeoutSec) * 1000;
}

/** The longest a restarted server can stay out: rise successes, delay_loop apart (a down server is checked every delay_loop), the first at most delay_loop away. */
export function backBoundMs(c: CheckTimers): number {
  return (c.rise * c.delayLoopSec + c.connectTimeoutSec) * 1000;
}

/** The earliest it can be back: rise successes, the later ones each delay_loop after the one before. */
export function backFloorMs(c: CheckTimers): number {
  return (c.rise - 1) * c.delayLoopSec * 1000;
}

export interface Request {
  /** ms since the client started. */
  start: number;
  end: number;
  answer: string;
}

/** A client sending one request through the VIP every `everyMs` until stopped. */
export function startClient(get: () => Promise<string>, everyMs = 200) {
  let stop = false;
  const t0 = Date.now();
  const requests: Request[] = [];
  const done = (async () => {
    while (!stop) {
      const start = Date.now() - t0;
      const answer = await get();
      requests.push({ start, end: Date.now() - t0, answer });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    t0,
    async stop(): Promise<Request[]> {
      stop = true;
      await done;
      return requests;
    },
  };
}

const failed = (rs: Request[]) => rs.filter((r) => r.answer.startsWith("error"));
const brief = (rs: Request[]) => `${rs.length} requests, ${failed(rs).length} failed${failed(rs).length ? ` (${failed(rs).slice(0, 4).map((r) => `${r.start} ms: ${r.answer}`).join(" | ")})` : ""}`;

export interface OutageOptions {
  lab: QemuLab;
  realServers: QemuRealServers;
  vip: string;
  port: number;
  /** The director whose table is polled (the master). */
  master: string;
  /** The real server whose web service is stopped. */
  server: QemuRealServer;
  /** Polled with the table, in the same command (e.g. lvsd's status); its output is kept per sample. */
  alsoAsk?: string;
  /** How long the client goes on after the server was seen out. */
  afterMs?: number;
  timeoutMs?: number;
}

export interface TableSample {
  /** ms since the web service was stopped (or started). */
  t: number;
  inTable: boolean;
  also: string;
}

export interface OutageResult {
  /** ms from the stopped web service to the first sample of the table without it. */
  outMs: number;
  requests: Request[];
  /** Requests started after it was seen out. */
  after: Request[];
  samples: TableSample[];
  text: string;
}

const SPLIT = "--lvsctl-test-split--";

async function sample(o: OutageOptions): Promise<{ inTable: boolean; also: string }> {
  const cmd = o.alsoAsk ? `ipvsadm -Sn; echo ${SPLIT}; ${o.alsoAsk}` : "ipvsadm -Sn";
  const out = (await o.lab.execOk(o.master, cmd)).split(SPLIT);
  const line = new RegExp(`^-a -t ${o.vip.replaceAll(".", "\\.")}:${o.port} -r ${o.server.address.replaceAll(".", "\\.")}:${o.port} `, "m");
  return { inTable: line.test(out[0] ?? ""), also: (out[1] ?? "").trim() };
}

async function pollUntil(o: OutageOptions, want: boolean, t0: number): Promise<TableSample[]> {
  const samples: TableSample[] = [];
  const limit = o.timeoutMs ?? 60_000;
  for (;;) {
    const s = await sample(o);
    samples.push({ t: Date.now() - t0, ...s });
    if (s.inTable === want) return samples;
    if (Date.now() - t0 > limit) throw new Error(`${o.server.name} (${o.server.address}) still ${want ? "absent from" : "in"} ${o.master}'s IPVS table after ${limit} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Stops the server's web service with a client running; returns once it was seen out of the master's table and the client ran `afterMs` more. */
export async function takeOut(o: OutageOptions): Promise<OutageResult> {
  if (!(await sample(o)).inTable) throw new Error(`${o.server.name} is not in ${o.master}'s IPVS table before its web service was stopped`);
  const client = startClient(() => o.realServers.get(o.vip));
  await new Promise((r) => setTimeout(r, 1000));
  await o.realServers.stopWeb(o.server.name);
  const tStop = Date.now();
  const samples = await pollUntil(o, false, tStop);
  const outMs = samples.at(-1)!.t;
  await new Promise((r) => setTimeout(r, o.afterMs ?? 4000));
  const requests = await client.stop();
  const outAt = tStop - client.t0 + outMs;
  const after = requests.filter((r) => r.start > outAt);
  const stopAt = tStop - client.t0;
  const text = `${o.server.name}'s web service stopped: out of ${o.master}'s table after ${outMs} ms (${samples.length} samples); before: ${brief(requests.filter((r) => r.start <= outAt && r.end >= stopAt))}; after: ${brief(after)} (${[...new Set(after.map((r) => r.answer))].join(", ")})`;
  return { outMs, requests, after, samples, text };
}

export interface BackResult {
  /** ms from the started web service to the first sample of the table with it. */
  backMs: number;
  requests: Request[];
  samples: TableSample[];
  text: string;
}

/** Starts the server's web service again with a client running; returns once it was seen back in the master's table. */
export async function bringBack(o: OutageOptions): Promise<BackResult> {
  const client = startClient(() => o.realServers.get(o.vip));
  await o.realServers.startWeb(o.server.name);
  const tStart = Date.now();
  const samples = await pollUntil(o, true, tStart);
  const backMs = samples.at(-1)!.t;
  await new Promise((r) => setTimeout(r, o.afterMs ?? 2000));
  const requests = await client.stop();
  const text = `${o.server.name}'s web service started: back in ${o.master}'s table after ${backMs} ms (${samples.length} samples); ${brief(requests)} (${[...new Set(requests.filter((r) => !r.answer.startsWith("error")).map((r) => r.answer))].join(", ")})`;
  return { backMs, requests, samples, text };
}

export const failedOf = failed;

/** Checks run every delay_loop on each director on their own: the seconds of emulation allowed beyond the timers (polling over SSH, the first checks' spread). */
export const SLACK_MS = 2000;

/** What these tests read of `lvsctl status --json` (src/status/types.ts ClusterStatus). */
export interface StatusJson {
  backend: string;
  healthy: boolean;
  instances: { name: string; masters: string[] }[];
  directors: {
    name: string;
    daemon: { active: boolean };
    lvsd: { pid: number } | null;
    instances: { role: string | null; daemonState: string | null; priority: number | null; prioritySource: string }[];
    ipvs: { key: string; realServers: { key: string; health: string; healthReason: string; weight: number | null; inTable: boolean }[] }[] | null;
  }[];
  problems: { kind: string; host?: string; message: string }[];
}

export interface StatusRun {
  code: number | null;
  s?: StatusJson;
  /** The screen (`lvsctl status` without --json) asked right after. */
  screen: string;
  stderr: string;
}

/** The real servers of service `key` in director `g`'s table as status shows them. */
export function statusTable(s: StatusJson, g: string, key: string) {
  return s.directors.find((x) => x.name === g)?.ipvs?.find((x) => x.key === key)?.realServers ?? [];
}

/** `lvsctl status --json` and the screen, until both exit `code` (one director's checks may lag the other's by a check); at most `timeoutMs`. */
export async function statusUntil(inventory: string, knownHosts: string, code: number, what: string, log: (s: string) => void, timeoutMs = 60_000): Promise<StatusRun> {
  let last: StatusRun | undefined;
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const j = await runCli(["status", inventory, "--json", "--known-hosts", knownHosts], { timeoutMs: 2 * 60_000 });
    const screen = await runCli(["status", inventory, "--known-hosts", knownHosts], { timeoutMs: 2 * 60_000 });
    last = { code: j.code, s: j.stdout.trim() ? (JSON.parse(j.stdout) as StatusJson) : undefined, screen: screen.stdout, stderr: j.stderr };
    log(`status (${what}): exit ${j.code} in ${(j.ms / 1000).toFixed(1)} s`);
    if (j.code === code && screen.code === code) return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`lvsctl status never exited ${code} (${what}); last: exit ${last?.code}\n${JSON.stringify(last?.s?.problems)}\n${last?.stderr}`);
}

/** A string as a literal in a RegExp. */
export const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
