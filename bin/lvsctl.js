#!/usr/bin/env node
// In a checkout (src/ and tsx present) run the TypeScript source, so what runs is what was edited;
// an installed package (dist/ only) runs the compiled CLI.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src/cli/main.ts");
let entry = join(root, "dist/src/cli/main.js");
if (existsSync(source) && existsSync(join(root, "node_modules/tsx"))) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = source;
}
const { cli } = await import(pathToFileURL(entry).href);
await cli();
