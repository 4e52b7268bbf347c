// Remote commands as values (STYLE.md habit 9): the one place that knows POSIX sh quoting.
// Everything lvsctl runs on a host is a Command: an argv (words, each quoted when rendered) or a
// Shell script. A Shell is built only by the `sh` tagged template, where every interpolated value
// becomes quoted words and only the template's literal text is code, or by `shellCode()`, the
// explicit opt-in for text that IS shell code (our constants, a playbook's `shell:` task). So no
// value from an inventory, a playbook's variables or a host can become shell syntax: it is always
// whole words, and a word is never split or expanded.
//
// Invariants (test/unit/command/quote.test.ts checks them with a real /bin/sh):
// - for every list of words without NUL, `sh -c "printf '%s\0' RENDERED"` prints back the words;
// - the first word of an argv is never read as an assignment or a reserved word.
//
// The line is read by the login user's shell (sshd runs `$SHELL -c LINE`): a POSIX shell (dash,
// bash, ksh) or zsh; words zsh would expand (a leading `=`) are quoted too.

/** A shell script or fragment; the only way to make one is `sh`...`` or `shellCode()`. */
export class Shell {
  readonly shell: string;
  // A private member makes the class nominal: a plain `{ shell: "..." }` is not a Shell.
  readonly #brand = true;
  private constructor(code: string) {
    this.shell = code;
    void this.#brand;
  }
  /** @internal Use `sh` or `shellCode`. */
  static of(code: string): Shell {
    return new Shell(code);
  }
  /** Fragments joined by a separator that is code too ("\n", "; ", " && "). */
  static join(parts: readonly Shell[], sep: string): Shell {
    return new Shell(parts.map((p) => p.shell).join(sep));
  }
  toString(): string {
    return this.shell;
  }
}

/** argv words, quoted one by one when rendered: the default for everything. */
export interface Argv {
  readonly argv: readonly string[];
}

/** A remote command as a value. */
export type Command = Argv | Shell;

/** What `sh` accepts between its literal parts. */
export type ShellValue = string | number | readonly string[] | Shell | Argv;

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** Characters that need no quoting anywhere in a word for sh, bash, dash, ksh and zsh. */
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Words that mean something else in command position (POSIX 2.4 reserved words, bash's, zsh's). */
const RESERVED = new Set(["!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then", "until", "while", "function", "select", "time", "coproc", "repeat", "foreach", "end", "nocorrect", "noglob"]);

function checkWord(word: string): void {
  if (typeof word !== "string") throw new CommandError(`a command word must be a string, got ${word === null ? "null" : typeof word}`);
  // execve(2) takes C strings: a NUL would silently cut the word.
  if (word.includes("\0")) throw new CommandError(`a command word cannot hold a NUL byte: ${JSON.stringify(word.slice(0, 40))}`);
}

