// command: runs a command, guarded like Ansible's `creates` (skip when the path exists) and
// `unless` (skip when this read-only command exits 0; it runs during fact gathering, also under
// --check, so it must not change anything). Without a guard a command always reports a change.
import type { HostFacts } from "../facts.js";
import { change, ok, type OpPlan, type Operation } from "./types.js";

export interface CommandDesired {
  /** argv words (quoted when rendered) or one shell string (run with sh -c). */
  cmd: string[] | string;
  creates?: string;
  unless?: string;
  timeoutMs?: number;
}

export function planCommand(facts: HostFacts, d: CommandDesired): OpPlan {
  if (d.creates !== undefined && facts.exists.includes(d.creates)) return ok(`${d.creates} exists`);
  if (d.unless !== undefined && facts.guards[d.unless] === 0) return ok(`unless: \`${d.unless}\` succeeded`);
  const cmd = typeof d.cmd === "string" ? { shell: d.cmd } : { argv: d.cmd };
  const describe = typeof d.cmd === "string" ? d.cmd : d.cmd.join(" ");
  const why = d.creates !== undefined ? `${d.creates} missing` : d.unless !== undefined ? `unless: \`${d.unless}\` failed` : "no guard: always runs";
  return change(why, [{ kind: "exec", cmd, describe, ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}) }]);
}

export const commandOp: Operation<CommandDesired> = {
  name: "command",
  needs: (d) => ({ exists: d.creates ? [d.creates] : [], guards: d.unless ? [d.unless] : [] }),
  plan: planCommand,
};
