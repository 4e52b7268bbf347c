// Diagnostics: problems found in an inventory, as values. Loading collects all of them before
// answering, so an operator fixes a file in one pass instead of one error per run.
import { formatLocation, type SourceLocation } from "../errors/index.js";
import type { Code } from "./codes.js";

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  /** A stable code from codes.ts (LVS1xx...). */
  code: Code | (string & {});
  /** What is wrong, naming the key path (`vrrp_instances[0].virtual_router_id: ...`). */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Absent for whole-file problems (an empty file). */
  location?: SourceLocation;
}

/** `file:line:col: error CODE: message` and, when there is one, `\n  hint: ...`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${formatLocation(d.location)}: ` : "";
  const hint = d.hint ? `\n  hint: ${d.hint}` : "";
  return `${where}${d.severity} ${d.code}: ${d.message}${hint}`;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Order for display: whole-file problems first, then by file, line, column; stable otherwise. */
export function sortDiagnostics(ds: Diagnostic[], mainFile: string): Diagnostic[] {
  const rank = (d: Diagnostic): [number, string, number, number] =>
    d.location ? [d.location.file === mainFile ? 1 : 2, d.location.file, d.location.line, d.location.col] : [0, "", 0, 0];
  return ds
    .map((d, i) => ({ d, i, r: rank(d) }))
    .sort((a, b) => {
      for (let k = 0; k < 4; k++) {
        const x = a.r[k]!;
        const y = b.r[k]!;
        if (x < y) return -1;
        if (x > y) return 1;
      }
      return a.i - b.i;
    })
    .map((e) => e.d);
}

export type PathKey = string | number;
export type Path = readonly PathKey[];

/** `vrrp_instances[0].virtual_router_id`; odd keys quoted: `hosts["my host"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out || "(top level)";
}
