#!/usr/bin/env node
// Bundles the director daemon into one CommonJS file for Node 18 (Debian 12's packaged Node):
//   dist/lvsd/lvsd.cjs          the daemon (main thread)
//   dist/lvsd/lvsd-vrrp.cjs     its VRRP worker thread (runtime/worker.ts)
//   dist/lvsd/lvsd_socket.node  the native addon, loaded by explicit path beside the bundle
//   dist/lvsd/lvsd-bundle.json  {"addonAbiVersion": N}: the addon ABI the bundled lvsd expects
//                               (src/daemon/native/abi.ts), which deploy compares with the addon's
//                               ELF note before it touches a director
// Usage: node scripts/build-lvsd.mjs [--outdir DIR]   (run `npm run build:native` first)
// Files are written to a temporary name and renamed, so a daemon or test starting at the same
// moment never loads a half-written bundle.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--outdir");
const outdir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, "dist", "lvsd");
mkdirSync(outdir, { recursive: true });

function writeAtomic(file, data, mode = 0o755) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

// Two bundles: the daemon, and the VRRP worker it starts (runtime/worker.ts), which needs neither
// zod nor the HTTP server, so its V8 isolate stays small.
const WORKER = "lvsd-vrrp.cjs";
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node18",
  // ESM's import.meta.url does not exist in CommonJS: give every module the bundle's own URL,
  // which is what the worker must re-enter and where the addon sits.
  define: { "import.meta.url": "__lvsd_import_meta_url", __LVSD_WORKER_BUNDLE__: JSON.stringify(WORKER) },
  banner: { js: `#!/usr/bin/env node\nconst __lvsd_import_meta_url = require("url").pathToFileURL(__filename).href;` },
  // source checkouts only (tsx in the worker); never reached in the bundle
  external: ["tsx/esm/api"],
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // worker.ts's import.meta.resolve("tsx/esm/api") serves source checkouts only (entry *.ts)
  logOverride: { "empty-import-meta": "silent" },
  metafile: true,
  write: false,
};
// The ABI the bundled lvsd expects, from the module the bundle is built from, and the addon's own
// (its ELF note), read by the controller's reader (src/plan/ops/elf.ts): a stale addon (native/
// built before the ABI changed) is refused here rather than packed, since lvsd would crash-loop on it.
const abiProbe = await build({
  stdin: { contents: 'export { ADDON_ABI_VERSION } from "./src/daemon/native/abi.ts"; export { addonAbiVersion } from "./src/plan/ops/elf.ts";', resolveDir: root, loader: "ts" },
  bundle: true, platform: "node", format: "esm", write: false, logLevel: "warning",
});
const { ADDON_ABI_VERSION, addonAbiVersion } = await import(`data:text/javascript;base64,${Buffer.from(abiProbe.outputFiles[0].contents).toString("base64")}`);
const addon = join(root, "native/build/Release/lvsd_socket.node");
if (existsSync(addon)) {
  const found = addonAbiVersion(readFileSync(addon));
  if (found !== ADDON_ABI_VERSION) {
    console.error(`build-lvsd: ${addon} has ${found === undefined ? "no ABI version note" : `ABI version ${found}`}, and lvsd expects ${ADDON_ABI_VERSION}: lvsd would refuse it and crash-loop; rebuild it with \`npm run build:native\`, then run this again`);
    process.exit(1);
  }
}

const result = await build({ ...common, entryPoints: [join(root, "src/daemon/main.ts")], outfile: join(outdir, "lvsd.cjs") });
const worker = await build({ ...common, entryPoints: [join(root, "src/daemon/runtime/worker.ts")], outfile: join(outdir, WORKER) });
// the worker first: a new main bundle must never start an old worker bundle's protocol
for (const f of [...worker.outputFiles, ...result.outputFiles]) writeAtomic(f.path, f.contents);

if (existsSync(addon)) {
  copyFileSync(addon, join(outdir, `lvsd_socket.node.${process.pid}.tmp`));
  renameSync(join(outdir, `lvsd_socket.node.${process.pid}.tmp`), join(outdir, "lvsd_socket.node"));
}
else console.warn(`build-lvsd: ${addon} is missing; run \`npm run build:native\` (the bundle needs it beside it)`);
writeAtomic(join(outdir, "lvsd-bundle.json"), `${JSON.stringify({ addonAbiVersion: ADDON_ABI_VERSION })}\n`, 0o644);

const kib = (f) => (statSync(join(outdir, f)).size / 1024).toFixed(0);
console.log(
  `build-lvsd: ${outdir}/lvsd.cjs ${kib("lvsd.cjs")} KiB (${Object.keys(result.metafile.inputs).length} modules), ` +
    `${WORKER} ${kib(WORKER)} KiB (${Object.keys(worker.metafile.inputs).length} modules)` +
    `${existsSync(join(outdir, "lvsd_socket.node")) ? ", lvsd_socket.node copied" : ""}`,
);
