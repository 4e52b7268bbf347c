// Inventories whose shape made validation explode: group or jump graphs walked once per path
// (exponential in a ladder of diamonds, a stack overflow in a long chain), and duplicate keys,
// found now by our own one-pass check instead of yaml's quadratic one. Speed itself is measured
// by bench/validate, not here; these cases finish at once or hang (the timeout only stops a hang).
import { test } from "node:test";
import assert from "node:assert/strict";
import { findCycles } from "../../../src/inventory/validate.js";
import { BASE, lines } from "./helpers.js";

const HANG = { timeout: 20_000 };

test("a ladder of 40 diamond-shaped group nestings validates (no walk per path)", HANG, () => {
  // g0 has children a1, b1; a1 and b1 both have children a2, b2; ... 2^40 paths from g0. The
  // lines go on BASE's groups: block.
  const kids = (i: number) => (i <= 40 ? `[a${i}, b${i}]` : "[]");
  let y = `${BASE}  g0: { children: ${kids(1)} }\n`;
  for (let i = 1; i <= 40; i++) y += `  a${i}: { children: ${kids(i + 1)} }\n  b${i}: { children: ${kids(i + 1)} }\n`;
  assert.deepEqual(lines(y), []);
});

test("a loop through a deep ladder of groups is reported once, at the child that closes it", HANG, () => {
  let y = BASE;
  for (let i = 1; i <= 30; i++) y += `  a${i}: { children: [a${i + 1}, b${i + 1}] }\n  b${i}: { children: [a${i + 1}, b${i + 1}] }\n`;
  y += "  a31: { children: [a1] }\n  b31: {}\n";
  const got = lines(y).filter((l) => l.includes("LVS203"));
  assert.equal(got.length, 1, got.join("\n"));
  assert.match(got[0]!, /groups contain each other: a1 -> a2 -> .* -> a31 -> a1/);
});

test("jump hosts: a loop at the end of a ladder of two-hop choices is found once", HANG, () => {
  let y = "hosts:\n";
  for (let i = 0; i < 40; i++) y += `  a${i}: { address: 10.0.0.${i}, jump: [a${i + 1}, b${i + 1}] }\n  b${i}: { address: 10.0.1.${i}, jump: [a${i + 1}, b${i + 1}] }\n`;
  y += "  a40: { address: 10.0.2.1, jump: a39 }\n  b40: { address: 10.0.2.2 }\n";
  assert.deepEqual(
    lines(y).filter((l) => l.includes("LVS205")),
    ["inv.yml:80:36: error LVS205: jump hosts form a loop: a39 -> a40 -> a39"],
  );
});

test("findCycles: a chain of 100,000 nodes is walked without recursion; each cycle once", () => {
  const n = 100_000;
  const next = (x: string) => {
    const i = Number(x.slice(1));
    return i + 1 < n ? [`n${i + 1}`] : ["n0"];
  };
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  const found = findCycles(nodes, next);
  assert.equal(found.length, 1);
  assert.equal(found[0]!.cycle.length, n + 1);
  assert.equal(found[0]!.from, `n${n - 1}`);
  assert.deepEqual(findCycles(["a", "b"], (x) => (x === "a" ? ["b"] : ["a"])).map((c) => c.cycle), [["a", "b", "a"]]);
  assert.deepEqual(findCycles(["a", "b"], (x) => (x === "a" ? ["b"] : [])), []);
});

test("duplicate keys: found in nested and flow mappings, at the repeated key; 1 and \"1\" differ", () => {
  const y = `${BASE}  extra: { vars: { x: 1, y: 2, x: 3 } }\n`;
  assert.deepEqual(lines(y).filter((l) => l.includes("LVS101")), ['inv.yml:9:32: error LVS101: duplicate key "x": a key may appear only once in a mapping']);
  const notDup = `${BASE}  extra: { vars: { 1: a, "1": b } }\n`;
  assert.deepEqual(lines(notDup).filter((l) => l.includes("LVS101")), []);
});
