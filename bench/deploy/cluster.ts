// The whole-cluster case of bench/deploy (issue 9 item 7): `lvsctl deploy` over 2 directors (qemu
// guests with Debian's kernel, a real IPVS table, keepalived from the distribution's package) and
// N real servers (lab containers, as in the real-server-only case), against `lvsctl bootstrap` of
// the same real servers from the same inventory, in the same run: first runs, then no-change runs
// of each. The real servers' director-facing interface is given (lvs_interface: eth0): the
// containers have no route to the guests' subnet. The service has no health check, so the
// directors' IPVS tables hold every real server, as the deploy's gate expects, although the guests
// cannot reach the containers (nothing is sent through the VIP here).
import { loadavg } from "node:os";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, QemuLab } from "../../src/lab/index.js";
import { pool } from "../../src/lab/proc.js";
import { changedTasks, countStatus, finished, ofType, runCli, type CliRun } from "../../test/lab/helpers/index.js";
import { clusterCost, formatClusterTable, type CaseFigures } from "./cluster-table.js";

const DIRECTORS = ["lb1", "lb2"] as const;

export interface ClusterResult {
  realServers: number;
  directors: number;
  cases: CaseFigures[];
  cost: ReturnType<typeof clusterCost>;
  /** Per run: exit code, changed count, executor time, slowest connect and facts, gate times. */
  runs: { what: string; code: number | null; wallMs: number; runMs: number; changed: number; changedTasks: string[]; maxConnectMs: number; maxFactsMs: number; gatesMs: Record<string, number> }[];
  labUpMs: { directors: number; realServers: number };
  loadavg1: [number, number];
  table: string;
}

export async function benchCluster(n: number, rounds: number, entry: string, tmp: string, log: (s: string) => void): Promise<ClusterResult> {
  const load0 = Number(loadavg()[0]!.toFixed(1));
  let t = performance.now();
  const qlab = await QemuLab.up({ guests: [...DIRECTORS], log });
  const qUp = Math.round(performance.now() - t);
  let lab: Lab | undefined;
  try {
    t = performance.now();
    lab = await Lab.up({ hosts: n, prefix: "rs" });
    const L = lab;
    await pool(L.hosts.map((h) => h.name), 8, async (h) => void (await L.waitBooted(h)));
    const rUp = Math.round(performance.now() - t);
    log(`whole cluster: ${DIRECTORS.length} qemu directors up in ${qUp} ms, ${n} real servers in ${rUp} ms`);
    const vip = qlab.freeAddress(0);
    const names = L.hosts.map((h) => h.name);
    const inventory = join(tmp, "cluster-inventory.json");
    writeFileSync(
      inventory,
      JSON.stringify({
        defaults: { connect_timeout: 20 },
        hosts: {
          ...Object.fromEntries(DIRECTORS.map((g) => [g, { address: qlab.guest(g).address, user: "root", key_file: qlab.keyFile }])),
          ...Object.fromEntries(names.map((h) => [h, { address: L.host(h).address, user: L.deployUser, become: true, key_file: L.keyFile, vars: { lvs_interface: "eth0" } }])),
        },
        groups: { directors: { hosts: [...DIRECTORS] }, realservers: { hosts: names } },
        vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 62, priority: 100, members: { lb1: { priority: 150 }, lb2: { priority: 100 } }, advert_int: 1, virtual_ipaddress: [`${vip}/24`] }],
        virtual_servers: [{ vip, port: 80, lb_kind: "DR", lb_algo: "rr", delay_loop: 5, real_servers: names.map((h) => ({ host: h, port: 80 })) }],
      }) + "\n",
    );
    const kh = ["--known-hosts", qlab.knownHostsFile, "--known-hosts", L.knownHostsFile];
    const runs: ClusterResult["runs"] = [];
    const one = async (what: string, cmd: "bootstrap" | "deploy", wantNoChange: boolean): Promise<number> => {
      const r: CliRun = await runCli([cmd, inventory, "--json", ...kh], { entry, timeoutMs: 30 * 60_000 });
      const fin = finished(r.events);
      const changed = countStatus(r.events).changed;
      const gatesMs = Object.fromEntries(ofType(r.events, "gate.result").map((e) => [e.host, e.ms]));
      const fig = {
        what,
        code: r.code,
        wallMs: Math.round(r.ms),
        runMs: fin?.ms ?? -1,
        changed,
        changedTasks: changedTasks(r.events),
        maxConnectMs: Math.max(0, ...ofType(r.events, "host.connected").map((e) => e.ms)),
        maxFactsMs: Math.max(0, ...ofType(r.events, "host.facts").map((e) => e.ms)),
        gatesMs,
      };
      runs.push(fig);
      log(`${what}: exit ${r.code} in ${fig.wallMs} ms (executor ${fig.runMs} ms, slowest connect ${fig.maxConnectMs} ms, facts ${fig.maxFactsMs} ms), changed ${changed}${fig.changedTasks.length ? ` (${fig.changedTasks.join(", ")})` : ""}${Object.keys(gatesMs).length ? `, gates ${Object.entries(gatesMs).map(([h, ms]) => `${h} ${ms} ms`).join(", ")}` : ""}`);
      if (r.code !== 0 || (wantNoChange && changed !== 0)) throw new Error(`${what}: exit ${r.code}, changed ${changed}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-3000)}`);
      return fig.wallMs;
    };
    const rsOnly: CaseFigures = { name: "real servers only (bootstrap)", hosts: n, firstMs: await one("bootstrap, first", "bootstrap", false), noChangeMs: [] };
    for (let i = 0; i < rounds; i++) rsOnly.noChangeMs.push(await one(`bootstrap, no-change ${i + 1}`, "bootstrap", true));
    const cluster: CaseFigures = { name: "whole cluster (deploy)", hosts: n + DIRECTORS.length, firstMs: await one("deploy, first (directors from nothing)", "deploy", false), noChangeMs: [] };
    for (let i = 0; i < rounds; i++) cluster.noChangeMs.push(await one(`deploy, no-change ${i + 1}`, "deploy", true));
    // One more of the real servers alone now that the directors run too (the same load on the machine).
    for (let i = 0; i < rounds; i++) rsOnly.noChangeMs.push(await one(`bootstrap, no-change after the deploy ${i + 1}`, "bootstrap", true));
    const cases = [rsOnly, cluster];
    return { realServers: n, directors: DIRECTORS.length, cases, cost: clusterCost(rsOnly, cluster), runs, labUpMs: { directors: qUp, realServers: rUp }, loadavg1: [load0, Number(loadavg()[0]!.toFixed(1))], table: formatClusterTable(cases) };
  } finally {
    await lab?.down().catch((e: unknown) => log(`WARNING: lab teardown: ${e instanceof Error ? e.message : String(e)}`));
    await qlab.down().catch((e: unknown) => log(`WARNING: qemu lab teardown: ${e instanceof Error ? e.message : String(e)}`));
  }
}
