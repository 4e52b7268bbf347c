// The whole-cluster case's table (issue 9 item 7): the no-change run of `lvsctl deploy` over the
// whole cluster (directors and real servers) next to the real-server-only one (`lvsctl bootstrap`)
// on the same hosts in the same run. Pure.

export interface CaseFigures {
  /** What ran: "real servers only (bootstrap)" or "whole cluster (deploy)". */
  name: string;
  hosts: number;
  /** Wall time of the first run (lvsctl started as a new process), ms. */
  firstMs: number;
  /** Wall times of the no-change runs, ms, in order. */
  noChangeMs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

/** Median no-change time of the whole cluster over the real-server-only one. */
export function clusterCost(rsOnly: CaseFigures, cluster: CaseFigures): { noChangeMedianMs: { realServersOnly: number; cluster: number }; extraMs: number; ratio: number } {
  const a = median(rsOnly.noChangeMs);
  const b = median(cluster.noChangeMs);
  return { noChangeMedianMs: { realServersOnly: a, cluster: b }, extraMs: Math.round(b - a), ratio: Number((b / a).toFixed(2)) };
}

export function formatClusterTable(cases: CaseFigures[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const head = ["case", "hosts", "first run s", "no-change s (each run)"];
  const rows = cases.map((c) => [c.name, String(c.hosts), s(c.firstMs), c.noChangeMs.map(s).join(" / ")]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(width[i]!))).join("  ")).join("\n");
}
