#!/usr/bin/env node
// The one test command (README and .ci/run both call `npm test`).
// 1. type-check the whole tree, 2. build the native addon if a compiler is there,
// 3. run unit tests, then lab tests (which skip, saying why, when not root).
// Usage: node scripts/test.mjs [unit|lab] [-- extra node --test flags]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const which = process.argv[2] ?? "all";
const root = new URL("..", import.meta.url).pathname;

function find(dir) {
  const out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  return r.status ?? 1;
}

let status = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"]);
if (status !== 0) { console.error("test: type check failed"); process.exit(status); }

if (which !== "unit") {
  // The daemon's native addon; lab tests need it. Unit tests never load it.
  if (run(process.execPath, [join(root, "scripts/build-native.mjs"), "--if-needed"]) !== 0) {
    console.error("test: the native addon did not build; lab tests that need it will fail");
  }
}

const files = [];
if (which === "all" || which === "unit") files.push(...find(join(root, "test/unit")), ...find(join(root, "bench")));
if (which === "all" || which === "lab") files.push(...find(join(root, "test/lab")));
if (files.length === 0) { console.error("test: no test files found"); process.exit(1); }

// Lab tests share one lab (namespaces, containers): run files one at a time there.
const concurrency = which === "unit" ? [] : ["--test-concurrency=1"];
// spec for people, TAP to a file for the closing count line that CI reads.
const tapDir = mkdtempSync(join(tmpdir(), "lvsctl-test-"));
const tap = join(tapDir, "report.tap");
status = run(process.execPath, [
  "--import", "tsx", "--test", ...concurrency,
  "--test-reporter=spec", "--test-reporter-destination=stdout",
  "--test-reporter=tap", `--test-reporter-destination=${tap}`,
  ...files,
]);
let counts = {};
try {
  for (const m of readFileSync(tap, "utf8").matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
} catch { /* no report: the runner itself failed */ }
rmSync(tapDir, { recursive: true, force: true });
const failed = (counts.fail ?? 0) + (counts.cancelled ?? 0);
console.log(`\ntests: ${counts.pass ?? 0} passed, ${failed} failed, ${counts.skipped ?? 0} skipped`);
process.exit(status);
