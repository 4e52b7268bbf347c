// The benches run lvsctl as compiled JavaScript, as `npm run build` would give it, so that tsx's
// on-the-fly compile is not what they measure: src/**.ts -> BUILD/src/**.js (ESM, one file per
// module, as tsc emits), plus an entry BUILD/lvsctl.js. Returns the entry's path.
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function compileCli(buildDir: string): Promise<string> {
  rmSync(buildDir, { recursive: true, force: true });
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".ts") && !n.endsWith(".d.ts")) files.push(p);
    }
  };
  walk(join(root, "src"));
  await build({ entryPoints: files, outdir: join(buildDir, "src"), outbase: join(root, "src"), format: "esm", platform: "node", target: "node20", bundle: false, logLevel: "error" });
  writeFileSync(join(buildDir, "package.json"), JSON.stringify({ type: "module" }) + "\n");
  const entry = join(buildDir, "lvsctl.js");
  writeFileSync(entry, `import { cli } from "./src/cli/main.js";\nawait cli();\n`);
  return entry;
}
