// command: runs a command, guarded like Ansible's `creates` (skip when the path exists) and
// `unless` (skip when this read-only command exits 0). Without a guard a command always reports
// a change. Both are Commands (src/command): argv words, or a script the playbook asked for.
import { renderCommand, type Command } from "../../command/index.js";
import type { HostFacts } from "../facts.js";
import { change, ok, type OpPlan, type Operation } from "./types.js";

export interface CommandDesired {
  cmd: Command;
  creates?: string;
  unless?: Command;
  timeoutMs?: number;
}

export function planCommand(facts: HostFacts, d: CommandDesired): OpPlan {
  const unless = d.unless === undefined ? undefined : renderCommand(d.unless);
  if (d.creates !== undefined && facts.exists.includes(d.creates)) return ok(`${d.creates} exists`);
  if (unless !== undefined && facts.guards[unless] === 0) return ok(`unless: \`${unless}\` succeeded`);
  const describe = "argv" in d.cmd ? renderCommand(d.cmd) : d.cmd.shell;
  const why = d.creates !== undefined ? `${d.creates} missing` : unless !== undefined ? `unless: \`${unless}\` failed` : "no guard: always runs";
  return change(why, [{ kind: "exec", cmd: d.cmd, describe, ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}) }]);
}

export const commandOp: Operation<CommandDesired> = {
  name: "command",
  needs: (d) => ({ exists: d.creates ? [d.creates] : [], guards: d.unless ? [d.unless] : [] }),
  plan: planCommand,
};
