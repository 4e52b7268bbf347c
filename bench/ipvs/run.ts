// Issue 10 item 6: programming a large IPVS table (default 1,000 services x 10 real servers) on a
// real IPVS kernel, side by side in one qemu guest: lvsd (its reconciler from the rendered
// lvsd.json) against `ipvsadm -R` (the same rules as a restore file) and against keepalived's
// checker (the rendered keepalived.conf of the same inventory); then lvsd's no-change reconcile
// (SIGHUP with the same file, and a SIGKILL + restart that adopts the table): writes and time.
// Usage (root, qemu lab prerequisites, npm run build:native first; run it under the lab's qemu lock):
//   npm run bench:ipvs -- [--services 1000] [--reals 10] [--reps 1] [--compare]
// --compare also runs lvsd with other write strategies (LVSD_IPVS_BATCH, src/daemon/ipvs/README.md):
// an ACK for every write ("each:256") and one write, one wait ("each:1").
// "Table complete" = /proc/net/ip_vs holds every service and destination, polled every 0.2 s
// inside the guest from the moment the program is started. The guest runs under qemu's software
// emulation, about 16x slower than the host: compare the columns, not the absolute figures.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LvsdConfig } from "../../src/daemon/config.js";
import { parseInventory } from "../../src/inventory/index.js";
import { renderKeepalivedConf, renderLvsdJson } from "../../src/render/index.js";
import { projectRoot, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SERVICES = arg("services", 1000);
const REALS = arg("reals", 10);
const REPS = arg("reps", 1);
/** lvsd's write strategies to run, the default ("" = batches of 256, ACK per datagram) last. */
const VARIANTS = process.argv.includes("--compare") ? ["each:1", "each:256", ""] : [""];
const G = "lb1";
const PORT = 9100;

const ip = (a: number, i: number) => `10.${a}.${(i >> 8) & 255}.${i & 255}`;

/** One inventory, rendered twice: keepalived.conf and lvsd.json, and the same rules for ipvsadm -R. */
function inputs(): { keepalived: string; lvsd: string; restore: string; lines: number } {
  const vs: string[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const rs = Array.from({ length: REALS }, (_, r) => `{ address: ${ip(90, s * REALS + r + 1)}, weight: ${1 + (r % 3)} }`).join(", ");
    vs.push(`  - { vip: ${ip(80, s + 1)}, port: 80, lb_algo: wrr, real_servers: [${rs}] }`);
  }
  const yaml = `hosts:
  ds1: { address: 10.77.0.10 }
  ds2: { address: 10.77.0.11 }
groups:
  directors: { hosts: [ds1, ds2] }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddress: [10.77.0.100/24] }
virtual_servers:
${vs.join("\n")}
`;
  const r = parseInventory(yaml, "bench-ipvs.yml");
  if (!r.ok) throw new Error(`bench inventory rejected: ${JSON.stringify(r.diagnostics).slice(0, 2000)}`);
  const opts = { resolveSecret: () => "x" };
  const lvsd = JSON.parse(renderLvsdJson(r.cluster, "ds1", opts)) as LvsdConfig;
  const ipvsOnly: LvsdConfig = { ...lvsd, instances: [], syncGroups: [], statusPort: PORT };
  const restore: string[] = [];
  for (const s of ipvsOnly.services) {
    restore.push(`-A -t ${s.vip}:${s.port} -s ${s.scheduler}`);
    for (const rs of s.realServers) restore.push(`-a -t ${s.vip}:${s.port} -r ${rs.address}:${rs.port} -g -w ${rs.weight}`);
  }
  return { keepalived: renderKeepalivedConf(r.cluster, "ds1", opts), lvsd: JSON.stringify(ipvsOnly), restore: `${restore.join("\n")}\n`, lines: restore.length };
}

// Runs in the guest: start one programmer, wait for the whole table, print the milliseconds.
const GUEST_SCRIPT = `#!/bin/bash
set -u
mode=$1; want=$2; batch=\${3:-}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
count() { echo $(( $(wc -l < /proc/net/ip_vs) - 3 )); }
ipvsadm -C
t0=$(ms)
case $mode in
  ipvsadm) ipvsadm -R < /root/bench/rules ;;
  keepalived) setsid nohup keepalived --check --dont-fork --log-console -f /root/bench/keepalived.conf -p /run/ka.pid -c /run/ka-check.pid >/root/bench/ka.log 2>&1 </dev/null & echo $! > /run/ka-main.pid ;;
  lvsd) LVSD_IPVS_BATCH=$batch setsid nohup node /opt/lvsd/lvsd.cjs --config /root/bench/lvsd.json >/root/bench/lvsd.log 2>&1 </dev/null & echo $! > /run/lvsd.pid ;;
esac
while [ "$(count)" -lt "$want" ]; do sleep 0.2; done
t1=$(ms)
echo $((t1 - t0))
`;

async function main(): Promise<void> {
  const why = qemuPrerequisites();
  if (why) throw new Error(`bench/ipvs: ${why}`);
  const input = inputs();
  const bundleDir = mkdtempSync(join(tmpdir(), "lvsd-bundle-"));
  const b = spawnSync(process.execPath, [join(projectRoot, "scripts/build-lvsd.mjs"), "--outdir", bundleDir], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(b.stderr);
  const lab = await QemuLab.up({ guests: [G], log: (l) => console.error(l) });
  try {
    for (const f of ["lvsd.cjs", "lvsd-vrrp.cjs", "lvsd_socket.node"]) await lab.put(G, `/opt/lvsd/${f}`, readFileSync(join(bundleDir, f)), 0o755);
    await lab.put(G, "/root/bench/run.sh", GUEST_SCRIPT, 0o755);
    await lab.put(G, "/root/bench/rules", input.restore);
    await lab.put(G, "/root/bench/keepalived.conf", input.keepalived);
    await lab.put(G, "/root/bench/lvsd.json", input.lvsd);
    await lab.execOk(G, "modprobe ip_vs");
    const status = async () => {
      const r = await lab.execOk(G, `exec 3<>/dev/tcp/127.0.0.1/${PORT} && printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`);
      return JSON.parse(r.slice(r.indexOf("\r\n\r\n") + 4)) as { ipvs: { writes: number; passes: number } };
    };
    // One pass's own report, from lvsd's log: "start: ..." or "reload: ..." carries the pass's
    // ops, dumpMs and totalMs. (The status page's lastPass is whatever pass ran last: the periodic
    // ones every 5 s soon replace the start pass there.)
    interface PassLog { msg: string; reason: string; ops: number; dumpMs: number; writeMs: number; totalMs: number }
    const logRecords = async () =>
      (await lab.exec(G, "cat /root/bench/lvsd.log")).stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const waitLog = async (prefix: string, nth = 0): Promise<PassLog> => {
      for (let i = 0; i < 1200; i++) {
        const hits = (await logRecords()).filter((r) => typeof r.msg === "string" && r.msg.startsWith(prefix));
        if (hits.length > nth) return hits[nth] as unknown as PassLog;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`lvsd never logged "${prefix}": ${(await lab.exec(G, "tail -5 /root/bench/lvsd.log")).stdout}`);
    };
    const started = async () => (await logRecords()).find((r) => r.msg === "lvsd started") ?? {};
    const startupMs = async () => Number((await started()).startupMs ?? NaN);
    const rows: Record<string, number[]> = { ipvsadm: [], ipvsadmSave: [], keepalived: [], noChangeHup: [], noChangeRestart: [], noChangeHupDump: [], noChangeRestartDump: [], lvsdMain: [], lvsdConfig: [], lvsdPassEnd: [] };
    const writes: Record<string, number[]> = { noChangeHup: [], noChangeRestart: [] };
    const label = (v: string) => v || "batched";
    for (const v of VARIANTS) {
      for (const k of ["lvsd", "lvsdStartup", "lvsdPass", "lvsdDump", "lvsdWrites"]) rows[`${k}:${label(v)}`] = [];
      writes[`lvsdPass:${label(v)}`] = [];
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of ["ipvsadm", "keepalived"] as const) {
        const ms = Number((await lab.execOk(G, ["/root/bench/run.sh", mode, String(input.lines)], { timeoutMs: 30 * 60_000 })).trim());
        rows[mode]!.push(ms);
        console.error(`bench/ipvs: ${mode} ${ms} ms`);
        if (mode === "ipvsadm") {
          // reading the whole table back, as a no-change pass must: ipvsadm's own dump
          const save = Number((await lab.execOk(G, "t0=$(date +%s%N); ipvsadm -Sn >/dev/null; echo $(( ($(date +%s%N) - t0) / 1000000 ))")).trim());
          rows.ipvsadmSave!.push(save);
          console.error(`bench/ipvs: ipvsadm -Sn ${save} ms`);
        }
        if (mode === "keepalived") await lab.exec(G, "kill -KILL $(cat /run/ka-main.pid) $(cat /run/ka-check.pid) 2>/dev/null; sleep 1");
      }
      for (const [n, v] of VARIANTS.entries()) {
        const l = label(v);
        const ms = Number((await lab.execOk(G, ["/root/bench/run.sh", "lvsd", String(input.lines), v], { timeoutMs: 30 * 60_000 })).trim());
        rows[`lvsd:${l}`]!.push(ms);
        // lvsd is running with its table: its start-up and its own pass
        const first = await waitLog("start:");
        rows[`lvsdStartup:${l}`]!.push(await startupMs());
        if (n === VARIANTS.length - 1) {
          const st = await started();
          rows.lvsdMain!.push(Number(st.mainAtMs ?? NaN));
          rows.lvsdConfig!.push(Number(st.configCheckedAtMs ?? NaN));
          rows.lvsdPassEnd!.push(Number((first as unknown as Record<string, unknown>).sinceProcessStartMs ?? NaN));
        }
        rows[`lvsdPass:${l}`]!.push(first.totalMs);
        rows[`lvsdDump:${l}`]!.push(first.dumpMs);
        rows[`lvsdWrites:${l}`]!.push(first.writeMs);
        writes[`lvsdPass:${l}`]!.push(first.ops);
        console.error(`bench/ipvs: lvsd (${l}) ${ms} ms to table complete, writes ${first.writeMs} ms`);
        if (n < VARIANTS.length - 1) await lab.exec(G, "kill -KILL $(cat /run/lvsd.pid); sleep 0.5");
      }
      // the default lvsd is still running: the no-change reconciles
      await lab.execOk(G, "kill -HUP $(cat /run/lvsd.pid)");
      const hup = await waitLog("reload:");
      rows.noChangeHup!.push(hup.totalMs);
      rows.noChangeHupDump!.push(hup.dumpMs);
      writes.noChangeHup!.push(hup.ops);
      await lab.execOk(G, "kill -KILL $(cat /run/lvsd.pid); sleep 0.5; setsid nohup node /opt/lvsd/lvsd.cjs --config /root/bench/lvsd.json >/root/bench/lvsd.log 2>&1 </dev/null & echo $! > /run/lvsd.pid");
      const adopted = await waitLog("start:");
      rows.noChangeRestart!.push(adopted.totalMs);
      rows.noChangeRestartDump!.push(adopted.dumpMs);
      writes.noChangeRestart!.push(adopted.ops);
      // the counters agree: a restart that adopts has written nothing since it started
      const st = await status();
      if (st.ipvs.writes !== 0) console.error(`bench/ipvs: the restarted lvsd has written ${st.ipvs.writes} times`);
      await lab.exec(G, "kill -KILL $(cat /run/lvsd.pid); ipvsadm -C");
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`\nIPVS table of ${SERVICES} services x ${REALS} real servers (${input.lines} rules), one qemu guest (software emulation, ~16x slower than the host), median of ${REPS}`);
    console.log(`| what | time |\n| --- | --- |`);
    console.log(`| ipvsadm -R (restore file), to table complete | ${s(med(rows.ipvsadm!))} |`);
    console.log(`| ipvsadm -Sn (the whole table read back) | ${s(med(rows.ipvsadmSave!))} |`);
    console.log(`| keepalived --check (rendered keepalived.conf), start to table complete | ${s(med(rows.keepalived!))} |`);
    for (const v of VARIANTS) {
      const l = label(v);
      const how = v === "" ? "batches of 256 writes, an ACK per datagram" : v === "each:1" ? "one write, one wait" : "batches of 256, an ACK per write";
      console.log(`| lvsd (${how}), start to table complete | ${s(med(rows[`lvsd:${l}`]!))} |`);
      console.log(`| ... its start-up, process start to VRRP running (before its first pass) | ${s(med(rows[`lvsdStartup:${l}`]!))} |`);
      if (v === "") console.log(`| ... of which node's boot and the bundle's load ${s(med(rows.lvsdMain!))}, then the config read and checked at ${s(med(rows.lvsdConfig!))}; first pass done at ${s(med(rows.lvsdPassEnd!))} | |`);
      console.log(`| ... its first pass: ${writes[`lvsdPass:${l}`]!.join(",")} writes in ${s(med(rows[`lvsdWrites:${l}`]!))} (the apply); the whole pass (dump, diff, writes) | ${s(med(rows[`lvsdPass:${l}`]!))} |`);
    }
    console.log(`| lvsd no-change reconcile on SIGHUP (writes: ${writes.noChangeHup!.join(",")}; dump ${s(med(rows.noChangeHupDump!))}) | ${s(med(rows.noChangeHup!))} |`);
    console.log(`| lvsd SIGKILL + restart, adoption pass (writes: ${writes.noChangeRestart!.join(",")}; dump ${s(med(rows.noChangeRestartDump!))}) | ${s(med(rows.noChangeRestart!))} |`);
    console.log(JSON.stringify({ bench: "ipvs", services: SERVICES, reals: REALS, rules: input.lines, reps: REPS, guest: "qemu-tcg", ms: rows, writes }));
  } finally {
    await lab.down();
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
