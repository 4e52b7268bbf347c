// A small unified diff (Myers' O(ND) algorithm, "An O(ND) Difference Algorithm and Its
// Variations", 1986) for `--diff`. Output follows GNU diff's unified format: `--- a`, `+++ b`,
// hunks `@@ -l,s +l,s @@` with 3 lines of context.

export type Edit = { op: "=" | "-" | "+"; line: string };

/** Split text into lines; a trailing newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The shortest edit script turning `a` into `b`, as a list of kept, removed and added lines. */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)) x = v[offset + k + 1]!;
      else x = v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace backwards from (n, m) to (0, 0).
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!)) prevK = k + 1;
    else prevK = k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: "=", line: a[x - 1]! });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) edits.push({ op: "+", line: b[y - 1]! });
      else edits.push({ op: "-", line: a[x - 1]! });
    }
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/**
 * Unified diff of two texts; "" when they are equal. `context` lines around each change
 * (GNU diff's default is 3). A missing trailing newline is marked like GNU diff does.
 */
export function unifiedDiff(oldText: string, newText: string, opts: { oldName?: string; newName?: string; context?: number } = {}): string {
  if (oldText === newText) return "";
  const context = opts.context ?? 3;
  // A last line without its newline differs from the same line with one (as in GNU diff):
  // tag it, and print the tag as "\ No newline at end of file".
  const a = tagNoEol(oldText);
  const b = tagNoEol(newText);
  const edits = diffLines(a, b);
  const out: string[] = [`--- ${opts.oldName ?? "a"}`, `+++ ${opts.newName ?? "b"}`];
  // Group edits into hunks: changes closer than 2*context lines share a hunk.
  let i = 0;
  const indexA: number[] = [];
  const indexB: number[] = [];
  let ia = 0;
  let ib = 0;
  for (const e of edits) {
    indexA.push(ia);
    indexB.push(ib);
    if (e.op !== "+") ia++;
    if (e.op !== "-") ib++;
  }
  while (i < edits.length) {
    while (i < edits.length && edits[i]!.op === "=") i++;
    if (i >= edits.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    let lastChange = i;
    while (end < edits.length) {
      if (edits[end]!.op !== "=") lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    const stop = Math.min(edits.length, lastChange + context + 1);
    const hunk = edits.slice(start, stop);
    const aCount = hunk.filter((e) => e.op !== "+").length;
    const bCount = hunk.filter((e) => e.op !== "-").length;
    const aStart = aCount === 0 ? indexA[start]! : indexA[start]! + 1;
    const bStart = bCount === 0 ? indexB[start]! : indexB[start]! + 1;
    out.push(`@@ -${aStart}${aCount === 1 ? "" : "," + aCount} +${bStart}${bCount === 1 ? "" : "," + bCount} @@`);
    for (const e of hunk) {
      const noEol = e.line.endsWith(NO_EOL);
      out.push((e.op === "=" ? " " : e.op) + (noEol ? e.line.slice(0, -NO_EOL.length) : e.line));
      if (noEol) out.push("\\ No newline at end of file");
    }
    i = stop;
  }
  return out.join("\n") + "\n";
}

const NO_EOL = "\u0000no-eol";

function tagNoEol(text: string): string[] {
  const lines = splitLines(text);
  if (text !== "" && !text.endsWith("\n")) lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** The diff shown for a file marked secret: never its content. */
export function maskedDiff(path: string, existed: boolean): string {
  return `--- ${existed ? path : "/dev/null"}\n+++ ${path}\n@@ secret file: content not shown @@\n${existed ? "-***\n" : ""}+***\n`;
}
