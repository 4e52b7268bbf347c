// Property-based fuzzing of the inventory reader: random YAML, and the example inventories
// mutated (keys deleted, types swapped, lines duplicated, truncated, random bytes). The reader
// must never throw, and every diagnostic must point inside the file it names (or nowhere, for
// whole-file problems). Bounded: a few hundred runs per property, a few seconds in all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parse as parseYamlText, stringify } from "yaml";
import { parseInventory, type LoadResult } from "../../../src/inventory/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const examples = readdirSync(`${root}inventory`)
  .filter((f) => f.endsWith(".yml"))
  .map((f) => readFileSync(`${root}inventory/${f}`, "utf8"));
const ansibleText = readFileSync(`${root}inventory/ansible/hosts.yml`, "utf8");
// FUZZ_RUNS=5000 for a deeper search; the default keeps the unit suite fast.
const RUNS = Number(process.env["FUZZ_RUNS"] ?? 250);

/** The invariant: no throw (checked by calling), locations inside their file, sane fields. */
function check(texts: Record<string, string>, r: LoadResult): void {
  for (const d of r.diagnostics) {
    assert.match(d.code, /^LVS\d{3}$/);
    assert.ok(d.message.length > 0);
    assert.ok(d.severity === "error" || d.severity === "warning");
    if (!d.location) continue;
    const text = texts[d.location.file];
    assert.ok(text !== undefined, `diagnostic in unknown file ${d.location.file}`);
    const lines = text.split("\n");
    assert.ok(Number.isInteger(d.location.line) && d.location.line >= 1 && d.location.line <= lines.length, `line ${d.location.line} of ${lines.length}: ${d.message}`);
    const len = lines[d.location.line - 1]!.length;
    assert.ok(Number.isInteger(d.location.col) && d.location.col >= 1 && d.location.col <= len + 1, `col ${d.location.col} of ${len + 1}: ${d.message}`);
  }
  if (r.ok) {
    assert.equal(r.diagnostics.filter((d) => d.severity === "error").length, 0);
    JSON.stringify(r.cluster);
  } else {
    assert.ok(r.diagnostics.some((d) => d.severity === "error"), "a failed load says why");
  }
}

function run(text: string, ansible = ansibleText): void {
  const includes = { "ansible/hosts.yml": ansible };
  const r = parseInventory(text, "fuzz.yml", { includes, env: {} });
  check({ "fuzz.yml": text, "ansible/hosts.yml": ansible }, r);
}

// YAML-ish tokens: enough structure to reach the schema and the rules, enough junk to break them.
const token = fc.constantFrom(
  "hosts:", "groups:", "directors:", "realservers:", "vrrp_instances:", "virtual_servers:", "real_servers:", "address:",
  "virtual_router_id:", "priority:", "members:", "host:", "port:", "vip:", "fwmark:", "lb_kind:", "check:", "type:",
  "ds1", "rs1", "10.77.0.1", "10.77.0.100/24", "fd00::1", "0", "1", "256", "-1", "0.5", "true", "null", "~", "DR", "NAT",
  "\n", "\n  ", "\n    ", "  ", " ", "- ", ": ", "{", "}", "[", "]", ",", "'", '"', "#", "\t", "---", "...", "? ", "&a ", "*a",
  "<<: *a", "!!str ", "!!binary ", "|", ">", "%YAML 1.2\n", "\r\n", "\u00a0", "\u2028", "\ufeff", "__proto__:", "constructor:",
);
const yamlish = fc.array(token, { maxLength: 60 }).map((ts) => ts.join(""));

test("random YAML-like text never crashes the reader", () => {
  fc.assert(fc.property(yamlish, (t) => run(t)), { numRuns: RUNS });
});

test("random strings (any code points) never crash the reader", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (t) => run(t)), { numRuns: RUNS });
});

test("random data written as YAML never crashes the reader", () => {
  const data = fc.dictionary(
    fc.constantFrom("hosts", "groups", "defaults", "vrrp_instances", "virtual_servers", "vrrp_sync_groups", "director", "global_defs", "ansible_inventory", "x"),
    fc.jsonValue({ maxDepth: 4 }),
  );
  fc.assert(fc.property(data, (d) => run(stringify(d))), { numRuns: RUNS });
});

// --- mutations of the examples -----------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v && typeof v === "object") {
    for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
      const p = [...prefix, k];
      out.push(p);
      paths(child as Json, p, out);
    }
  }
  return out;
}

function mutateData(doc: Json, pick: number, kind: number, replacement: Json): Json {
  const copy = structuredClone(doc);
  const all = paths(copy);
  if (all.length === 0) return copy;
  const path = all[pick % all.length]!;
  let parent: Json = copy;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k]!;
  const key = path[path.length - 1]!;
  const obj = parent as Record<string | number, Json>;
  if (kind === 0) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete obj[key];
  } else if (kind === 1) {
    // swap the type: number <-> string, list <-> mapping, anything -> replacement
    const v = obj[key];
    obj[key] = typeof v === "number" ? String(v) : typeof v === "string" ? (Number(v) || 7) : Array.isArray(v) ? { x: v } : v && typeof v === "object" ? [v] : replacement;
  } else {
    obj[key] = replacement;
  }
  return copy;
}

function mutateText(text: string, kind: number, at: number, junk: string): string {
  const lines = text.split("\n");
  const i = at % Math.max(1, lines.length);
  switch (kind) {
    case 0: // truncate
      return text.slice(0, at % (text.length + 1));
    case 1: // duplicate a line: duplicate keys
      return [...lines.slice(0, i + 1), lines[i] ?? "", ...lines.slice(i + 1)].join("\n");
    case 2: // delete a line
      return [...lines.slice(0, i), ...lines.slice(i + 1)].join("\n");
    case 3: // insert random bytes
      return text.slice(0, at % (text.length + 1)) + junk + text.slice(at % (text.length + 1));
    default: // overwrite one character
      return text.slice(0, at % (text.length + 1)) + (junk[0] ?? "") + text.slice((at % (text.length + 1)) + 1);
  }
}

const example = fc.nat({ max: examples.length - 1 }).map((i) => examples[i]!);

test("example inventories with keys deleted, types swapped or values replaced never crash the reader", () => {
  fc.assert(
    fc.property(example, fc.nat(), fc.nat({ max: 2 }), fc.jsonValue({ maxDepth: 2 }), (text, pick, kind, repl) => {
      const doc = parseYamlText(text) as Json;
      run(stringify(mutateData(doc, pick, kind, repl as Json)));
    }),
    { numRuns: RUNS },
  );
});

test("example inventories truncated, with lines duplicated or deleted, or random bytes inserted never crash the reader", () => {
  fc.assert(
    fc.property(example, fc.nat({ max: 4 }), fc.nat(), fc.string({ unit: "binary", maxLength: 8 }), (text, kind, at, junk) => {
      run(mutateText(text, kind, at, junk));
    }),
    { numRuns: RUNS },
  );
});

test("a mutated Ansible inventory never crashes the reader and its problems stay in its own file", () => {
  const main = examples.find((e) => e.includes("ansible_inventory"))!;
  fc.assert(
    fc.property(fc.nat({ max: 4 }), fc.nat(), fc.string({ unit: "binary", maxLength: 8 }), fc.nat(), fc.nat({ max: 2 }), fc.jsonValue({ maxDepth: 2 }), (kind, at, junk, pick, dkind, repl) => {
      run(main, mutateText(ansibleText, kind, at, junk));
      run(main, stringify(mutateData(parseYamlText(ansibleText) as Json, pick, dkind, repl as Json)));
    }),
    { numRuns: RUNS },
  );
});
