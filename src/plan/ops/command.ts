// command: runs a command, guarded like Ansible's `creates` (skip when the path exists) and
// `unless` (skip when this read-only command exits 0). Without a guard a command always reports
// a change. Both are Commands (src/command): argv words, or a script the playbook asked for.
//
// The guard runs with the facts (one round trip, before any task changes anything), and not at
// all under --check: --check runs nothing of the user's on the host, as Ansible's check mode
// skips `command` and `shell`. A guarded command then reports the change it may make.
import { renderCommand, type Command } from "../../command/index.js";
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { change, ok, type OpPlan, type Operation, type PlanContext } from "./types.js";

export interface CommandDesired {
  cmd: Command;
  creates?: string;
  unless?: Command;
  timeoutMs?: number;
}

export function planCommand(facts: HostFacts, d: CommandDesired, ctx: PlanContext = { diff: false }): OpPlan {
  const unless = d.unless === undefined ? undefined : renderCommand(d.unless);
  if (d.creates !== undefined && facts.exists.includes(d.creates)) return ok(`${d.creates} exists`);
  let why = d.creates !== undefined ? `${d.creates} missing` : "no guard: always runs";
  if (unless !== undefined) {
    const status = facts.guards[unless];
    if (status === 0) return ok(`unless: \`${unless}\` succeeded`);
    if (status !== undefined) why = `unless: \`${unless}\` failed`;
    else if (ctx.check) why = `would run unless \`${unless}\` succeeds (--check does not run guards)`;
    else throw new PlanError(`the unless guard \`${unless}\` was not run with the facts`, "a guard cannot use values from the host's facts (director_iface, rs_iface, ...): they are not known when it runs; use a host or play variable, or creates:");
  }
  const describe = "argv" in d.cmd ? renderCommand(d.cmd) : d.cmd.shell;
  return change(why, [{ kind: "exec", cmd: d.cmd, describe, ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}) }]);
}

export const commandOp: Operation<CommandDesired> = {
  name: "command",
  needs: (d, ctx) => ({ exists: d.creates ? [d.creates] : [], guards: d.unless && !ctx.check ? [d.unless] : [] }),
  plan: planCommand,
};
