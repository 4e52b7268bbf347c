import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { maskedDiff, unifiedDiff } from "../../../src/plan/diff.js";

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Apply a unified diff produced by unifiedDiff to the old text (test helper, strict). */
function applyPatch(oldText: string, patch: string): string {
  if (patch === "") return oldText;
  const old = splitLines(oldText);
  const out: string[] = [];
  const lines = patch.replace(/\n$/, "").split("\n").slice(2);
  let pos = 0; // next old line index
  let oldNoEol = !oldText.endsWith("\n") && oldText !== "";
  let newNoEol = oldNoEol;
  let last: string | undefined;
  for (const line of lines) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(line);
    if (h) {
      const aStart = Number(h[1]);
      const aCount = h[2] === undefined ? 1 : Number(h[2]);
      const target = aCount === 0 ? aStart : aStart - 1;
      while (pos < target) out.push(old[pos++]!);
      continue;
    }
    if (line === "\\ No newline at end of file") {
      if (last === "+" || last === " ") newNoEol = true;
      continue;
    }
    const op = line[0];
    const text = line.slice(1);
    if (op === " ") {
      assert.equal(old[pos], text, "context line matches");
      out.push(text);
      pos++;
      newNoEol = false;
    } else if (op === "-") {
      assert.equal(old[pos], text, "removed line matches");
      pos++;
      newNoEol = false;
    } else if (op === "+") {
      out.push(text);
      newNoEol = false;
    }
    last = op;
  }
  const tailStart = pos;
  while (pos < old.length) out.push(old[pos++]!);
  if (tailStart < old.length) newNoEol = oldNoEol;
  return out.length === 0 ? "" : out.join("\n") + (newNoEol ? "" : "\n");
}

test("equal texts give no diff", () => {
  assert.equal(unifiedDiff("a\nb\n", "a\nb\n"), "");
});

test("a one-line change has GNU diff's shape", () => {
  const a = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n";
  const b = "one\ntwo\nthree\nfour\nFIVE\nsix\nseven\neight\n";
  assert.equal(
    unifiedDiff(a, b, { oldName: "/etc/x", newName: "/etc/x" }),
    "--- /etc/x\n+++ /etc/x\n@@ -2,7 +2,7 @@\n two\n three\n four\n-five\n+FIVE\n six\n seven\n eight\n",
  );
});

test("a new file diffs against /dev/null as @@ -0,0 +1,N @@", () => {
  assert.equal(unifiedDiff("", "x\ny\n", { oldName: "/dev/null", newName: "f" }), "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+x\n+y\n");
});

test("far-apart changes make two hunks, close ones one", () => {
  const a = Array.from({ length: 30 }, (_, i) => `l${i}`).join("\n") + "\n";
  const two = a.replace("l2\n", "L2\n").replace("l25\n", "L25\n");
  assert.equal((unifiedDiff(a, two).match(/^@@/gm) ?? []).length, 2);
  const one = a.replace("l2\n", "L2\n").replace("l8\n", "L8\n");
  assert.equal((unifiedDiff(a, one).match(/^@@/gm) ?? []).length, 1);
});

test("a missing final newline is shown", () => {
  const d = unifiedDiff("a\nb\n", "a\nb");
  assert.match(d, /-b\n\+b\n\\ No newline at end of file\n$/);
});

test("a change next to an empty side: a line added to an empty file, a file emptied", () => {
  assert.equal(unifiedDiff("", "x\n"), "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n");
  assert.equal(unifiedDiff("x\ny\n", ""), "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n");
});

test("a line inserted at the top numbers the empty old side from the line before it (GNU: -0,0)", () => {
  const a = Array.from({ length: 10 }, (_, i) => `l${i}`).join("\n") + "\n";
  assert.match(unifiedDiff(a, "new\n" + a), /^@@ -1,3 \+1,4 @@$/m);
  assert.equal(unifiedDiff("a\n", "a\nb\n", { context: 0 }), "--- a\n+++ b\n@@ -1,0 +2 @@\n+b\n");
});

test("property: applying the diff to the old text gives the new text", () => {
  const lineArb = fc.constantFrom("a", "b", "c", "d", "", "x y");
  const textArb = fc.tuple(fc.array(lineArb, { maxLength: 25 }), fc.boolean()).map(([ls, eol]) => (ls.length ? ls.join("\n") + (eol ? "\n" : "") : ""));
  fc.assert(
    fc.property(textArb, textArb, (a, b) => {
      assert.equal(applyPatch(a, unifiedDiff(a, b)), b);
    }),
    { numRuns: 400 },
  );
});

test("secret diffs show *** only", () => {
  const d = maskedDiff("/etc/keepalived/keepalived.conf", true);
  assert.match(d, /\*\*\*/);
  assert.doesNotMatch(d, /auth_pass/);
});
