// A command is a small core plus its option table; main.ts parses argv against the table, so
// `--help` for every command is generated from the same data that parsing uses.
import { isAbsolute, relative } from "node:path";
import { parseArgs } from "node:util";
import { ExitCode, LvsctlError } from "../errors/index.js";
import type { CliIo } from "./io.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Longer help text, after the options. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Names of the positional arguments, for the usage line and arity checks. */
  positionals: { name: string; required: boolean }[];
  /** The last positional may be repeated (`FILE [FILE ...]`). */
  variadic?: boolean;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  options.help = { type: "boolean", short: "h" };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new LvsctlError("LVS001", `${spec.name}: ${(e as Error).message.replace(/\. To specify.*$/s, "")}`, {
      hint: `run \`lvsctl ${spec.name} --help\` for the options it takes`,
      exitCode: ExitCode.Invalid,
    });
  }
  if (parsed.values.help) return { values: parsed.values, positionals: parsed.positionals };
  const required = spec.positionals.filter((p) => p.required).length;
  if (parsed.positionals.length < required) {
    const missing = spec.positionals.slice(parsed.positionals.length).filter((p) => p.required).map((p) => p.name.toUpperCase());
    throw new LvsctlError("LVS002", `${spec.name}: missing ${missing.join(" and ")}`, {
      hint: `usage: ${spec.usage}`,
    });
  }
  if (!spec.variadic && parsed.positionals.length > spec.positionals.length) {
    const extra = parsed.positionals.slice(spec.positionals.length);
    throw new LvsctlError("LVS003", `${spec.name}: unexpected argument ${extra.map((a) => `'${a}'`).join(", ")}`, {
      hint: `usage: ${spec.usage}`,
    });
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`lvsctl ${spec.name}: ${spec.summary}`, "", `usage: ${spec.usage}`, "", "options:"];
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`,
    o.help,
  ]);
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}${r}`);
  if (spec.details) lines.push("", spec.details.trimEnd());
  return lines.join("\n") + "\n";
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

export function strs(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A path as the user should see it: relative to where they stand when below it, as compilers do. */
export function shownPath(cwd: string, file: string): string {
  const r = relative(cwd, file);
  return r && !r.startsWith("..") && !isAbsolute(r) ? r : file;
}
