// The addon loader's search and its errors, without loading the addon.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { ADDON_FILE, addonCandidates, loadAddon } from "../../../../src/daemon/native/index.js";
import { LvsctlError } from "../../../../src/errors/index.js";

test("candidates: $LVSD_NATIVE_ADDON first, then next to the running script, then the source build", () => {
  const c = addonCandidates({ LVSD_NATIVE_ADDON: "/opt/lvsd/custom.node" });
  assert.equal(c[0], "/opt/lvsd/custom.node");
  assert.ok(c.some((p) => p.endsWith(join("native", "build", "Release", ADDON_FILE))));
  if (process.argv[1]) assert.equal(c[1], join(dirname(resolve(process.argv[1])), ADDON_FILE)); // the bundle's directory
  assert.equal(new Set(c).size, c.length);
});

test("a missing addon is a LvsctlError that says how to build it", () => {
  assert.throws(
    () => loadAddon("/nonexistent/dir/lvsd_socket.node"),
    (e: unknown) => e instanceof LvsctlError && e.code === "NATIVE_ADDON_MISSING" && /npm run build:native/.test(e.hint ?? ""),
  );
});
