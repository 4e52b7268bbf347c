// `lvsctl status INVENTORY`: the cluster on one screen (src/status), once or every N seconds.
// Thin: load the inventory, ask the hosts through probe sessions, print, exit with the verdict.
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { formatDiagnostic, loadInventory } from "../../inventory/index.js";
import { probeSessions } from "../../run/probe.js";
import { collectPrompts, maskRevealed, SecretResolver } from "../../secrets/index.js";
import { defaultHostKeyPolicy, SshConnector } from "../../ssh/index.js";
import type { Connector } from "../../ssh/types.js";
import { collect, EXIT_UNHEALTHY, exitCodeFor, formatStatus, realServerHosts } from "../../status/index.js";
import { bool, str, strs, type CommandSpec, type ParsedArgs } from "../command.js";
import type { CliIo } from "../io.js";
import { askPrompts } from "../prompt.js";
import { relocate } from "./validate.js";

/** What the command takes from outside besides CliIo; tests give fakes. */
export interface StatusDeps {
  connector?: Connector;
  /** Ends --watch (Ctrl-C). Default: SIGINT/SIGTERM of this process. */
  interrupt?: () => { signal: AbortSignal; dispose(): void };
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => Date;
}

/** ANSI: cursor home, clear the screen (ECMA-48 CUP and ED 2). */
const CLEAR = "\x1b[H\x1b[2J";

/** The first Ctrl-C ends --watch after the asking in flight (each is bounded by --timeout); a second exits at once. */
function processInterrupt(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) process.exit(ExitCode.Interrupted);
    ac.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

export function statusCommandWith(deps: StatusDeps = {}): CommandSpec {
  return {
    name: "status",
    summary: "show the cluster on one screen: VRRP masters, each director's IPVS table with real-server health, drift from the inventory",
    usage: "lvsctl status INVENTORY [--json] [--watch [SECONDS]] [options]",
    details: [
      "Asks every director (one SSH round trip each; lvsd's status is read through the SSH",
      "connection from its loopback-only port, no port is opened) and every SSH-managed DR/TUN real",
      "server (its VIPs on lo, arp_ignore/arp_announce). Read-only: nothing changes on any host.",
      "keepalived is not asked itself: who is master comes from the VIPs each director holds, the",
      "priority shown is the inventory's, and a real server's health is what keepalived's checker did",
      "to the kernel table (absent, or weight 0 with inhibit_on_failure, means its check failed).",
      "lvsd reports its own VRRP state, priority and checks.",
      "",
      "--json prints one JSON object (schema 1, src/status/README.md); with --watch, one per line.",
      "--watch redraws the screen every SECONDS (default 2) until Ctrl-C.",
      "",
      `Exit 0 when healthy; ${EXIT_UNHEALTHY} when anything differs from the inventory or is down (a director`,
      "not active, no or two masters, a table that differs, a real server down or lacking its VIP or",
      "ARP sysctls); 3 when hosts could not be asked and nothing else is wrong; 1 for an invalid",
      "inventory; 130 when --watch is ended by Ctrl-C.",
    ].join("\n"),
    options: {
      json: { type: "boolean", help: "the status as JSON on stdout (one object; one per line with --watch)" },
      watch: { type: "boolean", short: "w", help: "redraw every SECONDS (the next argument, when a number; default 2) until Ctrl-C" },
      "accept-new-host-keys": { type: "boolean", help: "record the key of a host never seen before (OpenSSH accept-new); a changed key is never accepted" },
      "known-hosts": { type: "string", multiple: true, value: "FILE", help: "known_hosts file(s) to verify against (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)" },
      timeout: { type: "string", value: "SECONDS", help: "per host and command (default 30)" },
    },
    positionals: [
      { name: "inventory", required: true },
      { name: "seconds", required: false },
    ],
    run: (args, io) => runStatus(args, io, deps),
  };
}

async function runStatus(parsed: ParsedArgs, io: CliIo, deps: StatusDeps): Promise<number> {
  let positionals = parsed.positionals;
  const args = parsed;
  const watch = bool(args, "watch");
  // `--watch 5 INVENTORY`: the number came first.
  if (watch && positionals.length === 2 && /^\d+(\.\d+)?$/.test(positionals[0]!) && !/^\d+(\.\d+)?$/.test(positionals[1]!)) positionals = [positionals[1]!, positionals[0]!];
  const secondsText = positionals[1];
  if (secondsText !== undefined && !watch) throw new LvsctlError("LVS003", `status: unexpected argument '${secondsText}'`, { hint: "usage: lvsctl status INVENTORY [--json] [--watch [SECONDS]]" });
  const seconds = secondsText === undefined ? 2 : Number(secondsText);
  if (!(Number.isFinite(seconds) && seconds >= 0.5)) throw new LvsctlError("LVS007", `--watch takes a number of seconds of at least 0.5, not '${secondsText}'`, { hint: "for example --watch 5" });
  const timeoutText = str(args, "timeout");
  const timeout = timeoutText === undefined ? 30 : Number(timeoutText);
  if (!(Number.isFinite(timeout) && timeout > 0)) throw new LvsctlError("LVS007", `--timeout must be a number of seconds, not '${timeoutText}'`, { hint: "for example --timeout 10" });

  const file = resolvePath(io.cwd, positionals[0]!);
  const loaded = await loadInventory(file, { env: io.env });
  for (const d of loaded.diagnostics) io.err(formatDiagnostic(relocate(d, io.cwd)) + "\n");
  if (!loaded.ok) return ExitCode.Invalid;
  const cluster = loaded.cluster;
  if (cluster.directors.length === 0) {
    throw new LvsctlError("LVS780", "status: the inventory names no director", { hint: "status shows the directors' VRRP and IPVS state; list them in the `directors` group" });
  }
  const knownHosts = strs(args, "known-hosts").map((f) => resolvePath(io.cwd, f));
  const policy = knownHosts.length ? { knownHostsFiles: knownHosts, acceptNew: bool(args, "accept-new-host-keys") } : defaultHostKeyPolicy(bool(args, "accept-new-host-keys"));
  // Only the secrets that connections need (a password, a become password): VRRP passwords are never asked.
  const asked = [...cluster.directors.map((d) => d.host.name), ...realServerHosts(cluster).map((h) => h.name)];
  const answers = await askPrompts(collectPrompts(cluster, { hosts: asked, vrrp: false }), io, { file, text: readFileSync(file, "utf8") });
  const secrets = new SecretResolver({ env: io.env, baseDir: dirname(file), answers });
  const sessions = probeSessions({ cluster, connector: deps.connector ?? new SshConnector(), policy, resolveSecret: secrets.resolve, timeoutMs: timeout * 1000 });
  const stop = (deps.interrupt ?? processInterrupt)();
  const sleep = deps.sleep ?? abortableSleep;
  const json = bool(args, "json");
  let code: number = ExitCode.Ok;
  try {
    for (let first = true; ; first = false) {
      const s = await collect(cluster, sessions.probe, deps.now ? { now: deps.now } : {});
      if (stop.signal.aborted && !first) break;
      code = exitCodeFor(s.problems);
      const text = json ? JSON.stringify(s) + "\n" : formatStatus(s);
      io.out(secrets.mask(maskRevealed(watch && !json && io.isTTY ? CLEAR + text : watch && !json && !first ? `\n${text}` : text)));
      if (!watch) break;
      await sleep(seconds * 1000, stop.signal);
      if (stop.signal.aborted) break;
    }
  } finally {
    stop.dispose();
    await sessions.close();
  }
  return watch && stop.signal.aborted ? ExitCode.Interrupted : code;
}

export const statusCommand = statusCommandWith();
