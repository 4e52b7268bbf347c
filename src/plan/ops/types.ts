// What an operation is (pyinfra's model): `needs` says which facts it reads, `plan` is a pure
// function from facts and the desired state to the steps that would make them match, or to
// nothing when they already do. Executing steps is the executor's job (src/run).
import { renderArgv, type Command, type Shell, type ValidateArgv } from "../../command/index.js";
import type { FactRequest, HostFacts } from "../facts.js";

/** One thing the executor does on the host, in order. */
export type Step =
  | {
      kind: "exec";
      cmd: Command;
      /** What the step does, for output ("sysctl -w net.ipv4...", "make install"). */
      describe: string;
      /** Exit codes that count as success (default [0]). */
      okCodes?: number[];
      timeoutMs?: number;
      stdin?: string | Buffer;
      /** What to do when the step fails, for the user (appended to the error as its hint). */
      failHint?: string;
    }
  | {
      kind: "put";
      path: string;
      content: string | Buffer;
      mode: number;
      owner?: string;
      group?: string;
      /** An argv run on the uploaded temp file (the word "%s") before it replaces the old one. */
      validate?: ValidateArgv;
      /** Never show the content (diffs, events). */
      secret?: boolean;
      describe: string;
    };

export interface OpPlan {
  /** "ok": facts already match (no steps). "change": the steps make them match. */
  status: "ok" | "change";
  /** Why, in a few words: "sha256 differs", "already 1", "package missing". */
  reason: string;
  steps: Step[];
  /** Unified diff text for --diff (secrets masked). */
  diff?: string;
  /** Things the user should know that do not fail the task (e.g. a NAT route not via a director). */
  warnings?: string[];
}

/** What planners may know besides facts: options of the run. */
export interface PlanContext {
  /** --diff: planners fetch old file contents and produce diffs. */
  diff: boolean;
  /** --check: nothing runs on the host beyond the read-only facts (no `unless` guards either). */
  check?: boolean;
}

export interface Operation<D> {
  /** The YAML key (`sysctl`, `file`, ...). */
  name: string;
  needs(desired: D, ctx: PlanContext): Partial<FactRequest>;
  plan(facts: HostFacts, desired: D, ctx: PlanContext): OpPlan;
}

export function ok(reason: string, extra: Partial<OpPlan> = {}): OpPlan {
  return { status: "ok", reason, steps: [], ...extra };
}

export function change(reason: string, steps: Step[], extra: Partial<OpPlan> = {}): OpPlan {
  return { status: "change", reason, steps, ...extra };
}

export function execStep(argv: string[], describe?: string, extra: Partial<Extract<Step, { kind: "exec" }>> = {}): Step {
  return { kind: "exec", cmd: { argv }, describe: describe ?? renderArgv(argv), ...extra };
}

/** A script made with src/command's `sh` (values quoted as words). */
export function shellStep(script: Shell, describe: string, extra: Partial<Extract<Step, { kind: "exec" }>> = {}): Step {
  return { kind: "exec", cmd: script, describe, ...extra };
}
