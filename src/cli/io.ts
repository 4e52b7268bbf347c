// What a command may touch of the outside world, injectable for tests (STYLE.md: processes,
// logging and time are options). The real one is built in main.ts.
import { hasTerminal, readHidden } from "./prompt.js";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isTTY: boolean;
  /**
   * Asks the user for a secret (`{prompt: TEXT}` in the inventory) with echo off; unset when
   * there is no terminal to ask (CI, pipes), and then a run needing a prompt stops with exit 1.
   */
  prompt?: (text: string) => Promise<string>;
}

export function realIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
    ...(hasTerminal() ? { prompt: readHidden } : {}),
  };
}
