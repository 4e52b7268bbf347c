#!/usr/bin/env node
// Runs the compiled CLI when it exists (npm run build), else the TypeScript source through tsx.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist/src/cli/main.js");
let entry = compiled;
if (!existsSync(compiled)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = join(root, "src/cli/main.ts");
}
const { cli } = await import(pathToFileURL(entry).href);
await cli();
