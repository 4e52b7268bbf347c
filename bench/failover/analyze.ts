// Pure parts of the failover benchmark: parsers for ping, tcpdump and /proc output, the gap
// analysis, the protocol bounds, statistics and the printed table. No I/O here, so
// analyze.test.ts checks it on literal lines.

// ---- protocol bounds ---------------------------------------------------------------------------------
// Written out here rather than imported from src/daemon/vrrp/timers.ts: the yardstick of a
// benchmark should not come from the code it judges.

/** Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 5798 section 6.1; keepalived
 * scales the v2 skew the same way, and with a 1 s interval it equals RFC 3768 section 6.1's). */
export function skewMs(priority: number, intervalMs: number): number {
  return ((256 - priority) * intervalMs) / 256;
}

/** Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 5798 / RFC 3768 section 6.1). */
export function masterDownMs(priority: number, intervalMs: number): number {
  return 3 * intervalMs + skewMs(priority, intervalMs);
}

export type Scenario = "linkcut" | "stop" | "crash";

/** The protocol's bound on the VIP's absence, for the backup's priority; null where the protocol
 * has none (a crash with a restart: ideally the VIP never leaves). */
export function boundMs(scenario: Scenario, backupPriority: number, intervalMs: number): number | null {
  if (scenario === "linkcut") return masterDownMs(backupPriority, intervalMs);
  if (scenario === "stop") return skewMs(backupPriority, intervalMs); // RFC 5798 6.4.2: priority 0 -> Skew_Time
  return null;
}

// ---- parsers -------------------------------------------------------------------------------------------

export interface PingReply {
  /** Wall clock (ms since the epoch) when ping printed the reply (`ping -D`). */
  atMs: number;
  seq: number;
}

/** One line of `ping -D`: "[1763771234.123456] 64 bytes from 10.66.0.100: icmp_seq=12 ttl=64 time=0.05 ms". */
export function parsePingReply(line: string): PingReply | undefined {
  const m = /^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) /.exec(line);
  if (!m) return undefined;
  return { atMs: Number(m[1]) * 1000, seq: Number(m[2]) };
}

export type WireEvent =
  | { kind: "vrrp"; atMs: number; srcMac: string; srcIp: string; priority: number }
  | { kind: "arp"; atMs: number; srcMac: string; /** sender == target: a gratuitous ARP. */ garp: boolean; ip: string };

/**
 * One line of `tcpdump -e -n -tt -l` for "vrrp or arp", e.g.
 * "1763771234.123456 02:66:00:00:00:02 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: 10.66.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 200, authtype none, intvl 1s, length 20"
 * "1763771234.123456 02:66:00:00:00:03 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.66.0.100 tell 10.66.0.100, length 28"
 */
export function parseTcpdumpLine(line: string): WireEvent | undefined {
  const head = /^(\d+\.\d+) ([0-9a-f:]{17}) > [0-9a-f:]{17}, ethertype (\S+) \(0x[0-9a-f]+\), length \d+: (.*)$/.exec(line);
  if (!head) return undefined;
  const atMs = Number(head[1]) * 1000;
  const srcMac = head[2]!;
  const rest = head[4]!;
  if (head[3] === "IPv4") {
    const v = /^(\d+\.\d+\.\d+\.\d+) > [^:]+: VRRPv[23], Advertisement, vrid \d+, prio (\d+)/.exec(rest);
    if (!v) return undefined;
    return { kind: "vrrp", atMs, srcMac, srcIp: v[1]!, priority: Number(v[2]) };
  }
  if (head[3] === "ARP") {
    // "who-has X (MAC) tell Y" when the target hardware address is not zero
    const a = /^(?:Request who-has (\S+)(?: \([0-9a-f:]+\))? tell ([^\s,]+)|Reply (\S+) is-at)/.exec(rest);
    if (!a) return undefined;
    if (a[3]) return { kind: "arp", atMs, srcMac, garp: true, ip: a[3] };
    return { kind: "arp", atMs, srcMac, garp: a[1] === a[2], ip: a[2]! };
  }
  return undefined;
}

/** utime + stime (clock ticks) and the parent pid from /proc/PID/stat (proc(5)); the command name
 * may hold spaces and parentheses, so fields are counted after the last ")". */
