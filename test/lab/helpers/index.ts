// Shared helpers for the end-to-end tests of `lvsctl bootstrap` and the playbook engine on the lab
// (test/lab/engine-*.test.ts, test/lab/bootstrap-*.test.ts) and for bench/deploy: an lvsctl
// inventory written for a lab, the real CLI run as a child process with its --json events
// parsed, and a snapshot of what the bootstrap manages on a host (to prove --check changes nothing).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lab } from "../../../src/lab/index.js";
import { projectRoot } from "../../../src/lab/index.js";
import type { Cluster } from "../../../src/inventory/model.js";
import type { RunEvent, RunEventOf, TaskStatus } from "../../../src/run/events.js";
import { runPlaybook, type RunOptions, type RunResult } from "../../../src/run/index.js";
import { SshConnector } from "../../../src/ssh/index.js";

/** The lab library's sleep and bounded polling loop, offered here too for the engine tests. */
export { sleep } from "../../../src/lab/proc.js";
export { waitUntil } from "../../../src/lab/wait.js";

export const CLI = join(projectRoot, "bin", "lvsctl.js");

/** What playbooks/bootstrap.yml manages on a real server (paths from playbooks/bootstrap.yml, templates/ and src/plan/ops/address.ts). */
export const MANAGED_FILES = ["/etc/sysctl.d/90-lvs-realserver.conf", "/etc/systemd/system/lvs-rs-vip.service", "/var/lib/lvsctl/state.json"] as const;
export const VIP_UNIT = "lvs-rs-vip.service";
/** NAT real servers: the unit that puts the default route through the gateway VIP back on boot, and the record of the route it replaced. */
export const GATEWAY_UNIT = "lvs-rs-gateway.service";
export const GATEWAY_STATE = "/var/lib/lvsctl/gateway.json";
/** The bootstrap's ARP sysctls and their values (templates/lvs-realserver.sysctl.conf.hbs): `all`, `default` and eth0, the lab's interface facing the directors. */
export const ARP_SYSCTLS = {
  "net.ipv4.conf.all.arp_ignore": "1",
  "net.ipv4.conf.all.arp_announce": "2",
  "net.ipv4.conf.default.arp_ignore": "1",
  "net.ipv4.conf.default.arp_announce": "2",
  "net.ipv4.conf.eth0.arp_ignore": "1",
  "net.ipv4.conf.eth0.arp_announce": "2",
} as const;
export const ARP_KEYS = Object.keys(ARP_SYSCTLS) as (keyof typeof ARP_SYSCTLS)[];
/** Task names of playbooks/bootstrap.yml, and the ones that change a fresh real server. */
export const TASK = { sysctl: "ARP sysctls", vip: "VIPs on lo", nat: "NAT default route via the directors' gateway", tun: "TUN ipip and tunl0" } as const;
export const CHANGED_ON_FRESH_HOST = [TASK.sysctl, TASK.vip];
/** Every task of the bootstrap runs on a DR real server (the TUN and NAT ones check and undo; none is skipped): the second run's `ok` count. */
export const BOOTSTRAP_TASKS = Object.values(TASK);

export interface LabService {
  vip: string;
  port?: number;
  lb_kind?: "DR" | "NAT" | "TUN";
  /** NAT: the gateway VIP the real servers route through (it must be in `gatewayVips` or a service VIP). */
  nat_gateway?: string;
  real_servers: string[];
}

export interface LabInventoryOptions {
  directors: string[];
  realservers: string[];
  /** Default: one DR service on lab.freeAddress(0):80 served by every real server. */
  services?: LabService[];
  /** Merged into `defaults:` (default: user deploy, become true, the lab key). */
  defaults?: Record<string, unknown>;
  /** Per-host settings merged into `hosts.NAME` (jump, user, become, vars, ...). */
  hostSettings?: Record<string, Record<string, unknown>>;
  /** More VIPs of the one VRRP instance, as ADDRESS/PREFIX (a NAT gateway on the lab's /24). */
  gatewayVips?: string[];
  /** Where to write it (default: a new temp dir). */
  file?: string;
}

const tempDirs: string[] = [];

