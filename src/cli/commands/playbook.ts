// `lvsctl bootstrap` and `lvsctl deploy`: run playbooks over SSH against the inventory's hosts.
// The command is thin: load the inventory, pick the host-key policy and the output, call the
// executor, and hand back its exit code (0 fine, 1 invalid input, 2 a task failed, 3 unreachable,
// 130 interrupted).
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { formatDiagnostic, loadInventory } from "../../inventory/index.js";
import type { Cluster } from "../../inventory/model.js";
import { builtinPlaybookPath, defaultRenderers, prepareDeploy, type Playbook, defaultRenderTemplate, loadPlaybook, runWithOutput, selectHosts } from "../../run/index.js";
import { collectPrompts, SecretResolver } from "../../secrets/index.js";
import { defaultHostKeyPolicy, SshConnector } from "../../ssh/index.js";
import { bool, str, strs, type CommandSpec, type OptionSpec, type ParsedArgs } from "../command.js";
import type { CliIo } from "../io.js";
import { askPrompts } from "../prompt.js";
import { relocate } from "./validate.js";

const runOptions: Record<string, OptionSpec> = {
  check: { type: "boolean", short: "C", help: "plan only: gather facts and show what would change; nothing changes on any host" },
  diff: { type: "boolean", short: "D", help: "show unified diffs of the files that change (secrets as ***)" },
  limit: { type: "string", short: "l", value: "PATTERN", help: "only these hosts or groups: `rs1,web`, `!rs3` excludes" },
  tags: { type: "string", short: "t", multiple: true, value: "TAG", help: "only tasks with this tag (repeat or comma-separate)" },
  "skip-tags": { type: "string", multiple: true, value: "TAG", help: "skip tasks with this tag" },
  forks: { type: "string", short: "f", value: "N", help: "hosts worked on at once (default: all, at most 50)" },
  json: { type: "boolean", help: "one JSON event per line on stdout" },
  verbose: { type: "boolean", short: "v", help: "also print ok and skipped results" },
  "accept-new-host-keys": { type: "boolean", help: "record the key of a host never seen before (OpenSSH accept-new); a changed key is never accepted" },
  "known-hosts": { type: "string", multiple: true, value: "FILE", help: "known_hosts file(s) to verify against (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)" },
};

const runDetails = [
  "Host keys are verified against OpenSSH known_hosts files. An unknown host fails unless",
  "--accept-new-host-keys is given; a changed key always stops that host, showing both fingerprints.",
  "A known_hosts file that cannot be read, or a line in one that does not parse, is a warning",
  "(once per run, with file and line); a missing file is simply empty, as for ssh.",
  "Secrets written as {prompt: TEXT} are asked once each on the terminal (echo off) before any",
  "host is contacted, and only when a selected host needs them.",
  "Exit 0 when every host is fine; 1 when the inventory is invalid, a host's secret (a become",
  "password's variable or file) cannot be had, or a {prompt: TEXT} has no terminal to ask it on;",
  "2 when a task failed; 3 when hosts were unreachable (and nothing else failed); 130 when",
  "interrupted (Ctrl-C: no new step starts, files are never half-written).",
].join("\n");

/** What a command runs on a loaded cluster: its playbook, and what it leaves out (told on stderr). */
type PlaybookChoice = (cluster: Cluster) => { playbook: Playbook; notes: string[]; vars?: Record<string, unknown> } | Promise<{ playbook: Playbook; notes: string[]; vars?: Record<string, unknown> }>;

const builtin =
  (name: string): PlaybookChoice =>
  () => ({ playbook: loadPlaybook(builtinPlaybookPath(name)), notes: [] });

