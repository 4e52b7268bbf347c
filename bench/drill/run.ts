// bench/drill (issue 11 item 6): lvsd against keepalived on the same qemu lab in one run, every
// drill mode, with the kernel's connection sync (global_defs lvs_sync_daemon) off and on.
//
//   npx tsx bench/drill/run.ts [--modes stop,kill,crash,link] [--backends keepalived,lvsd] [--sync off,on]
//                              [--held 8] [--link-down 8]          (root, qemu; about 30-40 minutes)
//
// The lab is the one the qemu drill test uses: two directors lb1 (priority 150) and lb2 (100) as
// qemu guests with Debian's kernel (a real IPVS table), two real servers in namespaces on the
// lab's bridge answering HTTP, one DR service on the VIP, VRRPv2 at 1 s. `lvsctl deploy` sets the
// cluster up (each backend, sync off and on, in turn: each switch is one deploy), then
// `lvsctl drill --json` runs each mode over both directors with this machine as the client (a
// request every 100 ms, and --held long-lived HTTP keep-alive connections opened before each step
// and asked once more after it). While a drill runs, both directors sample themselves every second:
// the kernel's sync daemons (`ipvsadm -L --daemon`) and the ESTABLISHED entries to the VIP in its
// connection table (`ipvsadm -Lnc`), to show where connections were (or were not) synced.
// Prints a table and, last, one line of JSON with every figure. Emulated guests on a shared 2-core
// machine: the gaps are this lab's, compare the columns, not the absolute values.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compileCli } from "../compile-cli.js";
import { projectRoot, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";
import { qemuRealServers, type QemuRealServers } from "../../src/lab/qemu-realservers.js";
import { changedTasks, runCli, type CliRun } from "../../test/lab/helpers/index.js";
import { CONNS_MARK, STATES_MARK, formatTable, linesOf, parseDaemons, parseSampleLog, SAMPLE_MARK, summarizeSamples, syncedLongLived, targets, type Backend, type DrillRun, type Mode, type StepFigures, type SyncSample } from "./summary.js";

const here = dirname(fileURLToPath(import.meta.url));
const BUILD = join(here, ".build");
const ADDON = join(projectRoot, "native/build/Release/lvsd_socket.node");
const GUESTS = ["lb1", "lb2"] as const;
const MODES: readonly Mode[] = ["stop", "kill", "link"];
/** crash (SIGKILL, systemd left to restart the daemon) only when asked: --modes crash. */
const ALL_MODES: readonly Mode[] = ["stop", "kill", "crash", "link"];
/** How often the directors' sync daemons and connection tables are sampled during a drill. */
const SAMPLE_MS = 1000;

interface Options {
  modes: Mode[];
  backends: Backend[];
  sync: boolean[];
  held: number;
  linkDown: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { modes: [...MODES], backends: ["keepalived", "lvsd"], sync: [false, true], held: 8, linkDown: 8 };
  const usage = "usage: bench/drill/run.ts [--modes stop,kill,crash,link] [--backends keepalived,lvsd] [--sync off,on] [--held 8] [--link-down 8]";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value; ${usage}`);
    const list = v.split(",").map((x) => x.trim());
    if (a.startsWith("--modes")) o.modes = ALL_MODES.filter((m) => list.includes(m));
    else if (a.startsWith("--backends")) o.backends = (["keepalived", "lvsd"] as const).filter((b) => list.includes(b));
    else if (a.startsWith("--sync")) o.sync = [false, true].filter((s) => list.includes(s ? "on" : "off"));
    else if (a.startsWith("--held")) o.held = Number(v);
    else if (a.startsWith("--link-down")) o.linkDown = Number(v);
    else throw new Error(`unknown argument ${a}; ${usage}`);
  }
  if (!o.modes.length || !o.backends.length || !o.sync.length) throw new Error(`nothing to run; ${usage}`);
  if (!(Number.isInteger(o.held) && o.held >= 1 && o.held <= 64)) throw new Error("--held: 1 to 64");
  if (!(Number.isInteger(o.linkDown) && o.linkDown >= 4 && o.linkDown <= 60)) throw new Error("--link-down: 4 to 60 seconds (the backup needs 3 adverts and its skew to take over)");
  return o;
}

/**
 * The order of the configurations: each backend with sync off and on, arranged so that each
 * switch changes one thing (keepalived off -> on, -> lvsd on -> off).
 */
function configurations(o: Options): { backend: Backend; sync: boolean }[] {
  const out: { backend: Backend; sync: boolean }[] = [];
  let syncs = [...o.sync];
  for (const backend of o.backends) {
    for (const sync of syncs) out.push({ backend, sync });
    syncs = syncs.reverse();
  }
  return out;
}

const log = (s: string) => process.stderr.write(`# [${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const why = qemuPrerequisites() ?? (o.backends.includes("lvsd") && !existsSync(ADDON) ? "needs lvsd's native addon: run npm run build:native" : undefined);
  if (why) throw new Error(`cannot run the bench: ${why}`);
  const entry = await compileCli(BUILD);
  log(`compiled src/ into ${relative(projectRoot, BUILD)}/`);
  const tmp = mkdtempSync(join(tmpdir(), "lvsctl-bench-drill-"));
  const bundleDir = join(tmp, "lvsd-bundle");
  if (o.backends.includes("lvsd")) {
    const b = spawnSync(process.execPath, [join(projectRoot, "scripts/build-lvsd.mjs"), "--outdir", bundleDir], { encoding: "utf8", timeout: 180_000 });
    if (b.status !== 0) throw new Error(`building lvsd's bundle failed: ${b.stderr}`);
  }
  const load0 = loadavg().map((x) => Number(x.toFixed(1)));
  const t0 = Date.now();
  let lab: QemuLab | undefined;
  let rs: QemuRealServers | undefined;
  const runs: DrillRun[] = [];
  const deploys: { backend: Backend; sync: boolean; what: string; code: number | null; ms: number; changed: string[] }[] = [];
  const syncDiag: { backend: Backend; sync: boolean; mode: Mode; daemonsBefore: Record<string, string>; seen: ReturnType<typeof summarizeSamples>; synced: ReturnType<typeof syncedLongLived>; samples: SyncSample[] }[] = [];
  const retries: { backend: Backend; sync: boolean; mode: Mode; attempt: number; why: string }[] = [];
  let labUpMs = 0;
  try {
    lab = await QemuLab.up({ guests: [...GUESTS], log });
    labUpMs = Date.now() - t0;
    const vip = lab.freeAddress(0);
    rs = await qemuRealServers(lab, vip, ["rs1", "rs2"]);
    const inventory = join(tmp, "inventory.json");
    const kh = ["--known-hosts", lab.knownHostsFile];
    const L = lab;
    const inventoryText = (backend: Backend, sync: boolean) =>
      JSON.stringify({
        defaults: { user: "root", key_file: L.keyFile, connect_timeout: 20 },
        hosts: Object.fromEntries(GUESTS.map((g) => [g, { address: L.guest(g).address }])),
        groups: { directors: { hosts: [...GUESTS] } },
        director: { backend },
        ...(sync ? { global_defs: { lvs_sync_daemon: { interface: "eth0", instance: "VI_1" } } } : {}),
        vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 62, priority: 100, members: { lb1: { priority: 150 }, lb2: { priority: 100 } }, advert_int: 1, virtual_ipaddress: [`${vip}/24`] }],
        virtual_servers: [{ vip, port: 80, lb_kind: "DR", lb_algo: "rr", delay_loop: 5, real_servers: rs!.servers.map((r) => ({ address: r.address, port: 80 })) }],
      }) + "\n";

    const deploy = async (backend: Backend, sync: boolean, what: string): Promise<CliRun> => {
      const r = await runCli(["deploy", inventory, "--json", ...kh, ...(backend === "lvsd" ? ["--lvsd-bundle", bundleDir] : [])], { entry, timeoutMs: 20 * 60_000 });
      const changed = changedTasks(r.events);
      deploys.push({ backend, sync, what, code: r.code, ms: Math.round(r.ms), changed });
      log(`deploy ${backend}, sync ${sync ? "on" : "off"} (${what}): exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; changed: ${changed.join(", ") || "nothing"}`);
      if (r.code !== 0) log(`deploy output (tail):\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
      return r;
    };

    /**
     * Both directors sample themselves during a drill (a loop on each, every SAMPLE_MS: its sync
     * daemons and the ESTABLISHED entries to the VIP), so a link cut does not blind it and no SSH
     * round trip per sample loads the emulated guests; read back when the drill is over.
     */
    // Every entry to the VIP counted by state (one line per state, so a table of probes' TIME_WAITs stays small), the ESTABLISHED ones listed.
    const LOOP = [
      "while :; do",
      `  echo "${SAMPLE_MARK} $(date +%s%3N)"`,
      "  ipvsadm -L --daemon",
      `  echo ${CONNS_MARK}`,
      `  ipvsadm -Lnc | awk -v v=${vip}:80 '$5 == v { n[$3]++; if ($3 == "ESTABLISHED") print } END { for (s in n) print "${STATES_MARK}", s, n[s] }'`,
      `  sleep ${SAMPLE_MS / 1000}`,
      "done",
    ].join("\n");
    const sampler = async () => {
      for (const g of GUESTS) {
        await L.put(g, "/run/bench-drill-sampler.sh", LOOP + "\n", 0o755);
        await L.execOk(g, "rm -f /run/bench-drill.samples; setsid nohup sh /run/bench-drill-sampler.sh >/run/bench-drill.samples 2>&1 </dev/null & echo $! >/run/bench-drill.sampler", { timeoutMs: 30_000 });
      }
      return async (): Promise<SyncSample[]> => {
        const samples: SyncSample[] = [];
        for (const g of GUESTS) {
          const r = await L.exec(g, ["sh", "-c", "kill $(cat /run/bench-drill.sampler) 2>/dev/null; cat /run/bench-drill.samples"], { timeoutMs: 60_000 });
          const guestT0 = Number(/@@sample (\d+)/.exec(r.stdout)?.[1] ?? 0);
          // On each guest's own clock, from its first sample (both loops start within a second or two).
          samples.push(...parseSampleLog(r.stdout, g, vip, 80, guestT0));
        }
        return samples;
      };
    };

    const deployedOnce = new Set<Backend>();
    for (const { backend, sync } of configurations(o)) {
      writeFileSync(inventory, inventoryText(backend, sync));
      const d = await deploy(backend, sync, "switch");
      if (d.code === 0 && !deployedOnce.has(backend)) {
        // The first time a backend is in place: what a deploy that changes nothing costs (issue 9 item 7).
        await deploy(backend, sync, "no-change");
        deployedOnce.add(backend);
      }
      const daemonsBefore: Record<string, string> = {};
      for (const g of GUESTS) daemonsBefore[g] = parseDaemons((await L.exec(g, "ipvsadm -L --daemon", { timeoutMs: 10_000 })).stdout).join("+") || "none";
      log(`sync daemons: ${GUESTS.map((g) => `${g} ${daemonsBefore[g]}`).join(", ")}`);
      for (const mode of o.modes) {
        if (d.code !== 0) {
          runs.push({ backend, sync, mode, code: null, ms: 0, pass: false, steps: [], error: `the deploy before it failed (exit ${d.code})` });
          continue;
        }
        let rep: { pass: boolean; client: string; steps: StepFigures[]; stoppedEarly?: string; health?: { problems: string[] } } | undefined;
        let r: CliRun | undefined;
        let samples: SyncSample[] = [];
        // A drill that refused to start (its health probe timed out on the loaded machine) is run again, at most twice.
        for (let attempt = 1; attempt <= 3; attempt++) {
          const stopSampling = await sampler();
          r = await runCli(["drill", inventory, "--mode", mode, "--json", "--held", String(o.held), ...kh, ...(mode === "link" ? ["--link-down", String(o.linkDown)] : [])], { entry, timeoutMs: 15 * 60_000 });
          samples = await stopSampling();
          try {
            rep = JSON.parse(r.stdout);
          } catch {
            rep = undefined;
          }
          if (!rep || rep.steps.length > 0 || attempt === 3) break;
          const why = [rep.stoppedEarly ?? "?", ...(rep.health?.problems ?? [])].join("; ");
          log(`drill ${backend} sync ${sync ? "on" : "off"} ${mode}: did not start (${why}); again in 10 s`);
          retries.push({ backend, sync, mode, attempt, why });
          await new Promise((res) => setTimeout(res, 10_000));
        }
        if (!r) continue;
        const seen = summarizeSamples(samples);
        const synced = syncedLongLived(samples);
        syncDiag.push({ backend, sync, mode, daemonsBefore, seen, synced, samples });
        if (!rep) {
          runs.push({ backend, sync, mode, code: r.code, ms: Math.round(r.ms), pass: false, steps: [], error: `no JSON report: ${(r.stdout + r.stderr).slice(-500)}` });
          log(`drill ${backend} sync ${sync ? "on" : "off"} ${mode}: exit ${r.code}, no report:\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
          continue;
        }
        const steps: StepFigures[] = rep.steps.map((s) => ({
          director: s.director,
          pass: s.pass,
          gapMs: s.gapMs,
          sent: s.sent,
          failed: s.failed,
          ...(s.movedMs !== undefined ? { movedMs: s.movedMs } : {}),
          ...(s.backMs !== undefined ? { backMs: s.backMs } : {}),
          ...(s.held ? { held: s.held } : {}),
          failures: s.failures,
        }));
        runs.push({ backend, sync, mode, code: r.code, ms: Math.round(r.ms), pass: rep.pass, steps });
        log(
          `drill ${backend} sync ${sync ? "on" : "off"} ${mode}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s (client ${rep.client})${rep.stoppedEarly ? `, stopped early: ${rep.stoppedEarly}` : ""}; ` +
            steps.map((s) => `${s.director}: ${s.pass ? "pass" : "FAIL"} gap ${s.gapMs} ms, failed ${s.failed}/${s.sent}, held ${s.held ? `${s.held.survived}/${s.held.opened}` : "-"}${s.held?.notes.length ? ` (${s.held.notes.slice(0, 3).join("; ")})` : ""}${s.failures.length ? ` [${s.failures.join("; ")}]` : ""}`).join(" | "),
        );
        log(`  sync daemons and ESTABLISHED entries seen: ${Object.entries(seen).map(([g, x]) => `${g} ${x.daemons}, up to ${x.maxEstablished ?? "-"} established`).join("; ")}; long-lived connections and where else they were seen: ${Object.entries(synced).map(([g, x]) => `${g} ${x.longLived} (${Object.entries(x.seenOn).map(([h, k]) => `on ${h} ${k}`).join(", ")})`).join("; ")}`);
      }
    }
  } finally {
    rs?.down();
    await lab?.down().catch((e: unknown) => log(`WARNING: lab teardown: ${e instanceof Error ? e.message : String(e)}`));
    rmSync(tmp, { recursive: true, force: true });
  }
  const lines = linesOf(runs, o.modes);
  const load1 = loadavg().map((x) => Number(x.toFixed(1)));
  process.stdout.write(formatTable(lines) + "\n");
  for (const d of deploys) process.stdout.write(`deploy ${d.backend} sync ${d.sync ? "on" : "off"} (${d.what}): ${(d.ms / 1000).toFixed(1)} s, exit ${d.code}\n`);
  process.stdout.write(
    JSON.stringify({
      bench: "drill",
      node: process.version,
      cores: (await import("node:os")).cpus().length,
      loadavg: { before: load0, after: load1 },
      wallMs: Date.now() - t0,
      labUpMs,
      options: o,
      targets: targets(lines),
      lines,
      runs,
      deploys,
      retries,
      sync: syncDiag.map((x) => ({ backend: x.backend, sync: x.sync, mode: x.mode, daemonsBefore: x.daemonsBefore, seen: x.seen, synced: x.synced, samples: x.samples.map((s) => [s.t, s.director, s.daemons?.join("+") ?? null, s.established, s.states ?? null]) })),
    }) + "\n",
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/drill failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
