// The benchmark's pure parts. Run: node --import tsx --test bench/failover/analyze.test.ts
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  boundMs,
  descendants,
  formatTable,
  longestGap,
  masterDownMs,
  median,
  parsePingReply,
  parseProcStat,
  parseSmapsRollup,
  parseTcpdumpLine,
  skewMs,
  verdict,
  type Row,
} from "./analyze.js";

test("bounds: RFC 5798 section 6.1 for the backup's priority", () => {
  assert.equal(skewMs(100, 1000), 609.375);
  assert.equal(masterDownMs(100, 1000), 3609.375);
  assert.equal(masterDownMs(100, 100), 360.9375);
  assert.equal(boundMs("linkcut", 100, 100), 360.9375);
  assert.equal(boundMs("stop", 100, 1000), 609.375);
  assert.equal(boundMs("crash", 100, 1000), null);
});

test("ping -D reply lines, and only those", () => {
  assert.deepEqual(parsePingReply("[1795307028.538024] 64 bytes from 10.66.0.100: icmp_seq=1 ttl=64 time=0.156 ms"), { atMs: 1795307028538.024, seq: 1 });
  assert.equal(parsePingReply("[1795307028.538024] From 10.66.0.9 icmp_seq=3 Destination Host Unreachable"), undefined);
  assert.equal(parsePingReply("PING 10.66.0.100 (10.66.0.100) 56(84) bytes of data."), undefined);
});

test("tcpdump -e lines: VRRP adverts and (gratuitous) ARP", () => {
  const v = parseTcpdumpLine(
    "1795307263.415969 02:66:00:00:00:02 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: 10.66.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 200, authtype none, intvl 1s, length 20",
  );
  assert.deepEqual(v, { kind: "vrrp", atMs: 1795307263415.969, srcMac: "02:66:00:00:00:02", srcIp: "10.66.0.2", priority: 200 });
  const v3 = parseTcpdumpLine("1795307263.5 02:66:00:00:00:03 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 46: 10.66.0.3 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 0, intvl 10cs, length 12");
  assert.equal(v3?.kind === "vrrp" && v3.priority, 0);
  // as captured: arping -U writes the target MAC, which tcpdump shows in parentheses
  const g1 = parseTcpdumpLine("1795307263.415969 ba:cb:59:b8:91:c7 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 58: Request who-has 10.67.0.1 (ff:ff:ff:ff:ff:ff) tell 10.67.0.1, length 44");
  assert.deepEqual(g1, { kind: "arp", atMs: 1795307263415.969, srcMac: "ba:cb:59:b8:91:c7", garp: true, ip: "10.67.0.1" });
  const g2 = parseTcpdumpLine("1795307264.470753 ba:cb:59:b8:91:c7 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 58: Request who-has 10.67.0.1 tell 10.67.0.1, length 44");
  assert.equal(g2?.kind === "arp" && g2.garp, true);
  const q = parseTcpdumpLine("1795307264.470753 02:66:00:00:00:09 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.66.0.100 tell 10.66.0.9, length 28");
  assert.equal(q?.kind === "arp" && q.garp, false);
  assert.equal(parseTcpdumpLine("listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes"), undefined);
});

test("/proc parsers: a command name with spaces and parentheses; smaps_rollup", () => {
  const stat = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194304 100 0 0 0 25 7 0 0 20 0 8 0 123 456 789";
  assert.deepEqual(parseProcStat(stat), { ppid: 17, cpuTicks: 32 });
  assert.deepEqual(parseSmapsRollup("55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:               84048 kB\nPss:               45716 kB\nPss_Dirty:  1 kB\n"), { rssKb: 84048, pssKb: 45716 });
  assert.deepEqual(descendants(10, new Map([[11, 10], [12, 11], [13, 1], [14, 10]])), [10, 11, 14, 12]);
});

test("longestGap: the gap that holds the fault, from the reply before it", () => {
  const r = [0, 10, 20, 30, 400, 410, 420];
  assert.deepEqual(longestGap(r, 35, 500), { gapMs: 370, fromMs: 30, toMs: 400, closed: true });
  // a noisy gap before the window does not count
  assert.deepEqual(longestGap([0, 80, 90, 100, 110], 85, 200), { gapMs: 10, fromMs: 80, toMs: 90, closed: true });
  // replies not back by the end: an open gap
  assert.deepEqual(longestGap([0, 10, 20], 15, 1000), { gapMs: 980, fromMs: 20, toMs: 1000, closed: false });
  // a short tail is only the next reply not yet in
  assert.equal(longestGap([0, 10, 20, 30], 5, 60)?.closed, true);
  assert.equal(longestGap([], 0, 100), undefined);
});

test("median, verdicts and the table", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), null);
  const row: Row = { scenario: "linkcut v2/1s", boundMs: 3609, lvsd: { medianMs: 3640, maxMs: 3670, n: 3, failed: 0 }, keepalived: { medianMs: 3600, maxMs: 3620, n: 3, failed: 0 } };
  const v = verdict(row);
  assert.equal(v.overBoundMs, 31);
  assert.equal(v.withinBound, false); // the max, 3670, is 61 ms over
  assert.equal(v.notSlower, true);
  assert.equal(verdict({ ...row, lvsd: { ...row.lvsd, medianMs: 4000 } }).notSlower, false);
  // a crash the VIP survived: tiny gaps are compared against the noise floor, not as a ratio
  const crash: Row = { scenario: "crash v2/1s", boundMs: null, lvsd: { medianMs: 20, maxMs: 25, n: 3, failed: 0 }, keepalived: { medianMs: 10, maxMs: 12, n: 3, failed: 0 } };
  assert.equal(verdict(crash).notSlower, true);
  assert.equal(verdict(crash).withinBound, null);
  const t = formatTable([row, crash]);
  assert.match(t, /linkcut v2\/1s\s+3609\s+3640\/3670\s+3600\/3620\s+\+31\s+1\.01\s+BOUND MISSED, vs ka ok/);
  assert.match(t, /crash v2\/1s\s+-\s+20\/25/);
});
