// The lab for users (`lvsctl lab up|status|down`): qemu directors with Debian's kernel (qemu.ts),
// real servers with an HTTP server and a client address (namespaces on the lab's bridge,
// qemu-realservers.ts), and a generated inventory to point lvsctl at. Unlike a test's lab it
// outlives the process that made it: the qemu slot is persistent, qemu and the HTTP servers run in
// sessions of their own, and what `down` must find is on disk:
//   .lab/run/qemu-slot-S.json   the slot's claim, `persistent: true` (qemu.ts)
//   .lab/qS/state.json          the guests and their qemu pids (qemu.ts)
//   .lab/run/qemu-lab-cli.json  this file's state: the slot, the real servers (namespace, pid),
//                               the client, the inventory and its secret file
// The real servers' namespaces are named after the slot (`lvsqS-NAME`), so the slot's teardown
// finds them, and what runs in them, even when this state file is gone.
//
// Pure parts (planLabUp, labInventoryText, parseCliLabState) are unit-tested; labUp, labStatus
// and labDown do the work as root.
import { createHash, randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { z } from "zod";
import { LvsctlError } from "../errors/index.js";
import { sshBanner } from "./host.js";
import { labDir, paths } from "./paths.js";
import { cleanupStaleQemu, persistentQemuSlots, QemuLab, readQemuSlot, teardownQemuSlotSync } from "./qemu.js";
import { httpGet, startDetachedRealServers } from "./qemu-realservers.js";
import { runOk } from "./proc.js";

export const LAB_BACKENDS = ["keepalived", "lvsd"] as const;
export type LabBackend = (typeof LAB_BACKENDS)[number];

/** Bounds of `lab up`: qemu guests are slow (one core each under emulation; lab-facts.md), and
 * the lab's free addresses (.200-.254) hold the VIP, the real servers and the client. */
export const LAB_LIMITS = { directors: { min: 1, max: 4, default: 2 }, realServers: { min: 1, max: 16, default: 2 } } as const;

/** keepalived uses the first 8 characters of a PASS password (keepalived.conf(5) auth_pass). */
const VRRP_PASS_LENGTH = 8;
const VRID = 51;

export interface LabUpPlan {
  directors: string[];
  realServers: string[];
  backend: LabBackend;
  /** Absolute path of the inventory to write. */
  inventory: string;
  /** Absolute path of the VRRP password file, beside the inventory. */
  secretFile: string;
}

/** Where `lab up` writes the inventory without --out. */
export function defaultLabInventory(): string {
  return join(labDir(), "cli", "inventory.yml");
}

/** `cluster.yml` -> `cluster.vrrp-pass`, in the inventory's folder. */
export function secretFileFor(inventory: string): string {
  return join(dirname(inventory), `${basename(inventory, extname(inventory))}.vrrp-pass`);
}

function count(what: string, flag: string, text: string | undefined, b: { min: number; max: number; default: number }): number {
  if (text === undefined) return b.default;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < b.min || n > b.max) {
    throw new LvsctlError("LVS801", `lab up: ${flag} must be a whole number from ${b.min} to ${b.max}, not '${text}'`, {
      hint: `${what} (default ${b.default}); for example ${flag} ${b.default}`,
    });
  }
  return n;
}

/** Pure: `lab up`'s options checked and made absolute. */
export function planLabUp(opts: { directors?: string; realServers?: string; backend?: string; out?: string }, cwd: string, defaultInventory: string): LabUpPlan {
  const d = count("qemu guests, about 20 s of boot and 768 MiB each", "--directors", opts.directors, LAB_LIMITS.directors);
  const r = count("network namespaces with an HTTP server", "--real-servers", opts.realServers, LAB_LIMITS.realServers);
  const backend = opts.backend ?? "keepalived";
  if (!(LAB_BACKENDS as readonly string[]).includes(backend)) {
    throw new LvsctlError("LVS802", `lab up: --backend must be ${LAB_BACKENDS.join(" or ")}, not '${backend}'`, { hint: "the inventory's director.backend" });
  }
  const inventory = opts.out === undefined ? defaultInventory : resolve(cwd, opts.out);
  return {
    directors: Array.from({ length: d }, (_, i) => `lb${i + 1}`),
    realServers: Array.from({ length: r }, (_, i) => `rs${i + 1}`),
    backend: backend as LabBackend,
    inventory,
    secretFile: secretFileFor(inventory),
  };
}

export interface LabInventorySpec {
  slot: number;
  backend: LabBackend;
  directors: readonly { name: string; address: string }[];
  realServers: readonly { name: string; address: string }[];
  vip: string;
  keyFile: string;
  knownHostsFile: string;
  /** The password file as the inventory names it (relative: read from the inventory's folder). */
  secretRef: string;
}

