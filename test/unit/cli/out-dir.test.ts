// The pure half of `render --out`: where each file goes below DIR, or why it may not go there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { outTarget } from "../../../src/cli/out-dir.js";

test("outTarget: an absolute path becomes plain components under the host's directory", () => {
  assert.deepEqual(outTarget("ds1", "/etc/keepalived/keepalived.conf"), { parts: ["ds1", "etc", "keepalived", "keepalived.conf"] });
  assert.deepEqual(outTarget("ds1", "//etc/./sysctl.d//90-lvs.conf"), { parts: ["ds1", "etc", "sysctl.d", "90-lvs.conf"] }, "empty and . components dropped");
});

test("outTarget: '..' anywhere is refused, not resolved", () => {
  for (const p of ["/../../../../tmp/x", "/etc/../../x", "/etc/..", "/a/b/../c"]) {
    const t = outTarget("ds1", p);
    assert.ok("problem" in t, p);
    assert.match(t.problem, /holds "\.\.", which could reach outside the output directory/);
  }
});

test("outTarget: relative paths, NUL, a path naming no file and a host that is not one plain name are refused", () => {
  const problem = (host: string, path: string): string => {
    const t = outTarget(host, path);
    assert.ok("problem" in t, `${host} ${path}`);
    return t.problem;
  };
  assert.match(problem("ds1", "etc/x"), /is not absolute/);
  assert.match(problem("ds1", "/etc/x\0y"), /NUL/);
  assert.match(problem("ds1", "/"), /names no file/);
  assert.match(problem("ds1", "/./"), /names no file/);
  for (const h of ["", ".", "..", "a/b", "/etc", "a\0"]) assert.match(problem(h, "/etc/x"), /is not a plain directory name/, JSON.stringify(h));
});
