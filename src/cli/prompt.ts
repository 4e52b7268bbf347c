// `{prompt: TEXT}` secrets: asked once each on the terminal, echo off, before a run starts (like
// Ansible's --ask-pass / --ask-become-pass). The asking goes through CliIo.prompt, so tests use a
// fake; the real terminal adapter (readHidden) is at the bottom and needs no dependency.
import { closeSync, openSync, writeSync } from "node:fs";
import { ReadStream } from "node:tty";
import { ExitCode, LvsctlError, type SourceLocation } from "../errors/index.js";
import type { PromptNeed } from "../secrets/index.js";
import { shownPath } from "./command.js";
import type { CliIo } from "./io.js";

/**
 * Asks every prompt in `needs`, in order, once each; returns the answers keyed by prompt text.
 * Without a terminal (io.prompt unset) it throws before anything connects: exit 1, naming each
 * prompt and where the inventory asks it.
 */
export async function askPrompts(needs: PromptNeed[], io: CliIo, inventory: { file: string; text?: string }): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  if (needs.length === 0) return answers;
  if (!io.prompt) {
    const first = needs[0]!;
    const list = needs.map((n) => `"${n.text}" (${n.where.join(", ")})`).join("; ");
    // Shown relative to the working directory when the file is below it, as validate does.
    const shown = shownPath(io.cwd, inventory.file);
    const location = inventory.text === undefined ? undefined : locatePrompt(inventory.text, shown, first.text);
    throw new LvsctlError("LVS008", `the inventory asks for ${needs.length === 1 ? "a secret" : `${needs.length} secrets`} on the terminal, but lvsctl is not running on one: ${list}`, {
      hint: "run it from a terminal, or give these secrets as {env: NAME} or {file: PATH} in the inventory",
      ...(location ? { location } : {}),
    });
  }
  for (const n of needs) answers.set(n.text, await io.prompt(n.text));
  return answers;
}

/** Where `prompt: TEXT` first appears in the inventory text (a plain scan; undefined when not found). */
export function locatePrompt(text: string, file: string, prompt: string): SourceLocation | undefined {
  const lines = text.split("\n");
  const variants = [prompt, JSON.stringify(prompt), `'${prompt.replace(/'/g, "''")}'`];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /\bprompt\s*:\s*/.exec(line);
    if (m && variants.some((v) => line.slice(m.index + m[0].length).startsWith(v))) return { file, line: i + 1, col: m.index + 1 };
  }
  return undefined;
}

/** The label shown before the answer: the text, then ": " unless it already ends with : or ?. */
export function promptLabel(text: string): string {
  const t = text.trimEnd();
  return /[:?]$/.test(t) ? `${t} ` : `${t}: `;
}

/** Whether a terminal can be asked: the controlling terminal (/dev/tty) or a TTY on stdin. */
export function hasTerminal(): boolean {
  try {
    closeSync(openSync("/dev/tty", "r+"));
    return true;
  } catch {
    return Boolean(process.stdin.isTTY);
  }
}

/** What readLineHidden needs of a terminal's input (a tty.ReadStream; a fake in tests). */
export interface RawInput {
  setRawMode(on: boolean): unknown;
  setEncoding(enc: "utf8"): unknown;
  on(event: "data", fn: (chunk: string | Buffer) => void): unknown;
  removeListener(event: "data", fn: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
}

/**
 * Reads one line from the terminal with echo off (raw mode; nothing is echoed, not even stars).
 * Uses /dev/tty, like ssh and sudo, so it works with stdin or stdout redirected; falls back to
 * stdin/stderr when stdin is a TTY.
 */
export function readHidden(text: string): Promise<string> {
  let input: ReadStream;
  let write: (s: string) => void;
  let release: () => void;
  try {
    const rfd = openSync("/dev/tty", "r");
    const wfd = openSync("/dev/tty", "w");
    input = new ReadStream(rfd); // owns rfd: destroy() closes it
    write = (s) => void writeSync(wfd, s);
    release = () => {
      input.destroy();
      closeSync(wfd);
    };
  } catch {
    if (!process.stdin.isTTY) {
      return Promise.reject(new LvsctlError("LVS008", `cannot ask "${text}": no terminal`, { hint: "run it from a terminal, or use {env: NAME} or {file: PATH}" }));
    }
    input = process.stdin as ReadStream;
    write = (s) => void process.stderr.write(s);
    release = () => input.pause();
  }
  return readLineHidden(input, write, text).finally(release);
}

/**
 * The line discipline of readHidden, on any raw input: Enter ends, Backspace and Ctrl-U edit,
 * Ctrl-C stops (LVS009, exit 130), Ctrl-D on an empty line gives up (LVS009, exit 1). Raw mode
 * is switched off again whatever happens; only the label and the final newline are written.
 */
export function readLineHidden(input: RawInput, write: (s: string) => void, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer: string[] = [];
    const finish = (err?: Error) => {
      input.removeListener("data", onData);
      input.setRawMode(false);
      write("\n");
      if (err) reject(err);
      else resolve(answer.join(""));
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new LvsctlError("LVS009", `interrupted while asking "${text}"`, { exitCode: ExitCode.Interrupted }));
        if (ch === "\u0004") {
          if (answer.length === 0) return finish(new LvsctlError("LVS009", `no answer to "${text}" (end of input)`, { hint: "type the secret and press Enter" }));
          continue;
        }
        if (ch === "\u007f" || ch === "\b") answer = answer.slice(0, -1);
        else if (ch === "\u0015") answer = [];
        else if (ch >= " ") answer.push(ch);
      }
    };
    write(promptLabel(text));
    input.setEncoding("utf8");
    input.setRawMode(true);
    input.on("data", onData);
    input.resume();
  });
}
