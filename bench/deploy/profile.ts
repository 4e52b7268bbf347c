// Where lvsctl's bootstrap time goes, per remote operation: runs the bootstrap through the API
// (src/run bootstrap(), the same executor the CLI calls) on N fresh lab hosts with the real
// SshConnector wrapped in a timing one, first run and no-change run, and prints per kind of
// operation (connect, facts, each command's first word, putFile) the count, mean and max ms, and
// the controller's CPU time (user+system) against the wall time: near 2 cores x wall means the
// controller itself is the bottleneck, far below means it waits on the hosts.
//
//   npx tsx bench/deploy/profile.ts [--hosts 50]     (root: it boots the lab)
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { loadInventory } from "../../src/inventory/index.js";
import { bootstrap } from "../../src/run/index.js";
import { SshConnector } from "../../src/ssh/index.js";
import type { Command, ConnectTarget, Connector, HostConnection, HostKeyPolicy } from "../../src/ssh/types.js";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { writeLabInventory } from "../../test/lab/helpers/index.js";

type Samples = Map<string, number[]>;

/** Busy and total jiffies of the whole machine (/proc/stat's first line): lab hosts included. */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function kind(cmd: Command): string {
  if ("argv" in cmd) return cmd.argv.slice(0, cmd.argv[0] === "systemctl" ? 2 : 1).join(" ");
  return cmd.shell.includes("lvsctl-facts") || cmd.shell.length > 400 ? "facts (sh)" : `sh: ${cmd.shell.slice(0, 30)}`;
}

class TimingConnector implements Connector {
  constructor(
    private readonly inner: Connector,
    readonly samples: Samples,
  ) {}
  private add(k: string, ms: number) {
    const a = this.samples.get(k) ?? [];
    a.push(ms);
    this.samples.set(k, a);
  }
  async connect(target: ConnectTarget, policy: HostKeyPolicy): Promise<HostConnection> {
    const t = performance.now();
    const c = await this.inner.connect(target, policy);
    this.add("connect", performance.now() - t);
    return {
      host: c.host,
      exec: async (cmd, opts) => {
        const t0 = performance.now();
        try {
          return await c.exec(cmd, opts);
        } finally {
          this.add(`exec ${kind(cmd)}`, performance.now() - t0);
        }
      },
      putFile: async (path, content, opts) => {
        const t0 = performance.now();
        try {
          return await c.putFile(path, content, opts);
        } finally {
          this.add("putFile", performance.now() - t0);
        }
      },
      close: () => c.close(),
    };
  }
}

function report(label: string, samples: Samples, wallMs: number, cpu: NodeJS.CpuUsage, machineBusy: number): void {
  const rows = [...samples.entries()].sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0));
  process.stdout.write(`\n${label}: wall ${Math.round(wallMs)} ms, controller CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms (${((cpu.user + cpu.system) / 1000 / wallMs).toFixed(2)} cores); the whole machine was ${(machineBusy * 100).toFixed(0)}% busy (${cpus().length} cores, lab hosts included)\n`);
  process.stdout.write(`${"operation".padEnd(34)} ${"count".padStart(6)} ${"mean ms".padStart(8)} ${"max ms".padStart(8)}\n`);
  for (const [k, v] of rows) {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    process.stdout.write(`${k.padEnd(34)} ${String(v.length).padStart(6)} ${mean.toFixed(0).padStart(8)} ${Math.max(...v).toFixed(0).padStart(8)}\n`);
  }
}

async function main() {
  const i = process.argv.indexOf("--hosts");
  const n = i > 0 ? Number(process.argv[i + 1]) : 50;
  const why = labPrerequisites();
  if (why) throw new Error(`cannot run: ${why}`);
  const lab = await Lab.up({ hosts: n, prefix: "rs" });
  try {
    for (const h of lab.hosts) await lab.waitBooted(h.name);
    const names = lab.hosts.map((h) => h.name);
    const inv = writeLabInventory(lab, {
      directors: ["ds1", "ds2"],
      realservers: names,
      hostSettings: { ds1: { address: lab.freeAddress(40) }, ds2: { address: lab.freeAddress(41) } },
    });
    const loaded = await loadInventory(inv);
    if (!loaded.ok) throw new Error("inventory invalid");
    for (const label of ["first run", "no-change run"]) {
      const samples: Samples = new Map();
      const m0 = machineTicks();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await bootstrap(loaded.cluster!, {
        connector: new TimingConnector(new SshConnector(), samples),
        policy: { knownHostsFiles: [lab.knownHostsFile], acceptNew: false },
      });
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const m1 = machineTicks();
      if (r.exitCode !== 0) throw new Error(`${label}: exit ${r.exitCode}`);
      report(`${n} hosts, ${label}`, samples, wall, cpu, (m1.busy - m0.busy) / (m1.total - m0.total));
    }
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