async function runBuiltin(choose: PlaybookChoice, args: ParsedArgs, io: CliIo): Promise<number> {
  const file = resolvePath(io.cwd, args.positionals[0]!);
  const loaded = await loadInventory(file, { env: io.env });
  for (const d of loaded.diagnostics) io.err(formatDiagnostic(relocate(d, io.cwd)) + "\n");
  if (!loaded.ok) return ExitCode.Invalid;

  const forksText = str(args, "forks");
  const forks = forksText === undefined ? undefined : Number(forksText);
  if (forks !== undefined && !(Number.isInteger(forks) && forks >= 1)) {
    throw new LvsctlError("LVS007", `--forks must be a whole number of at least 1, not '${forksText}'`, { hint: "for example --forks 10" });
  }
  const splitList = (name: string) => strs(args, name).flatMap((t) => t.split(",")).map((t) => t.trim()).filter(Boolean);
  const knownHosts = strs(args, "known-hosts").map((f) => resolvePath(io.cwd, f));
  const policy = knownHosts.length
    ? { knownHostsFiles: knownHosts, acceptNew: bool(args, "accept-new-host-keys"), named: true }
    : defaultHostKeyPolicy(bool(args, "accept-new-host-keys"));
  // `{prompt: TEXT}` secrets of the hosts this run selects are asked now, each once, before
  // anything connects (a bad --limit fails here too, as the executor would).
  const { playbook, notes, vars } = await choose(loaded.cluster);
  for (const n of notes) io.err(`note: ${n}\n`);
  const limit = str(args, "limit");
  const selected = [...new Set(playbook.plays.flatMap((play) => selectHosts(loaded.cluster, play.hosts, limit)))];
  const answers = await askPrompts(collectPrompts(loaded.cluster, { hosts: selected }), io, { file, text: readFileSync(file, "utf8") });
  const secrets = new SecretResolver({ env: io.env, baseDir: dirname(file), answers });
  const result = await runWithOutput({
    cluster: loaded.cluster,
    playbook,
    connector: new SshConnector(),
    policy,
    secrets,
    renderers: defaultRenderers(secrets.resolve),
    renderTemplate: defaultRenderTemplate,
    options: {
      check: bool(args, "check"),
      diff: bool(args, "diff"),
      ...(limit !== undefined ? { limit } : {}),
      tags: splitList("tags"),
      skipTags: splitList("skip-tags"),
      ...(forks !== undefined ? { forks } : {}),
      ...(vars && Object.keys(vars).length ? { vars } : {}),
    },
    output: { json: bool(args, "json"), verbose: bool(args, "verbose") },
  });
  return result.exitCode;
}

export const bootstrapCommand: CommandSpec = {
  name: "bootstrap",
  summary: "prepare real servers for LVS-DR: arp sysctls and each VIP on lo, now and across reboots",
  usage: "lvsctl bootstrap INVENTORY [--check] [--diff] [--limit PATTERN] [options]",
  details: runDetails,
  options: runOptions,
  positionals: [{ name: "inventory", required: true }],
  run: (args, io) => runBuiltin(builtin("bootstrap"), args, io),
};

export const deployCommand: CommandSpec = {
  name: "deploy",
  summary: "set up the cluster: the real servers, then the directors (keepalived or lvsd) one at a time",
  usage: "lvsctl deploy INVENTORY [--check] [--diff] [--limit PATTERN] [options]",
  details: [
    runDetails,
    "",
    "First the real-server bootstrap (as `lvsctl bootstrap`), then the directors (playbooks/director.yml):",
    "keepalived and ipvsadm from the distribution's packages, the IPVS modules and the director",
    "sysctls now and at boot, keepalived.conf checked by `keepalived -t` on the director before it",
    "replaces the old one, the unit enabled and started. One director at a time, backups before",
    "the director that holds the VIPs now, each followed by a gate (keepalived active, one master",
    "per VRRP instance, `ipvsadm -Sn` as the inventory says); a failed gate stops the run there.",
    "A changed config reloads keepalived (it keeps its VIPs); only a new package or unit restarts it.",
    "",
    "With director.backend: lvsd (playbooks/director-lvsd.yml): the distribution's nodejs (or the",
    "runtime director.lvsd.node names; Node 18 or newer, checked), lvsd's bundle built on this",
    "controller (dist/lvsd, or --lvsd-bundle; refused before any host is touched when its addon's",
    "ABI is not the one its lvsd expects, and on a director of another architecture),",
    "lvsd.json checked by `lvsd --check` on the director first, the unit enabled and started, in",
    "the same roll with lvsd's gate. A changed config reloads lvsd (SIGHUP); a new bundle restarts",
    "it as a crash would (it adopts its VIPs and IPVS table). Switching backends is one deploy:",
    "each director stops the other daemon just before starting its own.",
    "",
    "director.keepalived.from: source builds keepalived on each director instead: the tarball (a",
    "local file, or a URL this machine fetches once into ~/.cache/lvsctl, checked against sha256:",
    "when given) is uploaded, built into <prefix>/keepalived-<version>-<key> and made active by the",
    "link <prefix>/keepalived; the same version and options again is no rebuild, and going back to",
    "an earlier build flips the link back (keepalived restarts on a new active build). The active",
    "build and the one before it are kept, older ones removed. --check downloads nothing: it says",
    "what deploy would fetch.",
    "",
    "A cluster without virtual services (VRRP only: keepalived moves VIPs) loads no IPVS module and",
    "its gate reads no IPVS table, so such directors run on kernels without IPVS too.",
  ].join("\n"),
  options: { ...runOptions, "lvsd-bundle": { type: "string", value: "DIR", help: "lvsd's bundle built by scripts/build-lvsd.mjs (default dist/lvsd)" } },
  positionals: [{ name: "inventory", required: true }],
  run: (args, io) => {
    const bundle = str(args, "lvsd-bundle");
    return runBuiltin((cluster) => prepareDeploy(cluster, { ...(bundle !== undefined ? { paths: { lvsdBundle: resolvePath(io.cwd, bundle) } } : {}), tarball: { env: io.env }, check: bool(args, "check") }), args, io);
  },
};
