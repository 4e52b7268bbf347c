// Commands that exist so scripts and muscle memory find them, and say plainly they are not
// built yet. Each is replaced by its real implementation as the work lands.
import { ExitCode } from "../../errors/index.js";
import type { CommandSpec } from "../command.js";

function notBuilt(name: string, summary: string, usage: string, what: string): CommandSpec {
  return {
    name,
    summary: `${summary} (not built yet)`,
    usage,
    options: {},
    positionals: [{ name: "inventory", required: false }],
    async run(_args, io) {
      io.err(`lvsctl ${name}: not built yet. ${what}\n  hint: \`lvsctl validate\` and \`lvsctl render\` work today; see README.md for what is ready\n`);
      return ExitCode.NotImplemented;
    },
  };
}

export const notBuiltCommands: CommandSpec[] = [
];