/** A temp dir removed when the process exits. */
export function tempDir(prefix = "lvsctl-lab-"): string {
  if (tempDirs.length === 0) process.on("exit", () => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Writes an lvsctl inventory for the lab (JSON, which is YAML) and returns its path. */
export function writeLabInventory(lab: Lab, o: LabInventoryOptions): string {
  const services = o.services ?? [{ vip: lab.freeAddress(0), port: 80, real_servers: o.realservers }];
  const hosts: Record<string, Record<string, unknown>> = {};
  // A host not in the lab needs `address` in hostSettings (e.g. directors that never answer:
  // the bootstrap only connects to real servers).
  for (const n of [...o.directors, ...o.realservers]) hosts[n] = { address: o.hostSettings?.[n]?.address ?? lab.host(n).address, ...(o.hostSettings?.[n] ?? {}) };
  // Every service VIP sits in the one VRRP instance, as a real cluster would have it.
  const vrrpVips = [...new Set([...services.map((s) => `${s.vip}/24`), ...(o.gatewayVips ?? [])])];
  const inv = {
    defaults: { user: lab.deployUser, become: true, key_file: lab.keyFile, connect_timeout: 5, ...(o.defaults ?? {}) },
    hosts,
    groups: { directors: { hosts: o.directors }, realservers: { hosts: o.realservers } },
    vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 51, virtual_ipaddress: vrrpVips }],
    virtual_servers: services.map((s) => ({
      vip: s.vip,
      port: s.port ?? 80,
      lb_kind: s.lb_kind ?? "DR",
      lb_algo: "rr",
      ...(s.nat_gateway !== undefined ? { nat_gateway: s.nat_gateway } : {}),
      real_servers: s.real_servers.map((h) => ({ host: h })),
    })),
  };
  const file = o.file ?? join(tempDir(), "inventory.yml");
  writeFileSync(file, JSON.stringify(inv, null, 2) + "\n");
  return file;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: RunEvent[];
  ms: number;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with each --json event as it arrives, and the child (to kill it mid-run). */
  onEvent?: (e: RunEvent, child: ChildProcess) => void;
  /** Run this instead of bin/lvsctl.js (bench: a compiled entry). */
  entry?: string;
}

/** Parse JSON Lines; lines that are not JSON objects are ignored (stderr is separate anyway). */
export function parseEvents(stdout: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as RunEvent);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

/** Runs `node bin/lvsctl.js ARGS` and collects its output; killed (SIGKILL) after timeoutMs. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [o.entry ?? CLI, ...args], {
      cwd: projectRoot,
      env: { ...process.env, NO_COLOR: "1", ...(o.env ?? {}) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (!o.onEvent) return;
      pending += d;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const e of parseEvents(lines.join("\n"))) o.onEvent(e, child);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, events: parseEvents(stdout), ms: performance.now() - t0 });
    });
  });
}

export function ofType<T extends RunEvent["type"]>(events: RunEvent[], type: T): RunEventOf<T>[] {
  return events.filter((e): e is RunEventOf<T> => e.type === type);
}

/** "host:task" of every changed result, sorted. */
export function changedTasks(events: RunEvent[]): string[] {
  return ofType(events, "task.result")
    .filter((e) => e.status === "changed")
    .map((e) => `${e.host}:${e.task}`)
    .sort();
}

/** What changedTasks() gives for fresh hosts. */
export function freshChanges(hosts: string[]): string[] {
  return hosts.flatMap((h) => CHANGED_ON_FRESH_HOST.map((t) => `${h}:${t}`)).sort();
}

/** Task results (handlers included) counted by status, over all hosts or one. */
export function countStatus(events: RunEvent[], host?: string): Record<TaskStatus, number> {
  const c: Record<TaskStatus, number> = { ok: 0, changed: 0, failed: 0, skipped: 0 };
  for (const r of ofType(events, "task.result")) if (host === undefined || r.host === host) c[r.status]++;
  return c;
}

export function finished(events: RunEvent[]): RunEventOf<"run.finished"> | undefined {
  return ofType(events, "run.finished")[0];
}

