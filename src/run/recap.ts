// The closing recap, shared by the plain and listr views.
import type { HostRecap } from "./events.js";

export function recapLine(host: string, r: HostRecap, width = host.length): string {
  return `${host.padEnd(width)}  ok=${r.ok}  changed=${r.changed}  failed=${r.failed}  unreachable=${r.unreachable}  skipped=${r.skipped}${r.warnings ? `  warnings=${r.warnings}` : ""}`;
}

export function recapTable(recap: Record<string, HostRecap>): string[] {
  const hosts = Object.keys(recap);
  const width = Math.max(0, ...hosts.map((h) => h.length));
  return hosts.map((h) => recapLine(h, recap[h]!, width));
}

export const EXIT_MEANING: Record<number, string> = {
  0: "all fine",
  2: "a task failed",
  3: "a host was unreachable",
  130: "interrupted",
};

/** The closing block both views print: "RECAP" and one indented line per host. */
export function recapBlock(recap: Record<string, HostRecap>): string {
  return `RECAP\n${recapTable(recap).map((l) => `  ${l}\n`).join("")}`;
}

/** "exit 2 (a task failed)"; a code without a known meaning is shown bare. */
export function exitText(code: number): string {
  return `exit ${code}${EXIT_MEANING[code] ? ` (${EXIT_MEANING[code]})` : ""}`;
}