/** Pure: the inventory `lab up` writes: one VRRP instance holding the VIP, one DR service with an HTTP check. */
export function labInventoryText(s: LabInventorySpec): string {
  const names = s.directors.map((d) => d.name);
  return [
    `# The lab's cluster (slot ${s.slot}), written by \`lvsctl lab up\`; \`lvsctl lab down\` removes the lab.`,
    "# Directors: qemu guests with Debian's kernel, reached over SSH as root with the lab's key.",
    "# Real servers: network namespaces the lab prepared itself (the VIP on lo, the ARP sysctls, an HTTP",
    "# server answering with its name); they are listed by address, so deploy does not bootstrap them.",
    `# Host keys: --known-hosts ${s.knownHostsFile}`,
    `defaults: { user: root, key_file: ${s.keyFile}, connect_timeout: 20 }`,
    "hosts:",
    ...s.directors.map((d) => `  ${d.name}: { address: ${d.address} }`),
    "groups:",
    `  directors: { hosts: [${names.join(", ")}] }     # ${names[0]} starts as MASTER (priority 150)${names.length > 1 ? ", the others BACKUP" : ""}`,
    ...(s.backend === "keepalived" ? [] : [`director: { backend: ${s.backend} }`]),
    "vrrp_instances:",
    "  - name: VI_web",
    "    interface: eth0",
    `    virtual_router_id: ${VRID}`,
    "    advert_int: 1",
    `    authentication: { auth_type: PASS, auth_pass: { file: ${s.secretRef} } }`,
    `    virtual_ipaddress: [${s.vip}/24]`,
    "virtual_servers:",
    `  - vip: ${s.vip}`,
    "    port: 80",
    "    lb_algo: rr",
    "    delay_loop: 5",
    "    check: { type: HTTP_GET, url: [{ path: /health, status_code: 200 }], connect_timeout: 3 }",
    `    real_servers: [${s.realServers.map((r) => `{ address: ${r.address} }`).join(", ")}]`,
    "",
  ].join("\n");
}

/** A VRRP PASS password: letters and digits, uniformly drawn. */
export function randomVrrpPass(length = VRRP_PASS_LENGTH): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

const Endpoint = z.object({ name: z.string(), address: z.string() });
const CliLabState = z.object({
  version: z.literal(1),
  slot: z.number().int().min(1),
  createdAt: z.string(),
  backend: z.enum(LAB_BACKENDS),
  vip: z.string(),
  inventory: z.string(),
  inventorySha256: z.string(),
  secretFile: z.string(),
  keyFile: z.string(),
  knownHostsFile: z.string(),
  directors: z.array(Endpoint),
  realServers: z.array(Endpoint.extend({ netns: z.string(), pid: z.number().int() })),
  client: z.object({ netns: z.string(), address: z.string() }),
});
export type CliLabState = z.infer<typeof CliLabState>;

export function cliLabStateFile(): string {
  return join(paths.run(), "qemu-lab-cli.json");
}

/** Pure: the state file's text, checked; a file that does not parse is an error naming it. */
export function parseCliLabState(text: string, file: string): CliLabState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LvsctlError("LVS806", `the lab's state file ${file} is not JSON: ${(e as Error).message}`, { hint: "`lvsctl lab down` removes the lab without it" });
  }
  const r = CliLabState.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new LvsctlError("LVS806", `the lab's state file ${file} is not one lvsctl wrote: ${first ? `${first.path.join(".") || "(top)"}: ${first.message}` : "invalid"}`, {
      hint: "`lvsctl lab down` removes the lab without it",
    });
  }
  return r.data;
}

/** The lab's state, undefined when none is up (no file). */
export function readCliLabState(file = cliLabStateFile()): CliLabState | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return parseCliLabState(text, file);
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * Boots the lab and writes its inventory; the lab keeps running after this process exits.
 * Refuses when a lab is already up here or the inventory file exists. On a failure (or Ctrl-C)
 * part way, everything made so far is removed.
 */