/** A readable summary for assertion messages. */
export function describeRun(r: CliRun): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""} in ${Math.round(r.ms)} ms\n--- stderr\n${r.stderr.slice(-3000)}\n--- stdout (tail)\n${r.stdout.slice(-3000)}`;
}

export interface HostSnapshot {
  /** path -> sha256 or "absent" */
  files: Record<string, string>;
  lo: string;
  sysctls: Record<string, string>;
  unitEnabled: string;
  unitActive: string;
}

/** What the bootstrap manages on a host, read without SSH (lab.exec). */
export async function snapshotHost(lab: Lab, host: string): Promise<HostSnapshot> {
  const script = [
    ...MANAGED_FILES.map((f) => `if [ -e ${f} ]; then echo "F ${f} $(sha256sum < ${f} | cut -d' ' -f1)"; else echo "F ${f} absent"; fi`),
    ...ARP_KEYS.map((k) => `echo "S ${k} $(sysctl -n ${k})"`),
    `echo "E $(systemctl is-enabled ${VIP_UNIT} 2>/dev/null || true)"`,
    `echo "A $(systemctl is-active ${VIP_UNIT} 2>/dev/null || true)"`,
    // `ip -o` ends lines with valid_lft counters that never change for static addresses
    "ip -o addr show dev lo | sed 's/^/L /'",
  ].join("\n");
  const out = await lab.execOk(host, script);
  const snap: HostSnapshot = { files: {}, lo: "", sysctls: {}, unitEnabled: "", unitActive: "" };
  for (const line of out.split("\n")) {
    const [tag, a = "", b = ""] = line.split(" ");
    if (tag === "F") snap.files[a] = b;
    else if (tag === "S") snap.sysctls[a] = b;
    else if (tag === "E") snap.unitEnabled = line.slice(2);
    else if (tag === "A") snap.unitActive = line.slice(2);
    else if (tag === "L") snap.lo += line.slice(2) + "\n";
  }
  return snap;
}

/**
 * Undo the bootstrap on a host without SSH: the unit stopped, disabled and removed, the managed
 * files gone, every non-loopback address off lo, the ARP sysctls back to the kernel's 0.
 */
export const RESET_SCRIPT = [
  `systemctl disable --now ${VIP_UNIT} >/dev/null 2>&1 || true`,
  `rm -f ${MANAGED_FILES.join(" ")} /etc/sysctl.d/91-lvs-realserver-iface.conf /etc/sysctl.d/.*lvsctl-tmp-* /etc/systemd/system/.*lvsctl-tmp-* /var/lib/lvsctl/.*lvsctl-tmp-*`,
  "systemctl daemon-reload",
  "for a in $(ip -o addr show dev lo | awk '{print $4}' | grep -v -e '^127\\.' -e '^::1/'); do ip addr del \"$a\" dev lo; done",
  `sysctl -q -w ${ARP_KEYS.map((k) => `${k}=0`).join(" ")}`,
].join("\n");

export async function resetRealServer(lab: Lab, host: string): Promise<void> {
  await lab.execOk(host, RESET_SCRIPT);
}

/** Temp files of atomic writes (`.NAME.lvsctl-tmp-*`, src/ssh/put-file.ts) in the dirs the bootstrap writes to. */
export async function leftoverTemps(lab: Lab, host: string): Promise<string[]> {
  const out = await lab.execOk(host, "find /etc/sysctl.d /etc/systemd/system /var/lib/lvsctl -maxdepth 1 -name '*.lvsctl-tmp-*' 2>/dev/null || true");
  return out.split("\n").filter(Boolean);
}

/** The addresses on lo as "ADDR/PREFIX" (inet and inet6). */
export async function loAddresses(lab: Lab, host: string): Promise<string[]> {
  const out = await lab.execOk(host, "ip -o addr show dev lo");
  return [...out.matchAll(/\binet6? (\S+)/g)].map((m) => m[1]!).sort();
}

/** runPlaybook over real SSH to the lab's hosts (strict host keys from the lab's known_hosts), with
 * every event collected: for the engine tests of playbooks no CLI command runs. */
export async function runLabPlaybook(lab: Lab, cluster: Cluster, playbook: string, options: RunOptions = {}): Promise<RunResult & { events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const r = await runPlaybook({ cluster, playbook, connector: new SshConnector(), policy: { knownHostsFiles: [lab.knownHostsFile], acceptNew: false }, options, onEvent: (e) => events.push(e) });
  return { ...r, events };
}
