// `lvsctl render INVENTORY [--host NAME] [--out DIR]`: the files each host would get.
import { MAX_INVENTORY_BYTES, readRegularFileSync } from "../../inventory/files.js";
import { dirname, resolve as resolvePath } from "node:path";
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { formatDiagnostic, loadInventory } from "../../inventory/index.js";
import { maskedSecret, renderHost, type RenderOptions } from "../../render/index.js";
import { collectPrompts, SecretResolver } from "../../secrets/index.js";
import { bool, str, strs, type CommandSpec } from "../command.js";
import { askPrompts } from "../prompt.js";
import { writeOutTree } from "../out-dir.js";
import { relocate } from "./validate.js";

export const renderCommand: CommandSpec = {
  name: "render",
  summary: "render each host's files (keepalived.conf, lvsd config, units, sysctls)",
  usage: "lvsctl render INVENTORY [--host NAME]... [--out DIR] [--backend keepalived|lvsd]",
  details: [
    "Without --out the files are printed, each under a `# ==> HOST:PATH` header, with secrets",
    "shown as *** (add --show-secrets to print them; that needs them set). With --out they are written to",
    "DIR/HOST/PATH with their real values; files holding a secret get mode 0600. Each file replaces",
    "the old one whole (a temporary file renamed over it); a symbolic link, FIFO or other non-file",
    "found inside DIR is refused, never followed or opened.",
  ].join("\n"),
  options: {
    host: { type: "string", multiple: true, value: "NAME", help: "only this host (repeat for more)" },
    out: { type: "string", value: "DIR", help: "write files under DIR/HOST/ instead of printing them" },
    backend: { type: "string", value: "NAME", help: "render for this director backend instead of the inventory's" },
    "show-secrets": { type: "boolean", help: "print secret values instead of ***" },
  },
  positionals: [{ name: "inventory", required: true }],
  async run(args, io) {
    const file = resolvePath(io.cwd, args.positionals[0]!);
    const result = await loadInventory(file, { env: io.env });
    for (const d of result.diagnostics) io.err(formatDiagnostic(relocate(d, io.cwd)) + "\n");
    if (!result.ok) return ExitCode.Invalid;

    const backend = str(args, "backend");
    if (backend !== undefined && backend !== "keepalived" && backend !== "lvsd") {
      throw new LvsctlError("LVS005", `unknown backend '${backend}'`, { hint: "use --backend keepalived or --backend lvsd" });
    }
    const out = str(args, "out");
    const show = bool(args, "show-secrets");
    const wanted = strs(args, "host");
    for (const h of wanted) {
      if (!Object.hasOwn(result.cluster.hosts, h)) {
        throw new LvsctlError("LVS006", `no host named '${h}' in ${args.positionals[0]}`, {
          hint: `hosts are: ${Object.keys(result.cluster.hosts).join(", ")}`,
        });
      }
    }
    // Printing masked needs no secret values at all, so it works without the env vars set and
    // asks no {prompt: TEXT}; writing them out asks the prompts of the chosen hosts' files.
    const reveal = Boolean(out) || show;
    const needs = reveal ? collectPrompts(result.cluster, { connection: false, ...(wanted.length ? { hosts: wanted } : {}) }) : [];
    const answers = await askPrompts(needs, io, { file, text: readRegularFileSync(file, MAX_INVENTORY_BYTES) });
    const secrets = new SecretResolver({ env: io.env, baseDir: dirname(file), answers });
    const resolveSecret = reveal ? secrets.resolve : maskedSecret;
    const opts: RenderOptions = { resolveSecret, ...(backend ? { backend: backend as "keepalived" | "lvsd" } : {}) };
    // Only the chosen hosts are rendered: another host's secret is neither needed nor asked.
    const names = wanted.length ? Object.keys(result.cluster.hosts).filter((h) => wanted.includes(h)) : Object.keys(result.cluster.hosts);
    const hosts = names.map((h) => [h, renderHost(result.cluster, h, opts)] as const);

    if (out) {
      const files = hosts.flatMap(([host, fs]) => fs.map((f) => ({ host, path: f.path, content: f.content, mode: f.secret ? 0o600 : 0o644 })));
      writeOutTree(resolvePath(io.cwd, out), out, files);
      io.out(`wrote ${files.length} files for ${hosts.length} hosts under ${out}\n`);
      return ExitCode.Ok;
    }
    for (const [host, files] of hosts) {
      for (const f of files) {
        io.out(`# ==> ${host}:${f.path} (mode ${f.mode.toString(8).padStart(4, "0")})\n`);
        io.out(f.content);
        if (!f.content.endsWith("\n")) io.out("\n");
      }
    }
    return ExitCode.Ok;
  },
};
