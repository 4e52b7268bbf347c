// bench/deploy: the real-server bootstrap (ARP sysctls, the VIP on lo, its unit) through
// `lvsctl bootstrap` and through an equivalent ansible-playbook (bootstrap.ansible.yml) against
// the same N lab hosts, first run and no-change run, wall time of each and the ratio.
//
//   npx tsx bench/deploy/run.ts [--hosts 10,50] [--rounds 1] [--lvsctl-only] [--cluster N [--cluster-only]]
//                                                                                (root: it boots the lab)
//
// Fair by construction: both log in as the lab's `deploy` user with sudo (NOPASSWD), verify host
// keys against the lab's known_hosts, start from the same reset hosts, and must end in the same
// state (the same lines in the sysctl.d file and the unit, comments aside; the same sysctls, VIP
// and unit state: checked after every pair of runs). lvsctl runs as the compiled CLI (src/ transpiled to bench/deploy/.build/,
// like `npm run build`, so that tsx's on-the-fly compile is not measured). Ansible: Debian's
// ansible-core, forks = N, pipelining on, strict host key checking, a fresh ControlPath dir per
// run (cold connections, as lvsctl has; Ansible's warm-ControlPersist no-change run is printed
// too). The directors are named in the inventory but are not lab hosts: the bootstrap only
// connects to real servers (it reads the route to the first director from each real server).
// --cluster N adds the whole-cluster case (cluster.ts): `lvsctl deploy` over 2 qemu directors and N
// real servers next to `lvsctl bootstrap` of the same real servers, first and no-change runs
// (--rounds no-change runs each); it needs qemu as well. --cluster-only runs just that case.
// Prints a table and, last, one line of JSON with every figure.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compileCli } from "../compile-cli.js";
import { benchCluster, type ClusterResult } from "./cluster.js";
import { Lab, labPrerequisites, projectRoot, qemuPrerequisites } from "../../src/lab/index.js";
import { pool } from "../../src/lab/proc.js";
import { CHANGED_ON_FRESH_HOST, countStatus, finished, MANAGED_FILES, ofType, resetRealServer, runCli, snapshotHost, writeLabInventory, type CliRun, type HostSnapshot } from "../../test/lab/helpers/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const BUILD = join(here, ".build");
const PLAYBOOK = join(here, "bootstrap.ansible.yml");

const USAGE = "usage: bench/deploy/run.ts [--hosts 10,50] [--rounds 1] [--lvsctl-only] [--cluster N [--cluster-only]]";

function parseArgs(argv: string[]): { hosts: number[]; rounds: number; lvsctlOnly: boolean; cluster?: number; clusterOnly: boolean } {
  let hosts = [10, 50];
  let rounds = 1;
  let lvsctlOnly = false;
  let cluster: number | undefined;
  let clusterOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--lvsctl-only" || a === "--cluster-only") {
      if (a === "--lvsctl-only") lvsctlOnly = true;
      else clusterOnly = true;
      continue;
    }
    const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
    if (a.startsWith("--hosts")) hosts = (v ?? "").split(",").map(Number);
    else if (a.startsWith("--rounds")) rounds = Number(v);
    else if (a.startsWith("--cluster")) cluster = Number(v);
    else throw new Error(`unknown argument ${a}; ${USAGE}`);
  }
  if (cluster !== undefined && !(Number.isInteger(cluster) && cluster >= 1 && cluster <= 100)) throw new Error("--cluster: 1 to 100 real servers");
  if (clusterOnly && cluster === undefined) throw new Error(`--cluster-only needs --cluster N; ${USAGE}`);
  if (!hosts.every((n) => Number.isInteger(n) && n >= 1 && n <= 190)) throw new Error("--hosts: counts from 1 to 190");
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) throw new Error("--rounds: 1 to 10");
  return { hosts, rounds, lvsctlOnly, ...(cluster !== undefined ? { cluster } : {}), clusterOnly };
}

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runProc(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Proc> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Ansible's PLAY RECAP: host -> { ok, changed, unreachable, failed }. */
function ansibleRecap(out: string): Record<string, Record<string, number>> {
  const recap: Record<string, Record<string, number>> = {};
  const at = out.lastIndexOf("PLAY RECAP");
  for (const line of out.slice(at).split("\n").slice(1)) {
    const m = /^(\S+)\s*:\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    recap[m[1]!] = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
  }
  return recap;
}

const sum = (r: Record<string, Record<string, number>>, k: string) => Object.values(r).reduce((a, x) => a + (x[k] ?? 0), 0);

interface LvsctlRun {
  wallMs: number;
  /** Executor time (run.finished.ms): connect + facts + plan + apply. */
  runMs: number;
  /** Slowest host.connected / host.facts. */
  maxConnectMs: number;
  maxFactsMs: number;
  changed: number;
  exitCode: number | null;
  /** Per task: mean and max ms of its results over the hosts (plan + apply on the host). */
  tasks: Record<string, { meanMs: number; maxMs: number }>;
}

function lvsctlFigures(r: CliRun): LvsctlRun {
  const fin = finished(r.events);
  return {
    wallMs: Math.round(r.ms),
    runMs: fin?.ms ?? -1,
    maxConnectMs: Math.max(0, ...ofType(r.events, "host.connected").map((e) => e.ms)),
    maxFactsMs: Math.max(0, ...ofType(r.events, "host.facts").map((e) => e.ms)),
    changed: countStatus(r.events).changed,
    exitCode: r.code,
    tasks: Object.fromEntries(
      [...new Set(ofType(r.events, "task.result").map((e) => e.task))].map((t) => {
        const ms = ofType(r.events, "task.result").filter((e) => e.task === t).map((e) => e.ms);
        return [t, { meanMs: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length), maxMs: Math.max(...ms) }];
      }),
    ),
  };
}

