// keepalived.conf as keepalived reads it (keepalived's parser.c): words split on blanks, `{` and
// `}` words of their own, double-quoted strings one word, `#` and `!` starting a comment outside
// quotes, and `include GLOB` replaced by the files it names, a relative glob taken from the
// directory of the including file. Every word keeps its file and line, so whatever the mapper
// cannot carry over is reported where the operator wrote it.
//
// Pure: included files come through `readInclude`, which the CLI backs with the file system and
// the tests with a table.
import { dirname, isAbsolute, join } from "node:path";

export interface Word {
  text: string;
  /** Written in double quotes: one word even with blanks inside. */
  quoted: boolean;
  file: string;
  line: number;
}

/** One keepalived.conf statement: a keyword, its words on that line, and its block if it opens one. */
export interface Directive {
  name: string;
  args: Word[];
  block?: Directive[];
  file: string;
  line: number;
  /** A whole-line `#` comment directly above the statement (lvsctl writes a service's name there). */
  comment?: string;
}

/** Something the reader could not take as written, at a place in the operator's files. */
export interface ConfProblem {
  file: string;
  line: number;
  directive: string;
  why: string;
  /** The file cannot be read as keepalived would read it (braces that do not pair up). */
  fatal?: boolean;
}

export interface ReadOptions {
  /**
   * The files an `include` names (already expanded from its glob, in keepalived's order: sorted),
   * each with its text, or why they cannot be read. Unset: any include is reported as unreadable.
   */
  readInclude?: (glob: string) => { file: string; text: string }[] | { error: string };
}

export interface ConfTree {
  directives: Directive[];
  /** What was skipped on the way (conditional lines, unreadable includes, unbalanced braces). */
  problems: ConfProblem[];
  /** Every file read, the first one included. */
  files: string[];
}

/** keepalived nests includes; it has no limit, we stop at a loop or this depth. */
const MAX_INCLUDE_DEPTH = 8;

/** Where `include GLOB` in `from` points: relative globs start at the including file's folder. */
export function includeGlob(from: string, glob: string): string {
  return isAbsolute(glob) ? glob : join(dirname(from), glob);
}

/** The words of one line, without its comment. */
export function splitLine(text: string, file: string, line: number): { words: Word[]; unterminated: boolean } {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "#" || c === "!") {
      break;
    } else if (c === "{" || c === "}") {
      words.push({ text: c, quoted: false, file, line });
      i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) {
        words.push({ text: text.slice(i + 1), quoted: true, file, line });
        return { words, unterminated: true };
      }
      words.push({ text: text.slice(i + 1, end), quoted: true, file, line });
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !" \t\r{}\"#!".includes(text[j]!)) j++;
      words.push({ text: text.slice(i, j), quoted: false, file, line });
      i = j;
    }
  }
  return { words, unterminated: false };
}

/** Lines of words, includes expanded in place. */
function readLines(text: string, file: string, opts: ReadOptions, problems: ConfProblem[], files: string[], stack: string[], comments: Map<Word[], string>): Word[][] {
  files.push(file);
  const out: Word[][] = [];
  let comment: string | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const { words, unterminated } = splitLine(raw, file, line);
    if (words.length === 0) {
      const m = /^\s*#\s?(.*?)\s*$/.exec(raw);
      comment = m ? m[1] : undefined;
      return;
    }
    if (comment !== undefined) comments.set(words, comment);
    comment = undefined;
    const first = words[0]!;
    if (unterminated) problems.push({ file, line, directive: first.text, why: "a double quote is not closed on this line; read to the end of the line" });
    if (!first.quoted && first.text.startsWith("@")) {
      problems.push({ file, line, directive: words.map((w) => w.text).join(" "), why: "conditional line (@ID, keepalived -i): not supported yet, skipped" });
      return;
    }
    if (!first.quoted && (first.text.startsWith("$") || first.text.startsWith("~"))) {
      problems.push({ file, line, directive: first.text, why: "configuration parameter or sequence ($NAME=, ~SEQ): not supported yet, skipped" });
      return;
    }
    if (!first.quoted && first.text === "include") {
      const glob = words[1]?.text;
      if (glob === undefined) {
        problems.push({ file, line, directive: "include", why: "no file named; skipped" });
        return;
      }
      const pattern = includeGlob(file, glob);
      const found = opts.readInclude ? opts.readInclude(pattern) : { error: "includes cannot be read here" };
      if ("error" in found) {
        problems.push({ file, line, directive: `include ${glob}`, why: `cannot be read: ${found.error}` });
        return;
      }
      if (found.length === 0) problems.push({ file, line, directive: `include ${glob}`, why: "matches no file (keepalived skips it too)" });
      for (const f of found) {
        if (stack.includes(f.file) || stack.length >= MAX_INCLUDE_DEPTH) {
          problems.push({ file, line, directive: `include ${glob}`, why: `${f.file} includes itself, or includes nest deeper than ${MAX_INCLUDE_DEPTH}; skipped` });
          continue;
        }
        out.push(...readLines(f.text, f.file, opts, problems, files, [...stack, f.file], comments));
      }
      return;
    }
    out.push(words);
  });
  return out;
}

/**
 * Reads a keepalived.conf (and what it includes) into statements. A `{` opens the block of the
 * statement it ends; inside it every line is a statement again (list blocks such as
 * virtual_ipaddress hold one item per line, its first word as the name).
 */
export function readConf(text: string, file: string, opts: ReadOptions = {}): ConfTree {
  const problems: ConfProblem[] = [];
  const files: string[] = [];
  const comments = new Map<Word[], string>();
  const lines = readLines(text, file, opts, problems, files, [file], comments);
  const root: Directive[] = [];
  const stack: { list: Directive[]; opener?: Directive }[] = [{ list: root }];
  for (const words of lines) {
    let cur: Directive | undefined;
    for (const w of words) {
      const top = stack[stack.length - 1]!;
      if (!w.quoted && w.text === "{") {
        if (!cur) {
          // A `{` on a line of its own opens the block of the statement before it.
          const prev = top.list[top.list.length - 1];
          if (!prev || prev.block) {
            problems.push({ file: w.file, line: w.line, directive: "{", why: "a block opened with no statement before it; its contents are skipped" });
            cur = { name: "{", args: [], file: w.file, line: w.line };
          } else cur = prev;
        }
        cur.block = [];
        stack.push({ list: cur.block, opener: cur });
        cur = undefined;
      } else if (!w.quoted && w.text === "}") {
        if (stack.length === 1) problems.push({ file: w.file, line: w.line, directive: "}", why: "closes a block that was never opened", fatal: true });
        else stack.pop();
        cur = undefined;
      } else if (!cur) {
        cur = { name: w.text, args: [], file: w.file, line: w.line };
        const c = w === words[0] ? comments.get(words) : undefined;
        if (c !== undefined) cur.comment = c;
        top.list.push(cur);
      } else {
        cur.args.push(w);
      }
    }
  }
  for (const open of stack.slice(1)) {
    problems.push({ file: open.opener!.file, line: open.opener!.line, directive: open.opener!.name, why: "its block is never closed (a `}` is missing)", fatal: true });
  }
  return { directives: root, problems, files };
}
