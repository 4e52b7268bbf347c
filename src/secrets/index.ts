// Turning a SecretRef from the inventory into its value, at the last moment and only where a
// value is really needed (rendering a file that goes to a host). Everything else keeps the ref.
import { isAbsolute, resolve } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { FileReadRefused, MAX_SECRET_BYTES, readRegularFileSync } from "../inventory/files.js";
import type { SecretRef } from "../inventory/schema.js";

export interface SecretSource {
  env: NodeJS.ProcessEnv;
  /** Relative `file:` references are read from here (the inventory's folder). */
  baseDir: string;
  readFile?: (path: string) => string;
  /**
   * Answers to `{prompt: TEXT}` secrets, keyed by TEXT. The CLI asks them on the terminal before
   * the run starts (see collectPrompts), so resolving stays synchronous.
   */
  answers?: ReadonlyMap<string, string>;
}

/**
 * Every secret value this process has resolved. The CLI masks its error output (LvsctlError
 * messages, internal-error stack traces) with them, whatever code path threw.
 */
const revealed = new Set<string>();

/** Masks every secret value resolved so far in this process (for error output). */
export function maskRevealed(text: string): string {
  return revealed.size === 0 ? text : maskSecrets(text, [...revealed]);
}

export function resolveSecret(ref: SecretRef, src: SecretSource): string {
  const v = resolveSecretValue(ref, src);
  if (v.length > 0) revealed.add(v);
  return v;
}

function resolveSecretValue(ref: SecretRef, src: SecretSource): string {
  if (typeof ref === "string") return ref;
  if ("env" in ref) {
    const v = src.env[ref.env];
    if (v === undefined || v === "") {
      throw new LvsctlError("LVS212", `the secret's environment variable ${ref.env} is not set`, {
        hint: `export ${ref.env}=... before running lvsctl, or point the inventory at a file with {file: PATH}`,
      });
    }
    return v;
  }
  if ("prompt" in ref) {
    const v = src.answers?.get(ref.prompt);
    if (v === undefined) {
      throw new LvsctlError("LVS216", `the secret asks "${ref.prompt}" on the terminal, and no answer was given`, {
        hint: "run lvsctl from a terminal so it can ask, or point the inventory at {env: NAME} or {file: PATH}",
      });
    }
    return v;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(src.baseDir, ref.file);
  try {
    return (src.readFile ?? ((p) => readRegularFileSync(p, MAX_SECRET_BYTES)))(path).replace(/\r?\n$/, "");
  } catch (e) {
    // The reason, never the error's own text: that could quote what was read.
    const why = e instanceof FileReadRefused ? e.message : ((e as NodeJS.ErrnoException).code ?? "unreadable");
    throw new LvsctlError("LVS213", `cannot read the secret file ${ref.file}: ${why}`, {
      hint: "create the file (mode 0600) or fix the path; relative paths are read from the inventory's folder",
      cause: e,
    });
  }
}

/** Collects every secret value handed out, so output can be masked with them. */
export class SecretResolver {
  readonly seen = new Set<string>();
  constructor(private readonly src: SecretSource) {}
  resolve = (ref: SecretRef): string => {
    const v = resolveSecret(ref, this.src);
    if (typeof ref !== "string" || v.length > 0) this.seen.add(v);
    return v;
  };
  mask = (text: string): string => maskSecrets(text, [...this.seen]);
}

/**
 * Replaces every occurrence of each secret value with ***, longest first (for diffs and output).
 * Also the value as it reads inside a JSON string (lvsd.json, --json output of a file's text):
 * a secret with `"` or `\` is escaped there, and would not match itself.
 */
export function maskSecrets(content: string, secrets: readonly string[]): string {
  let out = content;
  const forms = secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  for (const s of [...new Set(forms)].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join("***");
  }
  return out;
}

export { collectPrompts, type PromptNeed } from "./prompts.js";