export function parseProcStat(text: string): { ppid: number; cpuTicks: number } | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // after ")": state(3) ppid(4) ... utime(14) stime(15)  -> indexes 0..: state=0, ppid=1, utime=11, stime=12
  const f = text.slice(close + 2).trim().split(/\s+/);
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (![ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { ppid, cpuTicks: utime + stime };
}

/** Rss and Pss (kB) from /proc/PID/smaps_rollup. */
export function parseSmapsRollup(text: string): { rssKb: number; pssKb: number } | undefined {
  const rss = /^Rss:\s+(\d+) kB/m.exec(text);
  const pss = /^Pss:\s+(\d+) kB/m.exec(text);
  if (!rss || !pss) return undefined;
  return { rssKb: Number(rss[1]), pssKb: Number(pss[1]) };
}

/** The pid and all its descendants, from a ppid map. */
export function descendants(root: number, ppidOf: ReadonlyMap<number, number>): number[] {
  const out = [root];
  for (let k = 0; k < out.length; k++) {
    for (const [pid, ppid] of ppidOf) if (ppid === out[k] && !out.includes(pid)) out.push(pid);
  }
  return out;
}

// ---- gaps -----------------------------------------------------------------------------------------------

export interface Gap {
  /** The longest interval between consecutive replies in the window (raw: it includes up to one probe period). */
  gapMs: number;
  /** The replies that bound it. */
  fromMs: number;
  toMs: number;
  /** False when replies had not resumed by the window's end (gapMs is then a lower bound). */
  closed: boolean;
}

/**
 * The longest gap between consecutive replies whose later reply falls in [fromMs, toMs]. The reply
 * before fromMs counts as the gap's start, so a fault right after a reply is measured whole. If the
 * last reply is more than openMs before toMs and that open interval is the longest, it is reported
 * (closed: false): replies had not resumed. (A shorter tail is only the next reply not yet in.)
 */
export function longestGap(replies: readonly number[], fromMs: number, toMs: number, openMs = 100): Gap | undefined {
  let prev: number | undefined;
  let best: Gap | undefined;
  for (const t of replies) {
    if (t > toMs) break;
    if (t < fromMs) {
      prev = t;
      continue;
    }
    if (prev !== undefined && (!best || t - prev > best.gapMs)) best = { gapMs: t - prev, fromMs: prev, toMs: t, closed: true };
    prev = t;
  }
  if (prev !== undefined && toMs - prev > openMs && toMs - prev > (best?.gapMs ?? 0)) best = { gapMs: toMs - prev, fromMs: prev, toMs, closed: false };
  return best;
}

// ---- statistics and the table --------------------------------------------------------------------------

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function maxOf(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : Math.max(...xs);
}

export interface Row {
  scenario: string;
  boundMs: number | null;
  lvsd: { medianMs: number | null; maxMs: number | null; n: number; failed: number };
  keepalived: { medianMs: number | null; maxMs: number | null; n: number; failed: number };
}

export interface Verdict {
  /** lvsd's median minus the bound (null without a bound). */
  overBoundMs: number | null;
  /** lvsd median / keepalived median. */
  ratio: number | null;
  /** lvsd's max within 50 ms of the bound (issue 4 item 7); null without a bound. */
  withinBound: boolean | null;
  /** lvsd's median and max no more than 10% above keepalived's (issue 4 item 7). */
  notSlower: boolean | null;
}

/** Slack allowed over the protocol bound, and over keepalived (issue 4 item 7). */
export const BOUND_SLACK_MS = 50;
export const KEEPALIVED_SLACK = 1.1;
/** Gaps up to this are the probe period and scheduling noise, not an absence (3 probe periods). */
export const NO_ABSENCE_MS = 30;

export function verdict(r: Row): Verdict {
  const l = r.lvsd.medianMs;
  const k = r.keepalived.medianMs;
  const overBoundMs = r.boundMs !== null && l !== null ? l - r.boundMs : null;
  const withinBound = r.boundMs !== null && r.lvsd.maxMs !== null ? r.lvsd.maxMs <= r.boundMs + BOUND_SLACK_MS && r.lvsd.failed === 0 : null;
  // Near zero (a crash the VIP survived) a ratio means nothing: compare against the noise floor.
  const ratio = l !== null && k !== null && k > 0 ? l / k : null;
  // "never slower": the median and the worst run both
  const lmax = r.lvsd.maxMs;
  const kmax = r.keepalived.maxMs;
  const notSlower =
    l !== null && k !== null && lmax !== null && kmax !== null
      ? l <= Math.max(k * KEEPALIVED_SLACK, NO_ABSENCE_MS) && lmax <= Math.max(kmax * KEEPALIVED_SLACK, NO_ABSENCE_MS) && r.lvsd.failed <= r.keepalived.failed
      : null;
  return { overBoundMs, ratio, withinBound, notSlower };
}

const ms = (x: number | null) => (x === null ? "-" : `${Math.round(x)}`);

export function formatTable(rows: readonly Row[]): string {
  const head = ["scenario", "bound ms", "lvsd med/max", "keepalived med/max", "lvsd-bound", "lvsd/ka", "targets"];
  const body = rows.map((r) => {
    const v = verdict(r);
    const mm = (x: Row["lvsd"]) => `${ms(x.medianMs)}/${ms(x.maxMs)}${x.failed ? ` (${x.failed} failed)` : ""}`;
    const t = [v.withinBound === null ? "" : v.withinBound ? "bound ok" : "BOUND MISSED", v.notSlower === null ? "" : v.notSlower ? "vs ka ok" : "SLOWER THAN KA"].filter(Boolean).join(", ");
    return [r.scenario, ms(r.boundMs), mm(r.lvsd), mm(r.keepalived), v.overBoundMs === null ? "-" : `${v.overBoundMs >= 0 ? "+" : ""}${Math.round(v.overBoundMs)}`, v.ratio === null ? "-" : v.ratio.toFixed(2), t];
  });
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(widths[k]!)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