export async function labUp(plan: LabUpPlan, log: (line: string) => void): Promise<CliLabState> {
  const up = persistentQemuSlots();
  if (existsSync(cliLabStateFile()) || up.length > 0) {
    throw new LvsctlError("LVS803", `lab up: a lab is already up here${up.length ? ` (qemu slot ${up.join(", ")})` : ""}`, {
      hint: "`lvsctl lab status` shows it; `lvsctl lab down` removes it",
    });
  }
  for (const f of [plan.inventory, plan.secretFile]) {
    if (existsSync(f)) throw new LvsctlError("LVS804", `lab up: ${f} exists; the lab writes a new inventory and password file`, { hint: "remove it, or write elsewhere with --out FILE" });
  }
  const lab = await QemuLab.up({ guests: plan.directors, persistent: true, log });
  const written: string[] = [];
  try {
    const vip = lab.freeAddress(0);
    const rsSpecs = plan.realServers.map((name, i) => ({ name, address: lab.freeAddress(1 + i) }));
    const t0 = Date.now();
    const rs = await startDetachedRealServers(lab, vip, rsSpecs, (name) => join(lab.dir, `${name}.http.log`));
    const client = { netns: lab.netns, address: lab.freeAddress(1 + rsSpecs.length) };
    await runOk(["ip", "-n", client.netns, "addr", "add", `${client.address}/24`, "dev", "br0"]);
    log(`lab: ${rs.length} real servers answer HTTP after ${((Date.now() - t0) / 1000).toFixed(1)} s; client ${client.address}`);

    mkdirSync(dirname(plan.inventory), { recursive: true });
    writeFileSync(plan.secretFile, `${randomVrrpPass()}\n`, { mode: 0o600, flag: "wx" });
    written.push(plan.secretFile);
    const text = labInventoryText({
      slot: lab.slot,
      backend: plan.backend,
      directors: lab.guests.map((g) => ({ name: g.name, address: g.address })),
      realServers: rsSpecs,
      vip,
      keyFile: lab.keyFile,
      knownHostsFile: lab.knownHostsFile,
      secretRef: basename(plan.secretFile),
    });
    writeFileSync(plan.inventory, text, { flag: "wx" });
    written.push(plan.inventory);
    const state: CliLabState = {
      version: 1,
      slot: lab.slot,
      createdAt: new Date().toISOString(),
      backend: plan.backend,
      vip,
      inventory: plan.inventory,
      inventorySha256: sha256(text),
      secretFile: plan.secretFile,
      keyFile: lab.keyFile,
      knownHostsFile: lab.knownHostsFile,
      directors: lab.guests.map((g) => ({ name: g.name, address: g.address })),
      realServers: rs.map((r) => ({ name: r.name, address: r.address, netns: r.netns, pid: r.pid })),
      client,
    };
    writeFileSync(cliLabStateFile(), JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
    written.push(cliLabStateFile());
    lab.detach();
    return state;
  } catch (e) {
    for (const f of written) rmSync(f, { force: true });
    lab.downSync();
    throw e;
  }
}

export interface LabStatusReport {
  state: CliLabState;
  directors: { name: string; address: string; qemuPid: number; running: boolean; ssh: boolean }[];
  realServers: { name: string; address: string; pid: number; http: string }[];
  /** One request through the VIP from this machine: a real server's name, or `error: ...` (before a deploy, nothing holds the VIP). */
  vip: string;
  /** Every director runs and answers SSH, every real server answers HTTP. */
  healthy: boolean;
}

/** What runs (undefined when no lab is up). Needs no root: it reads files and asks over the network. */
export async function labStatus(): Promise<LabStatusReport | undefined> {
  const state = readCliLabState();
  if (!state) return undefined;
  const slot = readQemuSlot(state.slot);
  const directors = await Promise.all(
    state.directors.map(async (d) => {
      const g = slot?.guests.find((x) => x.name === d.name);
      const running = g?.running ?? false;
      return { ...d, qemuPid: g?.pid ?? 0, running, ssh: running && (await sshBanner(d.address, 22, 3000)) !== undefined };
    }),
  );
  const realServers = await Promise.all(state.realServers.map(async (r) => ({ name: r.name, address: r.address, pid: r.pid, http: await httpGet(`http://${r.address}/`, 3000) })));
  const vip = await httpGet(`http://${state.vip}/`, 3000);
  const healthy = directors.every((d) => d.running && d.ssh) && realServers.every((r) => r.http === r.name);
  return { state, directors, realServers, vip, healthy };
}

export interface LabDownReport {
  /** Slots torn down (the CLI's lab; a half-made one whose `up` died too). */
  slots: number[];
  /** Files removed (inventory, password file, state). */
  removed: string[];
  /** Files left, with why (an inventory edited since `up`). */
  kept: string[];
  /** Other labs of this lab directory whose process died, removed too. */
  stale: string[];
  problems: string[];
}

/** Removes the lab: qemu, namespaces and what runs in them, the generated files. Idempotent. */
export function labDown(log: (line: string) => void = () => undefined): LabDownReport {
  const report: LabDownReport = { slots: [], removed: [], kept: [], stale: [], problems: [] };
  let state: CliLabState | undefined;
  try {
    state = readCliLabState();
  } catch (e) {
    // A damaged state file must not keep the lab alive: the slot files still say what to remove.
    report.problems.push(e instanceof LvsctlError ? e.message : String(e));
  }
  const slots = new Set(persistentQemuSlots());
  if (state) slots.add(state.slot);
  for (const slot of [...slots].sort((a, b) => a - b)) {
    report.problems.push(...teardownQemuSlotSync(slot));
    report.slots.push(slot);
  }
  if (state) {
    let current: string | undefined;
    try {
      current = readFileSync(state.inventory, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== undefined && sha256(current) !== state.inventorySha256) report.kept.push(`${state.inventory} (edited since lab up)`);
    else if (current !== undefined) {
      rmSync(state.inventory, { force: true });
      report.removed.push(state.inventory);
    }
    if (existsSync(state.secretFile)) {
      rmSync(state.secretFile, { force: true });
      report.removed.push(state.secretFile);
    }
  }
  if (existsSync(cliLabStateFile())) {
    rmSync(cliLabStateFile(), { force: true });
    report.removed.push(cliLabStateFile());
  }
  report.stale.push(...cleanupStaleQemu(log));
  return report;
}
