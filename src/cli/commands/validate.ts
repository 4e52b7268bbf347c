// `lvsctl validate INVENTORY`: every problem at once, each located at file:line:col.
import { ExitCode } from "../../errors/index.js";
import { formatDiagnostic, loadInventory, type Diagnostic } from "../../inventory/index.js";
import { bool, shownPath, type CommandSpec } from "../command.js";
import { resolve as resolvePath } from "node:path";

export const validateCommand: CommandSpec = {
  name: "validate",
  summary: "check an inventory and report every problem with file:line:col",
  usage: "lvsctl validate INVENTORY [--strict] [--json]",
  details:
    "Exit 0 when the inventory is valid (warnings are printed), 1 when it has errors (or warnings with --strict).",
  options: {
    strict: { type: "boolean", help: "treat warnings as errors" },
    json: { type: "boolean", help: "print the diagnostics as one JSON document" },
  },
  positionals: [{ name: "inventory", required: true }],
  async run(args, io) {
    const file = args.positionals[0]!;
    const result = await loadInventory(resolvePath(io.cwd, file), { env: io.env });
    const diags = result.diagnostics.map((d) => relocate(d, io.cwd));
    const errors = diags.filter((d) => d.severity === "error").length;
    const warnings = diags.length - errors;
    const failed = errors > 0 || (bool(args, "strict") && warnings > 0);
    if (bool(args, "json")) {
      io.out(JSON.stringify({ file, valid: !failed, errors, warnings, diagnostics: diags }, null, 2) + "\n");
      return failed ? ExitCode.Invalid : ExitCode.Ok;
    }
    for (const d of diags) io.err(formatDiagnostic(d) + "\n");
    if (result.ok && !failed) {
      const c = result.cluster;
      const instances = new Set(c.directors.flatMap((d) => d.instances.map((i) => i.name))).size;
      io.out(
        `${file}: valid: ${plural(c.directors.length, "director")}, ${plural(c.realServers.length, "real server")}, ` +
          `${plural(instances, "VRRP instance")}, ${plural(c.services.length, "virtual service")}, backend ${c.backend}` +
          (warnings ? `, ${plural(warnings, "warning")}` : "") +
          "\n",
      );
      return ExitCode.Ok;
    }
    io.err(`${file}: ${plural(errors, "error")}, ${plural(warnings, "warning")}\n`);
    return ExitCode.Invalid;
  },
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Print paths relative to where the user stands, as compilers do. */
export function relocate(d: Diagnostic, cwd: string): Diagnostic {
  if (!d.location) return d;
  return { ...d, location: { ...d.location, file: shownPath(cwd, d.location.file) } };
}
