// `lvsctl import KEEPALIVED.CONF [MORE.CONF ...] [--out FILE]`: an lvsctl inventory from the
// keepalived.conf of each director. The files (and what they include) are read here; the import
// itself (src/import) is pure.
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve as resolvePath, sep } from "node:path";
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { MAX_INVENTORY_BYTES, readRegularFileSync } from "../../inventory/files.js";
import { formatDiagnostic } from "../../inventory/index.js";
import { formatWarning, importInventory, type DirectorFile } from "../../import/index.js";
import { bool, shownPath, str, type CommandSpec } from "../command.js";

export const importCommand: CommandSpec = {
  name: "import",
  summary: "write an lvsctl inventory from each director's keepalived.conf",
  usage: "lvsctl import KEEPALIVED.CONF [MORE.CONF ...] [--out FILE] [--force]",
  details: [
    "Give one keepalived.conf per director: they are merged into one cluster (each director's",
    "priority, state, interface and unicast peers kept). A director is named by its router_id when",
    "every file has a distinct one, else by its file name (keepalived.conf.NAME or NAME.conf); the",
    "inventory's header says which. `include` is followed (globs relative to the including file).",
    "",
    "Every directive is carried over or reported as `file:line: directive: why` (not supported yet,",
    "obsolete, or not valid), on stderr and in the inventory's header comment. VRRP passwords are",
    "not written: the inventory reads them from environment variables it names.",
    "",
    "The inventory is checked as `lvsctl validate` would. Exit 0 when it was written (warnings",
    "printed), 1 when the files cannot be imported (why printed) or --out exists without --force.",
  ].join("\n"),
  options: {
    out: { type: "string", value: "FILE", help: "write the inventory to FILE instead of printing it" },
    force: { type: "boolean", help: "overwrite FILE given with --out" },
  },
  positionals: [{ name: "keepalived.conf", required: true }],
  variadic: true,
  async run(args, io) {
    const shown = (p: string) => shownPath(io.cwd, p);
    const files: DirectorFile[] = args.positionals.map((p) => {
      const path = resolvePath(io.cwd, p);
      try {
        return { file: shown(path), text: readRegularFileSync(path, MAX_INVENTORY_BYTES) };
      } catch (e) {
        throw new LvsctlError("LVS010", `cannot read ${p}: ${(e as Error).message}`, { hint: "give the path of each director's keepalived.conf" });
      }
    });
    const out = str(args, "out");
    const target = out !== undefined ? resolvePath(io.cwd, out) : undefined;
    if (target && existsSync(target) && !bool(args, "force")) {
      throw new LvsctlError("LVS011", `${out} exists`, { hint: "choose another --out FILE, or add --force to overwrite it" });
    }
    const r = importInventory(files, {
      readInclude: (glob) => readGlob(resolvePath(io.cwd, glob), shown),
      inventoryFile: target ? shown(target) : "(the printed inventory)",
    });
    for (const w of r.warnings) io.err(`${formatWarning(w)}\n`);
    if (r.status === "refused") {
      for (const why of r.why) io.err(`${why}\n`);
      io.err(`lvsctl import: nothing written: the files cannot be imported as they are (see above)\n  hint: fix what is listed, or import the parts lvsctl supports by hand\n`);
      return ExitCode.Invalid;
    }
    for (const d of r.diagnostics) io.err(formatDiagnostic(d) + "\n");
    const names = r.directors.map((d) => `${d.name} (${d.file}, by its ${d.namedBy})`).join(", ");
    const vars = Object.keys(r.secrets);
    if (target) {
      writeFileSync(target, r.yaml, { mode: 0o644 });
      io.out(`wrote ${out}: ${r.directors.length === 1 ? "director" : "directors"} ${names}; ${r.status === "full" ? "everything carried over" : `${r.warnings.length} directives not carried over as written (listed above and in the file's header)`}\n`);
    } else {
      io.out(r.yaml);
    }
    if (vars.length > 0) io.err(`lvsctl import: the VRRP passwords are not in the inventory: export ${vars.join(", ")} (the auth_pass values of the imported files) before deploying\n`);
    return ExitCode.Ok;
  },
};

/** keepalived's include: a glob (`*`, `?`, `[...]` in any path component), matches sorted. */
export function readGlob(pattern: string, shown: (p: string) => string): { file: string; text: string }[] | { error: string } {
  const abs = isAbsolute(pattern) ? pattern : resolvePath(pattern);
  const parts = abs.split(sep).filter((p) => p !== "");
  let paths: string[] = [sep];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      const re = globRegExp(part);
      let names: string[] = [];
      try {
        names = readdirSync(base).sort();
      } catch {
        continue;
      }
      for (const n of names) if (re.test(n) && !(n.startsWith(".") && !part.startsWith("."))) next.push(join(base, n));
    }
    paths = next;
  }
  const files = paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!/[*?[]/.test(pattern) && files.length === 0) return { error: `${shown(pattern)} does not exist or is not a file` };
  try {
    return files.map((f) => ({ file: shown(f), text: readRegularFileSync(f, MAX_INVENTORY_BYTES) }));
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function globRegExp(part: string): RegExp {
  let re = "";
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = part.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${part.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
