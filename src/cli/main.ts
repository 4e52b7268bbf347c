// Entry point of `lvsctl`. Parses argv, dispatches to a command, maps errors to exit codes.
// Everything a command needs from outside comes through CliIo, so `run()` is testable in-process.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ExitCode, LvsctlError } from "../errors/index.js";
import { maskRevealed } from "../secrets/index.js";
import { commandHelp, parseCommandArgs, type CommandSpec } from "./command.js";
import { realIo, type CliIo } from "./io.js";
import { validateCommand } from "./commands/validate.js";
import { renderCommand } from "./commands/render.js";
import { importCommand } from "./commands/import.js";
import { drillCommand } from "./commands/drill.js";
import { notBuiltCommands } from "./commands/not-built.js";
import { bootstrapCommand, deployCommand } from "./commands/playbook.js";
import { labCommand } from "./commands/lab.js";
import { statusCommand } from "./commands/status.js";

export const commands: CommandSpec[] = [validateCommand, renderCommand, importCommand, deployCommand, bootstrapCommand, statusCommand, drillCommand, labCommand, ...notBuiltCommands];

export function version(): string {
  // package.json sits two levels above src/cli (and three above dist/src/cli).
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "lvsctl" && pkg.version) return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return "unknown";
}

export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "lvsctl: build, run and prove Linux Virtual Server clusters over SSH, with no agent to install.",
    "",
    "usage: lvsctl COMMAND [options]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "options:",
    "  -h, --help     show help (also `lvsctl COMMAND --help`)",
    "  -V, --version  print the version",
    "",
    "exit codes:",
    "  0    success",
    "  1    usage error, or the inventory/playbook is invalid",
    "  2    a task failed on at least one host",
    "  3    at least one host was unreachable (and nothing else failed)",
    "  4    status: the cluster is not healthy (drift from the inventory, or something down)",
    "  69   the command is not built yet",
    "  70   internal error (a bug in lvsctl: please report it with the output)",
    "  130  interrupted",
    "",
  ].join("\n");
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help") {
    const target = rest[0] && commands.find((c) => c.name === rest[0]);
    io.out(target ? commandHelp(target) : mainHelp());
    return first === undefined ? ExitCode.Invalid : ExitCode.Ok;
  }
  if (first === "-h" || first === "--help") {
    io.out(mainHelp());
    return ExitCode.Ok;
  }
  if (first === "-V" || first === "--version") {
    io.out(`lvsctl ${version()}\n`);
    return ExitCode.Ok;
  }
  const cmd = commands.find((c) => c.name === first);
  try {
    if (!cmd) {
      const near = commands.find((c) => c.name.startsWith(first.slice(0, 3)));
      throw new LvsctlError("LVS004", `unknown command '${first}'`, {
        hint: near ? `did you mean \`lvsctl ${near.name}\`? (\`lvsctl --help\` lists them all)` : "`lvsctl --help` lists the commands",
      });
    }
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help) {
      io.out(commandHelp(cmd));
      return ExitCode.Ok;
    }
    return await cmd.run(args, io);
  } catch (e) {
    // Masked with every secret resolved so far: whatever threw may have carried one in its text.
    if (e instanceof LvsctlError) {
      io.err(maskRevealed(`lvsctl: ${e.format()}\n`));
      return e.exitCode;
    }
    io.err(maskRevealed(`lvsctl: internal error: ${(e as Error)?.stack ?? String(e)}\n  hint: this is a bug in lvsctl; please report it with this output\n`));
    return ExitCode.Internal;
  }
}

/** Runs lvsctl with the process's argv and sets the exit code. Called by bin/lvsctl.js. */
export async function cli(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `lvsctl render ... | head`: a reader that went away is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  process.exitCode = await run(argv, realIo());
}

// `tsx src/cli/main.ts ...` during development.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await cli();