/** sha256 of the files both tools write, comment lines left out (each tool says who wrote it). */
const FILES_BOTH_WRITE = MANAGED_FILES.filter((f) => !f.startsWith("/var/lib/lvsctl/"));
const UNCOMMENTED_SHA = FILES_BOTH_WRITE.map((f) => `echo "${f} $(grep -v '^#' ${f} 2>/dev/null | sha256sum | cut -d' ' -f1)"`).join("; ");

/** What both tools must leave on every host (state.json is lvsctl's own bookkeeping: left out). */
async function endState(lab: Lab, h: string): Promise<string> {
  const s: HostSnapshot = await snapshotHost(lab, h);
  return JSON.stringify([await lab.execOk(h, UNCOMMENTED_SHA), s.lo, s.sysctls, s.unitEnabled, s.unitActive]);
}

async function endStates(lab: Lab): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await pool(lab.hosts.map((h) => h.name), 8, async (h) => void out.set(h, await endState(lab, h)));
  return out;
}

interface AnsibleRun {
  wallMs: number;
  changed: number;
}

async function benchN(n: number, rounds: number, entry: string, lvsctlOnly: boolean, log: (s: string) => void) {
  const tBoot = performance.now();
  const lab = await Lab.up({ hosts: n, prefix: "rs" });
  log(`lab of ${n} hosts up in ${Math.round(performance.now() - tBoot)} ms (slot ${lab.slot})`);
  const tmp = mkdtempSync(join(tmpdir(), `lvsctl-bench-${n}-`));
  try {
    await pool(lab.hosts.map((h) => h.name), 8, async (h) => void (await lab.waitBooted(h)));
    const names = lab.hosts.map((h) => h.name);
    const vip = lab.freeAddress(0);
    const inv = writeLabInventory(lab, {
      directors: ["ds1", "ds2"],
      realservers: names,
      hostSettings: { ds1: { address: lab.freeAddress(40) }, ds2: { address: lab.freeAddress(41) } },
      services: [{ vip, port: 80, real_servers: names }],
      file: join(tmp, "inventory.yml"),
    });
    const ansibleInv = lab.writeAnsibleInventory(join(tmp, "ansible-hosts.ini"), lab.deployUser);
    const varsFile = join(tmp, "vars.json");
    writeFileSync(varsFile, JSON.stringify({ vips: [vip], iface: "eth0" }));
    const reset = async () => pool(names, 8, (h) => resetRealServer(lab, h));

    const lv = async (label: string, wantChanged: (c: number) => boolean): Promise<LvsctlRun> => {
      const r = await runCli(["bootstrap", inv, "--known-hosts", lab.knownHostsFile, "--json"], { entry, timeoutMs: 600_000 });
      const f = lvsctlFigures(r);
      if (f.exitCode !== 0 || !wantChanged(f.changed)) throw new Error(`lvsctl ${label} on ${n} hosts: exit ${r.code}, changed ${f.changed}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
      log(`lvsctl  ${label.padEnd(9)} ${n} hosts: ${f.wallMs} ms wall (executor ${f.runMs} ms, slowest connect ${f.maxConnectMs} ms, slowest facts ${f.maxFactsMs} ms), changed ${f.changed}`);
      log(`        tasks (mean/max ms): ${Object.entries(f.tasks).map(([t, x]) => `${t} ${x.meanMs}/${x.maxMs}`).join(", ")}`);
      return f;
    };
    const an = async (label: string, controlDir: string, wantChanged: (c: number) => boolean): Promise<AnsibleRun> => {
      const env = {
        ANSIBLE_PIPELINING: "1",
        ANSIBLE_HOST_KEY_CHECKING: "True",
        ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
        ANSIBLE_LOCAL_TEMP: join(tmp, "ansible-local"),
        ANSIBLE_RETRY_FILES_ENABLED: "False",
        ANSIBLE_NOCOLOR: "1",
        ANSIBLE_FORCE_COLOR: "0",
        ANSIBLE_STDOUT_CALLBACK: "default",
      };
      const r = await runProc("ansible-playbook", ["-i", ansibleInv, PLAYBOOK, "-f", String(n), "-e", `@${varsFile}`], env, 1_200_000);
      const recap = ansibleRecap(r.stdout);
      const changed = sum(recap, "changed");
      if (r.code !== 0 || Object.keys(recap).length !== n || sum(recap, "failed") + sum(recap, "unreachable") > 0 || !wantChanged(changed)) {
        throw new Error(`ansible ${label} on ${n} hosts: exit ${r.code}, changed ${changed}, recap ${JSON.stringify(recap).slice(0, 500)}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-3000)}`);
      }
      log(`ansible ${label.padEnd(9)} ${n} hosts: ${Math.round(r.ms)} ms wall, changed ${changed} (recap)`);
      return { wallMs: Math.round(r.ms), changed };
    };

    const rows: { lvsctl: { first: LvsctlRun; noChange: LvsctlRun }; ansible?: { first: AnsibleRun; noChange: AnsibleRun; noChangeWarm: AnsibleRun }; sameEndState?: boolean }[] = [];
    for (let round = 0; round < rounds; round++) {
      await reset();
      const first = await lv("first", (c) => c === CHANGED_ON_FRESH_HOST.length * n);
      const noChange = await lv("no-change", (c) => c === 0);
      if (lvsctlOnly) {
        rows.push({ lvsctl: { first, noChange } });
        continue;
      }
      const lvState = await endStates(lab);
      await reset();
      const aFirst = await an("first", mkdtempSync(join(tmp, "cp-")), (c) => c > 0);
      const aNo = await an("no-change", mkdtempSync(join(tmp, "cp-")), (c) => c === 0);
      const warmDir = mkdtempSync(join(tmp, "cp-"));
      await an("warm-up", warmDir, (c) => c === 0);
      const aWarm = await an("no-change", warmDir, (c) => c === 0);
      const anState = await endStates(lab);
      const same = names.every((h) => lvState.get(h) === anState.get(h));
      if (!same) {
        const h = names.find((x) => lvState.get(x) !== anState.get(x))!;
        log(`WARNING: end states differ on ${h}:\n  lvsctl  ${lvState.get(h)}\n  ansible ${anState.get(h)}`);
      }
      rows.push({ lvsctl: { first, noChange }, ansible: { first: aFirst, noChange: aNo, noChangeWarm: aWarm }, sameEndState: same });
    }
    return rows;
  } finally {
    // A teardown problem must not throw away the figures measured.
    await lab.down().catch((e: unknown) => log(`WARNING: lab teardown: ${e instanceof Error ? e.message : String(e)}`));
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function startupMs(entry: string): Promise<{ compiled: number; tsx: number }> {
  const time = async (args: string[]) => {
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) ts.push((await runProc(process.execPath, args, {}, 60_000)).ms);
    return Math.round(Math.min(...ts));
  };
  return { compiled: await time([entry, "--version"]), tsx: await time([join(projectRoot, "bin", "lvsctl.js"), "--version"]) };
}

async function main() {
  const { hosts: hostCounts, rounds, lvsctlOnly, cluster, clusterOnly } = parseArgs(process.argv.slice(2));
  const hosts = clusterOnly ? [] : hostCounts;
  const why = labPrerequisites() ?? (cluster !== undefined ? qemuPrerequisites() : undefined);
  if (why) throw new Error(`cannot run the bench: ${why}`);
  const log = (s: string) => process.stderr.write(`# ${s}\n`);
  const entry = await compileCli(BUILD);
  log(`compiled src/ into ${relative(projectRoot, BUILD)}/`);
  const startup = await startupMs(entry);
  log(`startup (\`lvsctl --version\`, best of 3): compiled ${startup.compiled} ms, through tsx ${startup.tsx} ms`);
  const ansibleVersion = hosts.length && !lvsctlOnly ? ((await runProc("ansible-playbook", ["--version"], {}, 60_000)).stdout.split("\n")[0] ?? "") : "";
  const results: Record<string, unknown>[] = [];
  const table: string[] = [];
  const fmt = (ms: number) => (ms / 1000).toFixed(2);
  table.push(`${"hosts".padStart(5)}  ${"tool".padEnd(8)}  ${"first run s".padStart(11)}  ${"no-change s".padStart(11)}  ${"ratio ansible/lvsctl".padStart(20)}`);
  for (const n of hosts) {
    // Other work on the machine (the lab shares its cores) moves every figure: record it.
    const loadBefore = Number(loadavg()[0]!.toFixed(1));
    const rows = await benchN(n, rounds, entry, lvsctlOnly, log);
    const loadAfter = Number(loadavg()[0]!.toFixed(1));
    log(`load average (1 min) before ${loadBefore}, after ${loadAfter}`);
    for (const r of rows) {
      table.push(`${String(n).padStart(5)}  ${"lvsctl".padEnd(8)}  ${fmt(r.lvsctl.first.wallMs).padStart(11)}  ${fmt(r.lvsctl.noChange.wallMs).padStart(11)}  ${"".padStart(20)}`);
      const lvsctl = { firstMs: r.lvsctl.first.wallMs, noChangeMs: r.lvsctl.noChange.wallMs, first: r.lvsctl.first, noChange: r.lvsctl.noChange };
      if (!r.ansible) {
        results.push({ hosts: n, lvsctl, loadavg1: [loadBefore, loadAfter] });
        continue;
      }
      const ratioFirst = r.ansible.first.wallMs / r.lvsctl.first.wallMs;
      const ratioNo = r.ansible.noChange.wallMs / r.lvsctl.noChange.wallMs;
      table.push(`${String(n).padStart(5)}  ${"ansible".padEnd(8)}  ${fmt(r.ansible.first.wallMs).padStart(11)}  ${fmt(r.ansible.noChange.wallMs).padStart(11)}  ${`${ratioFirst.toFixed(1)}x / ${ratioNo.toFixed(1)}x`.padStart(20)}`);
      results.push({
        hosts: n,
        lvsctl,
        ansible: { firstMs: r.ansible.first.wallMs, noChangeMs: r.ansible.noChange.wallMs, noChangeWarmControlPersistMs: r.ansible.noChangeWarm.wallMs },
        ratio: { first: Number(ratioFirst.toFixed(2)), noChange: Number(ratioNo.toFixed(2)) },
        sameEndState: r.sameEndState,
        loadavg1: [loadBefore, loadAfter],
      });
    }
  }
  let clusterResult: ClusterResult | undefined;
  if (cluster !== undefined) {
    const tmp = mkdtempSync(join(tmpdir(), "lvsctl-bench-cluster-"));
    try {
      clusterResult = await benchCluster(cluster, rounds, entry, tmp, log);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (hosts.length) process.stdout.write(table.join("\n") + "\n");
  if (clusterResult) {
    const c = clusterResult.cost;
    process.stdout.write(`${clusterResult.table}\nno-change: the whole cluster (${clusterResult.directors} directors + ${clusterResult.realServers} real servers) ${(c.noChangeMedianMs.cluster / 1000).toFixed(2)} s, the real servers alone ${(c.noChangeMedianMs.realServersOnly / 1000).toFixed(2)} s (medians; ${c.ratio}x)\n`);
  }
  const targets = results.map((r) => {
    const x = r as { hosts: number; ratio?: { first: number; noChange: number }; lvsctl: { noChangeMs: number } };
    return {
      hosts: x.hosts,
      ...(x.ratio ? { ratioAtLeast5: x.ratio.first >= 5 && x.ratio.noChange >= 5 } : {}),
      ...(x.hosts === 50 ? { noChange50Under3s: x.lvsctl.noChangeMs < 3000 } : {}),
    };
  });
  process.stdout.write(JSON.stringify({ bench: "deploy", ansible: ansibleVersion, node: process.version, startupMs: startup, results, targets, ...(clusterResult ? { cluster: { ...clusterResult, table: undefined } } : {}) }) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/deploy failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
