// Golden files pin every rendered file of every fixture and example inventory, for both director
// backends: test/golden/<case>/<host>/<file name>, plus FILES.txt with each file's target path,
// mode, validate command and secret flag. UPDATE_GOLDEN=1 rewrites them (and removes stale ones);
// otherwise any difference fails, with the first differing line shown.
import { showArgv } from "../../../src/command/index.js";
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { renderAll, type RenderedFile } from "../../../src/render/index.js";
import { fixtureCases, inventoryCases, repoRoot, type RenderCase } from "../../fixtures/render/cases.js";
import { fakeSecret } from "../../fixtures/render/index.js";

const goldenRoot = join(repoRoot, "test/golden");
const update = process.env.UPDATE_GOLDEN === "1";

/** Both backends' director files, the shared ones once, in a stable order. */
export function renderBoth(c: RenderCase): Map<string, RenderedFile[]> {
  const out = new Map<string, RenderedFile[]>();
  for (const backend of ["keepalived", "lvsd"] as const) {
    for (const [host, files] of renderAll(c.cluster, { resolveSecret: fakeSecret, backend })) {
      const list = out.get(host) ?? [];
      for (const f of files) if (!list.some((x) => x.path === f.path)) list.push(f);
      out.set(host, list);
    }
  }
  return out;
}

function index(files: RenderedFile[]): string {
  return files
    .map((f) => `${f.path} mode=${f.mode.toString(8).padStart(4, "0")} owner=${f.owner ?? "-"} secret=${f.secret ? "yes" : "no"}${f.validate ? ` validate=${showArgv(f.validate)}` : ""}\n`)
    .join("");
}

function firstDifference(want: string, got: string): string {
  const a = want.split("\n");
  const b = got.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  golden:   ${JSON.stringify(a[i])}\n  rendered: ${JSON.stringify(b[i])}`;
  }
  return "(no line differs)";
}

function checkCase(c: RenderCase): void {
  const dir = join(goldenRoot, c.name);
  const rendered = renderBoth(c);
  const expected = new Map<string, string>(); // relative path -> content
  for (const [host, files] of rendered) {
    if (files.length === 0) continue;
    expected.set(join(host, "FILES.txt"), index(files));
    for (const f of files) {
      const rel = join(host, basename(f.path));
      assert.ok(!expected.has(rel), `two files of ${host} share the name ${basename(f.path)}`);
      expected.set(rel, f.content);
    }
  }
  if (update) {
    rmSync(dir, { recursive: true, force: true });
    for (const [rel, content] of expected) {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    return;
  }
  assert.ok(existsSync(dir), `no golden files for ${c.name}: run UPDATE_GOLDEN=1 to create them, then review and commit`);
  for (const [rel, content] of expected) {
    const file = join(dir, rel);
    assert.ok(existsSync(file), `golden file ${c.name}/${rel} is missing (UPDATE_GOLDEN=1 creates it)`);
    const want = readFileSync(file, "utf8");
    if (want !== content) assert.fail(`${c.name}/${rel} differs from its golden file at ${firstDifference(want, content)}\n(UPDATE_GOLDEN=1 rewrites it if the change is wanted)`);
  }
  const onDisk = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
  const stale = onDisk.filter((rel) => !expected.has(rel));
  assert.deepEqual(stale, [], `golden files no longer rendered for ${c.name} (UPDATE_GOLDEN=1 removes them)`);
}

for (const c of fixtureCases()) {
  test(`golden: fixture ${c.name}`, () => checkCase(c));
}

test("golden: every example inventory", async (t) => {
  const { cases, loaderMissing, failures } = await inventoryCases();
  if (loaderMissing) return t.skip("inventory/*.yml exist but loadInventory is not there yet");
  assert.deepEqual(failures, [], "example inventories that do not load");
  if (cases.length === 0) return t.skip("no inventory/*.yml yet");
  for (const c of cases) await t.test(c.name, () => checkCase(c));
});
