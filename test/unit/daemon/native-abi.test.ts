// The addon's ABI version lives in two places that cannot share a file: native/lvsd_socket.c
// (LVSD_ABI_VERSION: the exported abiVersion and the ELF note) and src/daemon/native/abi.ts (what
// lvsd expects, written into the bundle's manifest by scripts/build-lvsd.mjs). They must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ADDON_ABI_VERSION } from "../../../src/daemon/native/abi.js";
import { addonAbiVersion } from "../../../src/plan/ops/elf.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const source = readFileSync(`${root}native/lvsd_socket.c`, "utf8");

test("native/lvsd_socket.c's LVSD_ABI_VERSION is src/daemon/native/abi.ts's ADDON_ABI_VERSION, and both the export and the note use it", () => {
  const m = /^#define LVSD_ABI_VERSION (\d+)\b/m.exec(source);
  assert.ok(m, "lvsd_socket.c defines LVSD_ABI_VERSION");
  assert.equal(Number(m[1]), ADDON_ABI_VERSION, "bump native/lvsd_socket.c and src/daemon/native/abi.ts together");
  assert.match(source, /napi_create_uint32\(env, LVSD_ABI_VERSION, &ver\);\s*napi_set_named_property\(env, exports, "abiVersion", ver\)/);
  assert.match(source, /lvsd_abi_note __attribute__\(\(used, section\("\.note\.lvsd\.abi"\), aligned\(4\)\)\) = \{5, 4, LVSD_NOTE_ABI, "lvsd", LVSD_ABI_VERSION\};/);
  assert.match(source, /^#define LVSD_NOTE_ABI 1\b/m);
});

const built = `${root}native/build/Release/lvsd_socket.node`;
// `node scripts/test.mjs` (all or lab) builds it first; `unit` does not, so a build older than its
// source (e.g. after a rebase that touched it) is skipped with a reason rather than judged.
const skip = !existsSync(built)
  ? "native/build/Release/lvsd_socket.node is not built (npm run build:native)"
  : statSync(built).mtimeMs < statSync(`${root}native/lvsd_socket.c`).mtimeMs
    ? "native/build/Release/lvsd_socket.node is older than native/lvsd_socket.c (npm run build:native)"
    : false;
test("the built addon's ELF note carries ADDON_ABI_VERSION", { skip }, () => {
  const found = addonAbiVersion(readFileSync(built));
  // A stale build (from before the note, or of another version) is what deploy refuses.
  assert.equal(found, ADDON_ABI_VERSION, `${built}: rebuild it with \`npm run build:native\``);
});