/** One word for sh: left bare when that is safe, else in single quotes (`'` as `'\''`). */
export function quote(word: string): string {
  checkWord(word);
  // zsh expands a leading `=` (EQUALS) and bash reads a leading `%` as a job in command position.
  if (word !== "" && BARE.test(word) && word[0] !== "=" && word[0] !== "%") return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The words as one simple command: each quoted, the first never an assignment or reserved word. */
export function renderArgv(words: readonly string[]): string {
  if (words.length === 0) throw new CommandError("an empty command");
  return words
    .map((w, i) => {
      const q = quote(w);
      return i === 0 && q === w && (w.includes("=") || RESERVED.has(w)) ? `'${w}'` : q;
    })
    .join(" ");
}

/** The line sent to the host: argv quoted word by word; a script as `sh -c 'SCRIPT'`. */
export function renderCommand(cmd: Command): string {
  return cmd instanceof Shell ? renderArgv(["sh", "-c", cmd.shell]) : renderArgv(cmd.argv);
}

/** A command as one simple command in a script (`exec ${asSimple(cmd)}`, `( ${asSimple(cmd)} )`). */
export function asSimple(cmd: Command): Shell {
  return Shell.of(renderCommand(cmd));
}

export function argv(...words: string[]): Argv {
  words.forEach(checkWord);
  return { argv: words };
}

function render(v: ShellValue): string {
  if (v instanceof Shell) return v.shell;
  if (typeof v === "string") return quote(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new CommandError(`not a finite number: ${v}`);
    return quote(String(v));
  }
  if (Array.isArray(v)) return (v as readonly string[]).map(quote).join(" ");
  if (v && typeof v === "object" && "argv" in v) return renderArgv((v as Argv).argv);
  throw new CommandError(`cannot put ${v === null ? "null" : typeof v} into a shell command`);
}

/**
 * Shell code with values: the literal text is code (ours), each `${value}` becomes words.
 * A string or number is one quoted word, a list is one quoted word per item, an Argv is a
 * rendered simple command, a Shell is spliced as code. Never put a value inside quotes in the
 * literal (`"${x}"`): it is quoted already.
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): Shell {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? "");
  });
  return Shell.of(out);
}

/**
 * Text that is shell code as it stands: a constant of ours, or a playbook's explicit `shell:`.
 * Never a value from an inventory or a host.
 */
export function shellCode(text: string): Shell {
  return Shell.of(text);
}

/** `env K=V ... CMD` (sshd's AcceptEnv does not matter); names are checked, values are words. */
export function withEnv(cmd: Command, env: Record<string, string> | undefined): Command {
  const pairs = Object.entries(env ?? {});
  if (pairs.length === 0) return cmd;
  for (const [k] of pairs) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new CommandError(`invalid environment variable name: ${k}`);
  const inner = cmd instanceof Shell ? ["sh", "-c", cmd.shell] : cmd.argv;
  return argv("env", ...pairs.map(([k, v]) => `${k}=${v}`), ...inner);
}

// ---------------------------------------------------------------------------------------------
// The validate step of an upload: an argv in which the word NEW_FILE stands for the new file
// (Ansible's `validate: "visudo -cf %s"`, but as words: the file's path is one word, and no other
// word can turn into code, whatever a prefix or install_dir holds).

/** The placeholder word for the uploaded file, whole words only. */
export const NEW_FILE = "%s";

export type ValidateArgv = readonly string[];

/** What is wrong with a validate argv, or undefined. */
export function validateArgvProblem(v: readonly string[]): string | undefined {
  if (v.length === 0) return "the validate command is empty";
  for (const w of v) {
    if (typeof w !== "string") return "every word of the validate command must be a string";
    if (w.includes("\0")) return "a word of the validate command holds a NUL byte";
  }
  if (!v.includes(NEW_FILE)) return `the validate command needs the word ${NEW_FILE} where the new file's path goes, e.g. [keepalived, -t, -f, "${NEW_FILE}"]`;
  if (v[0] === NEW_FILE) return `the validate command cannot start with ${NEW_FILE}: name the program that checks the file`;
  return undefined;
}

/** The validate argv with the new file's path in place of each NEW_FILE word. */
export function validateCommand(v: ValidateArgv, newFile: string): Argv {
  const problem = validateArgvProblem(v);
  if (problem) throw new CommandError(problem);
  return argv(...v.map((w) => (w === NEW_FILE ? newFile : w)));
}

/** For messages: the validate argv as the user would type it (its NEW_FILE words bare). */
export function showArgv(v: readonly string[]): string {
  return v.map((w, i) => (w === NEW_FILE ? w : i === 0 ? renderArgv([w]) : quote(w))).join(" ");
}

// ---------------------------------------------------------------------------------------------
// Words from text a person wrote (a playbook's `command:` string, a `validate:` string): split
// the way sh would split a simple command, without any of sh's expansions. Text that only a
// shell could honour (pipes, redirections, `$`, globs, ...) is refused with its offset, so a
// command that needs a shell says so (`shell:`).

/** A value that goes into a word as it is, never split (a `{{ }}` value). */
export interface Hole {
  /** The value's text; `list` when it stands alone as a whole word: one word per item. */
  text: string;
  list?: string[];
}

export interface WordsError {
  /** Offset into the literal part `part` where the problem is. */
  part: number;
  offset: number;
  message: string;
}

/** Characters that are shell syntax when not quoted: refused in a command without a shell. */
const SHELL_ONLY = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`", "*", "?", "\n", "\r"]);

/**
 * Split literal parts (alternating with holes: parts.length === holes.length + 1) into words.
 * Quotes ('...', "...") and backslash group and escape as in sh; `$` and backquote are refused
 * even inside double quotes (no expansion happens here). A hole's text always lands in the
 * current word; a list hole standing alone as a whole word gives one word per item.
 */
export function splitWords(parts: readonly string[], holes: readonly Hole[] = []): { words: string[] } | { error: WordsError } {
  if (parts.length !== holes.length + 1) throw new CommandError("splitWords: parts and holes do not alternate");
  const words: string[] = [];
  let cur: string | undefined; // undefined: between words
  let holeOnly = false; // the current word so far is exactly one list hole
  let pendingList: string[] | undefined;
  const finish = () => {
    if (cur === undefined) return;
    if (holeOnly && pendingList) words.push(...pendingList);
    else words.push(cur);
    cur = undefined;
    holeOnly = false;
    pendingList = undefined;
  };
  const add = (s: string) => {
    cur = (cur ?? "") + s;
    holeOnly = false;
  };
  for (let p = 0; p < parts.length; p++) {
    const text = parts[p]!;
    let i = 0;
    const fail = (offset: number, message: string) => ({ error: { part: p, offset, message } });
    while (i < text.length) {
      const c = text[i]!;
      if (c === " " || c === "\t") {
        finish();
        i++;
      } else if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) return fail(i, "a single quote is not closed (quotes cannot span a {{ }} value)");
        add(text.slice(i + 1, end));
        i = end + 1;
      } else if (c === '"') {
        let j = i + 1;
        let s = "";
        for (;;) {
          if (j >= text.length) return fail(i, "a double quote is not closed (quotes cannot span a {{ }} value)");
          const d = text[j]!;
          if (d === '"') break;
          if (d === "$" || d === "`") return fail(j, `${JSON.stringify(d)} inside double quotes is a shell expansion`);
          if (d === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) {
            s += text[j + 1];
            j += 2;
            continue;
          }
          s += d;
          j++;
        }
        add(s);
        i = j + 1;
      } else if (c === "\\") {
        if (i + 1 >= text.length) return fail(i, "a backslash at the end escapes nothing");
        if (text[i + 1] === "\n") return fail(i, "a line continuation needs a shell");
        add(text[i + 1]!);
        i += 2;
      } else if (SHELL_ONLY.has(c) || ((c === "#" || c === "~") && cur === undefined)) {
        return fail(i, `${JSON.stringify(c)} is shell syntax`);
      } else {
        add(c);
        i++;
      }
    }
    if (p < holes.length) {
      const h = holes[p]!;
      const alone = cur === undefined;
      add(h.text);
      if (alone && h.list) {
        holeOnly = true;
        pendingList = h.list;
      }
    }
  }
  finish();
  return { words };
}

