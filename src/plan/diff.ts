// The unified diff shown by `--diff`: jsdiff (the `diff` package) finds the hunks; this file only
// prints them the way GNU diff does (`--- a`, `+++ b`, `@@ -l,s +l,s @@` with a count of 1 left out,
// 3 lines of context, "\ No newline at end of file").
import { structuredPatch } from "diff";

/**
 * Unified diff of two texts; "" when they are equal. `context` lines around each change
 * (GNU diff's default is 3). A missing trailing newline is marked like GNU diff does.
 */
export function unifiedDiff(oldText: string, newText: string, opts: { oldName?: string; newName?: string; context?: number } = {}): string {
  if (oldText === newText) return "";
  const patch = structuredPatch("a", "b", oldText, newText, undefined, undefined, { context: opts.context ?? 3 });
  const out: string[] = [`--- ${opts.oldName ?? "a"}`, `+++ ${opts.newName ?? "b"}`];
  for (const h of patch.hunks) {
    // GNU diff numbers an empty side from the line before it (`-0,0` for a new file).
    out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
    out.push(...h.lines);
  }
  return out.join("\n") + "\n";
}

function range(start: number, count: number): string {
  if (count === 0) return `${Math.max(0, start - 1)},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** The diff shown for a file marked secret: never its content. */
export function maskedDiff(path: string, existed: boolean): string {
  return `--- ${existed ? path : "/dev/null"}\n+++ ${path}\n@@ secret file: content not shown @@\n${existed ? "-***\n" : ""}+***\n`;
}
