// bench/validate: how long `lvsctl validate` takes on inventories of 5k, 20k and 50k hosts, its
// own YAML and an Ansible INI inventory it imports, against `ansible-inventory -i FILE --list`
// reading the same INI inventory (the peer: Ansible's own reading of those hosts, in the same run).
//
//   npx tsx bench/validate/run.ts [--hosts 5000,20000,50000] [--rounds 1] [--timeout 300]
//
// lvsctl runs as compiled JavaScript (src/ transpiled by esbuild into bench/validate/.build/, as
// bench/deploy does), one new process per run, so its figure includes Node's start, reading the
// files and every rule. Both tools exit 0 on these inventories (checked). Prints progress on
// stderr, a table, then one line of JSON with every figure (median wall and CPU time, user +
// system through GNU time, per tool and size: on a shared machine the CPU time is the steadier).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileCli } from "../compile-cli.js";
import { ansibleInventory, lvsctlInventory } from "./generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const BUILD = join(here, ".build");

function parseArgs(argv: string[]): { hosts: number[]; rounds: number; timeoutSec: number } {
  let hosts = [5000, 20000, 50000];
  let rounds = 1;
  let timeoutSec = 300;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
    if (a.startsWith("--hosts")) hosts = (v ?? "").split(",").map(Number);
    else if (a.startsWith("--rounds")) rounds = Number(v);
    else if (a.startsWith("--timeout")) timeoutSec = Number(v);
    else throw new Error(`unknown argument ${a}; usage: bench/validate/run.ts [--hosts 5000,20000,50000] [--rounds 1] [--timeout 300]`);
  }
  if (!hosts.every((n) => Number.isInteger(n) && n >= 3 && n <= 200_000)) throw new Error("--hosts: counts from 3 to 200000");
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) throw new Error("--rounds: 1 to 10");
  return { hosts, rounds, timeoutSec };
}

interface Run {
  code: number | null;
  ms: number;
  /** User + system CPU of the process (GNU time), or null without /usr/bin/time. */
  cpuMs: number | null;
  stderr: string;
  timedOut: boolean;
}

/**
 * GNU time reports the child's user and system CPU: on a shared machine the wall time moves with
 * everyone else's load, the CPU time much less.
 */
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const CPU_MARK = "bench-validate-cpu";

function timed(cmd: string, args: string[], cwd: string, timeoutSec: number): Promise<Run> {
  const t0 = performance.now();
  if (GNU_TIME) [cmd, args] = [GNU_TIME, ["-f", `${CPU_MARK} %U %S`, cmd, ...args]];
  return new Promise((resolve, reject) => {
    // Run in a fresh temporary folder: no ansible.cfg there, Ansible's defaults.
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ANSIBLE_NOCOLOR: "1", NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let timedOut = false;
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutSec * 1000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const m = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(stderr);
      resolve({ code, ms: performance.now() - t0, cpuMs: m ? Math.round((Number(m[1]) + Number(m[2])) * 1000) : null, stderr, timedOut });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const opts = parseArgs(process.argv.slice(2));
process.stderr.write("compiling lvsctl (esbuild)...\n");
const entry = await compileCli(BUILD);
const work = mkdtempSync(join(tmpdir(), "lvsctl-bench-validate-"));
type Tool = "lvsctl validate (YAML)" | "lvsctl validate (Ansible INI import)" | "ansible-inventory --list (INI)";
const TOOLS: Tool[] = ["lvsctl validate (YAML)", "lvsctl validate (Ansible INI import)", "ansible-inventory --list (INI)"];
const results: { hosts: number; bytes: Record<string, number>; ms: Partial<Record<Tool, number | null>>; cpuMs: Partial<Record<Tool, number | null>>; load1: number }[] = [];
try {
  for (const n of opts.hosts) {
    const dir = join(work, String(n));
    rmSync(dir, { recursive: true, force: true });
    const ini = ansibleInventory(n, "hosts.ini");
    const files = { "inv.yml": lvsctlInventory(n), "hosts.ini": ini.ini, "from-ansible.yml": ini.lvsctl };
    mkdirSync(dir, { recursive: true });
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
    const runs: Record<Tool, [string, string[]]> = {
      "lvsctl validate (YAML)": [process.execPath, [entry, "validate", "inv.yml"]],
      "lvsctl validate (Ansible INI import)": [process.execPath, [entry, "validate", "from-ansible.yml"]],
      "ansible-inventory --list (INI)": ["ansible-inventory", ["-i", "hosts.ini", "--list"]],
    };
    const row: (typeof results)[number] = { hosts: n, bytes: Object.fromEntries(Object.entries(files).map(([f, t]) => [f, Buffer.byteLength(t)])), ms: {}, cpuMs: {}, load1: loadavg()[0]! };
    for (const tool of TOOLS) {
      const times: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        process.stderr.write(`${n} hosts: ${tool} (round ${r + 1})... `);
        const [cmd, args] = runs[tool];
        const got = await timed(cmd, args, dir, opts.timeoutSec);
        process.stderr.write(got.timedOut ? `timed out after ${opts.timeoutSec} s\n` : `${(got.ms / 1000).toFixed(2)} s (CPU ${got.cpuMs === null ? "?" : (got.cpuMs / 1000).toFixed(2)} s), exit ${got.code}\n`);
        if (got.timedOut) break;
        if (got.code !== 0) throw new Error(`${tool} on ${n} hosts exited ${got.code}:\n${got.stderr}`);
        times.push(got.ms);
        if (got.cpuMs !== null) cpu.push(got.cpuMs);
      }
      row.ms[tool] = times.length === opts.rounds ? Math.round(median(times)) : null;
      row.cpuMs[tool] = cpu.length === opts.rounds ? median(cpu) : null;
    }
    results.push(row);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(BUILD, { recursive: true, force: true });
}

const s = (ms: number | null | undefined) => (ms == null ? "-" : `${(ms / 1000).toFixed(2)} s`);
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null ? (a / b).toFixed(2) : "-");
console.log(`| hosts | ${TOOLS.join(" | ")} | lvsctl INI import / ansible-inventory |`);
console.log(`| --- | ${TOOLS.map(() => "---").join(" | ")} | --- |`);
for (const r of results) {
  const a = "lvsctl validate (Ansible INI import)";
  const b = "ansible-inventory --list (INI)";
  console.log(`| ${r.hosts.toLocaleString("en")} | ${TOOLS.map((t) => `${s(r.ms[t])} (CPU ${s(r.cpuMs[t])})`).join(" | ")} | ${ratio(r.ms[a], r.ms[b])} (CPU ${ratio(r.cpuMs[a], r.cpuMs[b])}) |`);
}
console.log(
  JSON.stringify({
    bench: "validate",
    rounds: opts.rounds,
    node: process.version,
    results: results.map((r) => ({
      hosts: r.hosts,
      bytes: r.bytes,
      lvsctlYamlMs: r.ms["lvsctl validate (YAML)"] ?? null,
      lvsctlAnsibleIniMs: r.ms["lvsctl validate (Ansible INI import)"] ?? null,
      ansibleInventoryMs: r.ms["ansible-inventory --list (INI)"] ?? null,
      lvsctlYamlCpuMs: r.cpuMs["lvsctl validate (YAML)"] ?? null,
      lvsctlAnsibleIniCpuMs: r.cpuMs["lvsctl validate (Ansible INI import)"] ?? null,
      ansibleInventoryCpuMs: r.cpuMs["ansible-inventory --list (INI)"] ?? null,
      load1: Number(r.load1.toFixed(2)),
    })),
  }),
);