/** Words of a plain string (no holes); throws CommandError with the problem. */
export function wordsOf(text: string): string[] {
  const r = splitWords([text]);
  if ("error" in r) throw new CommandError(`${r.error.message} (at character ${r.error.offset + 1} of ${JSON.stringify(text)})`);
  return r.words;
}

/**
 * Where shell text is inside quotes at the end of `code` (for a `shell:` template: a `{{ }}` value
 * is quoted as a word, so it must sit where a word can start, not inside '...' or "...").
 */
export function openQuoteAtEnd(code: string): "'" | '"' | undefined {
  let q: "'" | '"' | undefined;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (q === "'") {
      if (c === "'") q = undefined;
    } else if (c === "\\") i++;
    else if (q === '"') {
      if (c === '"') q = undefined;
    } else if (c === "'" || c === '"') q = c;
  }
  return q;
}

/**
 * A script from shell text a person wrote (a playbook's `shell:`) with values in it: the literal
 * parts are code, each value becomes quoted words (a list: one word per item). A value where the
 * literal left a quote open is refused (it would be quoted twice and keep its quote marks).
 */
export function shellTemplate(literals: readonly string[], values: readonly (string | readonly string[])[]): { script: Shell } | { error: WordsError } {
  if (literals.length !== values.length + 1) throw new CommandError("shellTemplate: literals and values do not alternate");
  let code = literals[0]!;
  for (let i = 0; i < values.length; i++) {
    const open = openQuoteAtEnd(code);
    if (open) return { error: { part: i, offset: literals[i]!.length, message: `a {{ }} value inside ${open === "'" ? "single" : "double"} quotes; write it bare: each value is quoted as a word already` } };
    code += render(values[i]!) + literals[i + 1]!;
  }
  return { script: Shell.of(code) };
}
