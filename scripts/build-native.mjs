#!/usr/bin/env node
// Builds lvsd's native addon (native/ -> native/build/Release/lvsd_socket.node) with node-gyp.
// node-gyp needs Node's headers; with no network to download them, point it at the headers
// installed next to this node (…/include/node), which every packaged Node ships. The addon
// uses Node-API 8 only, so headers of any Node version >= 18 build a binary for all of them.
// Usage: node scripts/build-native.mjs [--if-needed]
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "native/build/Release/lvsd_socket.node");
const sources = ["native/lvsd_socket.c", "native/binding.gyp"].map((p) => join(root, p));
if (process.argv.includes("--if-needed") && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (sources.every((s) => !existsSync(s) || statSync(s).mtimeMs <= built)) process.exit(0);
}
const args = [join(root, "node_modules/node-gyp/bin/node-gyp.js"), "rebuild", "--directory", join(root, "native")];
const prefix = dirname(dirname(process.execPath));
for (const dir of [process.env.npm_config_nodedir, prefix, "/usr", "/usr/local"]) {
  if (dir && existsSync(join(dir, "include/node/node_api.h"))) {
    args.push(`--nodedir=${dir}`);
    break;
  }
}
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root });
if (r.status !== 0) {
  console.error("build-native: node-gyp failed; it needs make, a C compiler and Node's headers (include/node/node_api.h)");
}
process.exit(r.status ?? 1);
