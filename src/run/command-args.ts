// A playbook's `command:` and `shell:` (and their `unless:`) as Commands, with `{{ }}` values
// that can never become shell syntax (issue 8):
//
// - `command:` runs WITHOUT a shell (Ansible's `command`). A string is split into words the way
//   sh splits a simple command ('...', "...", \ work), but with no expansion at all; text that only
//   a shell understands (| ; & < > ( ) $ ` * ? newline, a leading # or ~) is refused at load with
//   its location. A `{{ }}` value always lands inside one word, whatever it holds; a `{{ list }}`
//   standing alone as a whole word gives one word per item. A list is argv as written.
// - `shell:` is the visible opt-in to sh (Ansible's `shell`): the playbook's own text is code, and
//   each `{{ }}` value is still inserted as quoted words, never as code. A value inside quotes in
//   the text is refused (it would be quoted twice).
//
// The generic `interpolate` (src/plan/expr.ts) must not touch these strings first: it would splice
// values as text. `interpolateArgs` leaves them alone; `toCommand` evaluates each value itself.
import { CommandError, shellTemplate, splitWords, type Command, type Hole, type WordsError } from "../command/index.js";
import { evaluate, interpolate, show, templateParts, WILDCARD, type Vars } from "../plan/expr.js";

export type CommandKind = "argv" | "shell";

/** The ops whose `cmd` and `unless` are command templates, and how they run. */
export const COMMAND_OPS: Record<string, CommandKind> = { command: "argv", shell: "shell" };

/** Fields of a command op's object form that hold command templates. */
const TEMPLATE_FIELDS = ["cmd", "unless"] as const;

/** Interpolate a task's arguments, except the command templates of `command:` and `shell:`. */
export function interpolateArgs(op: string, args: unknown, vars: Vars): unknown {
  if (!(op in COMMAND_OPS)) return interpolate(args, vars);
  if (typeof args === "string" || Array.isArray(args) || !args || typeof args !== "object") return args;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = (TEMPLATE_FIELDS as readonly string[]).includes(k) ? v : interpolate(v, vars);
  return out;
}

export class CommandTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandTemplateError";
  }
}

/** True when a value is (or holds) a fact not known yet (the needs pass, before facts). */
function unknownYet(v: unknown): boolean {
  return v === WILDCARD || (Array.isArray(v) && v.some(unknownYet));
}

function located(source: string, literals: string[], e: WordsError): string {
  // The offset within the whole source text: literals before it, and the `{{ }}` between them.
  const { exprs } = templateParts(source);
  let at = 0;
  for (let i = 0; i < e.part; i++) at += literals[i]!.length + `{{${exprs[i]}}}`.length;
  return `${e.message} (at character ${at + e.offset + 1} of ${JSON.stringify(source)})`;
}

/**
 * One command template with its values: `argv` (no shell) or `shell`. `onUnknown` is called when
 * a value is a fact not known yet (WILDCARD), e.g. to refuse it in a guard.
 */
export function toCommand(kind: CommandKind, source: string | readonly string[], vars: Vars, onUnknown?: (expr: string) => void): Command {
  const value = (expr: string): unknown => {
    const v = evaluate(expr, vars);
    if (unknownYet(v)) onUnknown?.(expr.trim());
    return v;
  };
  if (Array.isArray(source)) {
    if (kind === "shell") throw new CommandTemplateError("shell: takes one string of shell text, not a list");
    // argv as written: each item is one word, a lone `{{ list }}` item one word per element.
    const words: string[] = [];
    for (const item of source as readonly string[]) {
      const { literals, exprs } = templateParts(item);
      const r = splitWordsOfItem(literals, exprs.map(value));
      words.push(...r);
    }
    if (words.length === 0) throw new CommandTemplateError("the command is empty");
    return { argv: words };
  }
  const text = source as string;
  const { literals, exprs } = templateParts(text);
  const values = exprs.map(value);
  if (kind === "shell") {
    const r = shellTemplate(literals, values.map((v) => (isScalarList(v) ? v.map(show) : show(v))));
    if ("error" in r) throw new CommandTemplateError(located(text, literals, r.error));
    if (r.script.shell.trim() === "") throw new CommandTemplateError("the command is empty");
    return r.script;
  }
  const holes: Hole[] = values.map((v) => (isScalarList(v) ? { text: show(v), list: v.map(show) } : { text: show(v) }));
  const r = splitWords(literals, holes);
  if ("error" in r) throw new CommandTemplateError(`${located(text, literals, r.error)}, and no shell runs here (shell: is for that)`);
  if (r.words.length === 0) throw new CommandTemplateError("the command is empty");
  return { argv: r.words };
}

function isScalarList(v: unknown): v is unknown[] {
  return Array.isArray(v) && v.every((x) => x === null || typeof x !== "object");
}

/** One item of an argv list: exactly its text (no word splitting), or a lone list's elements. */
function splitWordsOfItem(literals: string[], values: unknown[]): string[] {
  if (values.length === 1 && literals[0]!.trim() === "" && literals[1]!.trim() === "" && isScalarList(values[0])) return values[0].map(show);
  let s = literals[0]!;
  values.forEach((v, i) => {
    s += show(v) + literals[i + 1]!;
  });
  return [s];
}

/**
 * Load-time check of a `command:` / `shell:` task's templates (every name a wildcard): shell
 * syntax in a `command:`, a value inside quotes in a `shell:`. Returns [path under the op, message].
 */
export function commandArgsProblems(op: string, args: unknown): [(string | number)[], string][] {
  const kind = COMMAND_OPS[op];
  if (!kind) return [];
  const wild = new Proxy({}, { has: () => true, get: () => WILDCARD, getOwnPropertyDescriptor: () => ({ value: WILDCARD, configurable: true, enumerable: true, writable: false }) }) as Vars;
  const out: [(string | number)[], string][] = [];
  const check = (path: (string | number)[], src: unknown) => {
    if (typeof src !== "string" && !(Array.isArray(src) && src.every((x) => typeof x === "string"))) return; // the schema reports it
    try {
      toCommand(kind, src as string | string[], wild);
    } catch (e) {
      if (e instanceof CommandTemplateError || e instanceof CommandError) out.push([path, e.message]);
      // Expression errors are reported per host, with the values known.
    }
  };
  if (typeof args === "string" || Array.isArray(args)) check([], args);
  else if (args && typeof args === "object") for (const f of TEMPLATE_FIELDS) if (f in args) check([f], (args as Record<string, unknown>)[f]);
  return out;
}
