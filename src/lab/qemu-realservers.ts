// Real servers beside a QemuLab's directors: each a network namespace on the lab's bridge with an
// HTTP server that answers with its name. For DR (the default) the VIP is on lo and ARP kept quiet
// about it (arp_ignore=1 / arp_announce=2, kernel ip-sysctl.rst); for NAT the real server sits on
// the lab's inside /24 (QemuLab.insideAddress) with its default route through the gateway VIP the
// directors pass between them with VRRP. They are not SSH-managed hosts: an inventory lists them
// by address, so `lvsctl deploy` does not bootstrap them and this file sets what bootstrap would
// (the NAT default route included). The client is the lab's own namespace (clientAddress on its
// bridge, in the lab's subnet, never the inside one). Nothing leaves the lab's namespaces. Used by
// the qemu deploy, drill and NAT tests and by scripts/demo.ts.
import { spawn, spawnSync, execFile, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { promisify } from "node:util";
import { LvsctlError } from "../errors/index.js";
import { qemuInsideSubnet, qemuNetNames, qemuSideNetnsPrefix, type QemuLab } from "./qemu.js";
import { waitUntil } from "./wait.js";

const run = promisify(execFile);

export interface QemuRealServer {
  name: string;
  ns: string;
  address: string;
  server: ChildProcess;
}

export interface QemuRealServers {
  servers: QemuRealServer[];
  /** The client's address on the lab's bridge (requests go from the lab's namespace). */
  clientAddress: string;
  /** One HTTP GET through `vip` from the client: the real server's name, or `error: ...`. */
  get(vip: string, timeoutSec?: number): Promise<string>;
  /** Stops one real server's HTTP server (its namespace and VIP stay): port 80 there refuses connections. Resolves once it exited. */
  stopWeb(name: string): Promise<void>;
  /** Starts it again; resolves once it listens. */
  startWeb(name: string): Promise<void>;
  /** Stops the servers and deletes their namespaces. Safe to call twice. */
  down(): void;
}

function sh(argv: string[]): void {
  const x = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (x.status !== 0) throw new LvsctlError("LAB_COMMAND", `lab: \`${argv.join(" ")}\` exited ${x.status}: ${x.stderr.trim()}`);
}

/** How a real server is reached: DR (the VIP on lo) or NAT (replies through `gateway`). */
export type RealServerMode = { kind: "DR"; vip: string } | { kind: "NAT"; gateway: string };

/**
 * A real server's namespace `ns` on the lab's bridge (a veth `peer` in `labNetns`, eth0 inside) at
 * `address`/24. DR: the VIP on lo and ARP kept quiet about it (arp_ignore=1 / arp_announce=2).
 * NAT: the default route via the gateway VIP (on-link: it is in the same /24), as `lvsctl
 * bootstrap` sets it on a managed NAT real server.
 */
function realServerNetns(labNetns: string, ns: string, peer: string, address: string, mode: RealServerMode): void {
  sh(["ip", "netns", "add", ns]);
  sh(["ip", "-n", labNetns, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  sh(["ip", "-n", labNetns, "link", "set", peer, "master", "br0", "up"]);
  if (mode.kind === "DR") {
    for (const kv of ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2"]) sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", kv]);
  }
  sh(["ip", "-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
  if (mode.kind === "DR") sh(["ip", "-n", ns, "addr", "add", `${mode.vip}/32`, "dev", "lo"]);
  sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
  if (mode.kind === "NAT") sh(["ip", "-n", ns, "route", "add", "default", "via", mode.gateway, "dev", "eth0"]);
}

/**
 * `names.length` real servers serving `vip`, and the client at lab.freeAddress(first + names.length).
 * DR (no `nat`): the real servers at lab.freeAddress(first), (first + 1), ..., the VIP on lo.
 * NAT (`nat.gateway`, an inside address the directors hold as a VRRP VIP): the real servers at
 * lab.insideAddress(first), (first + 1), ..., their default route through that gateway.
 */
export async function qemuRealServers(lab: QemuLab, vip: string, names: string[], first = 1, opts: { nat?: { gateway: string } } = {}): Promise<QemuRealServers> {
  const servers: QemuRealServer[] = [];
  // NAT: this machine's packets to the inside /24 (a reset answering a reply that a broken NAT
  // path let through un-translated) go into the lab's veth, never out of the default route. The
  // route goes with the veth when the lab is torn down; down() removes it earlier.
  const inside = opts.nat ? ["ip", "route", "replace", qemuInsideSubnet(lab.slot).cidr, "dev", qemuNetNames(lab.slot).rootLink] : undefined;
  let isDown = false;
  const down = () => {
    if (isDown) return;
    isDown = true;
    for (const r of servers) {
      r.server.kill();
      spawnSync("ip", ["netns", "del", r.ns]);
    }
    if (inside) spawnSync("ip", ["route", "del", ...inside.slice(3)]);
  };
  try {
    if (inside) sh(inside);
    for (const [i, name] of names.entries()) {
      const ns = `lvsrs-${process.pid}-${name}`;
      const address = opts.nat ? lab.insideAddress(first + i) : lab.freeAddress(first + i);
      const peer = `vrs${process.pid % 1000}x${i}`;
      realServerNetns(lab.netns, ns, peer, address, opts.nat ? { kind: "NAT", gateway: opts.nat.gateway } : { kind: "DR", vip });
      servers.push({ name, ns, address, server: await startServer(ns, name) });
    }
    const clientAddress = lab.freeAddress(first + names.length);
    sh(["ip", "-n", lab.netns, "addr", "add", `${clientAddress}/24`, "dev", "br0"]);
    const get = async (vip: string, timeoutSec = 3): Promise<string> => {
      try {
        const { stdout } = await run("ip", ["netns", "exec", lab.netns, "curl", "-s", "-S", "--max-time", String(timeoutSec), `http://${vip}/`]);
        return stdout.trim();
      } catch (e) {
        return `error: ${(e as { stderr?: string }).stderr?.trim() ?? String(e)}`;
      }
    };
    const named = (name: string): QemuRealServer => {
      const r = servers.find((x) => x.name === name);
      if (!r) throw new LvsctlError("LAB_COMMAND", `lab: no real server named ${name} (have ${servers.map((x) => x.name).join(", ")})`);
      return r;
    };
    const stopWeb = async (name: string): Promise<void> => {
      const r = named(name);
      if (r.server.exitCode !== null || r.server.signalCode !== null) return;
      const exited = new Promise<void>((res) => r.server.once("exit", () => res()));
      r.server.kill();
      await exited;
    };
    const startWeb = async (name: string): Promise<void> => {
      const r = named(name);
      if (r.server.exitCode === null && r.server.signalCode === null) return;
      r.server = await startServer(r.ns, name);
    };
    return { servers, clientAddress, get, stopWeb, startWeb, down };
  } catch (e) {
    down();
    throw e;
  }
}

/** The HTTP server of a real server in namespace `ns` (`ip netns exec` execs node: the child is the server); resolves once it listens. */
async function startServer(ns: string, name: string): Promise<ChildProcess> {
  const server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", realServerScript(name)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((res, rej) => {
    server.stdout!.once("data", () => res());
    server.once("exit", (code) => rej(new LvsctlError("LAB_COMMAND", `lab: the HTTP server of ${name} exited ${code} before listening`)));
  });
  return server;
}

// ---------------------------------------------------------------- real servers that outlive us

export interface DetachedRealServer {
  name: string;
  address: string;
  /** `lvsqS-NAME` (qemuSideNetnsPrefix): teardownQemuSlotSync of the slot removes it with what runs inside. */
  netns: string;
  /** The HTTP server's pid (node, in the namespace, in a session of its own). */
  pid: number;
}

/** The HTTP server of a lab real server: its name on every path (so /health answers 200 too). */
export function realServerScript(name: string): string {
  return `require("http").createServer((q, s) => s.end(${JSON.stringify(name + "\n")})).listen(80, () => console.log("listening"))`;
}

/** One HTTP GET from this process (the root namespace reaches the lab's subnet): the body, or `error: ...`. */
export function httpGet(url: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(res.statusCode === 200 ? body.trim() : `error: HTTP ${res.statusCode}`));
      res.on("error", (e) => resolve(`error: ${e.message}`));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

/**
 * Real servers for a lab that outlives this process (`lvsctl lab up`): like qemuRealServers, but
 * each namespace is named after the slot (`lvsqS-NAME`) and its HTTP server is a detached process
 * writing to `logFile(name)`, so nothing here has to stay alive; teardownQemuSlotSync(slot) kills
 * what runs in those namespaces and deletes them. Resolves when each server answers HTTP from this
 * machine. A failure part way removes what it made (the caller's teardown would too).
 */
export async function startDetachedRealServers(
  lab: { slot: number; netns: string },
  vip: string,
  servers: readonly { name: string; address: string }[],
  logFile: (name: string) => string,
): Promise<DetachedRealServer[]> {
  const out: DetachedRealServer[] = [];
  try {
    for (const [i, { name, address }] of servers.entries()) {
      const ns = `${qemuSideNetnsPrefix(lab.slot)}${name}`;
      const peer = `rsv${i}`;
      realServerNetns(lab.netns, ns, peer, address, { kind: "DR", vip });
      const log = openSync(logFile(name), "a");
      // `ip netns exec` execs node: the pid is the server's.
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", realServerScript(name)], { stdio: ["ignore", log, log], detached: true });
      closeSync(log);
      child.on("error", () => undefined);
      child.unref();
      out.push({ name, address, netns: ns, pid: child.pid ?? 0 });
    }
    for (const r of out) {
      await waitUntil(`the HTTP server of ${r.name} (http://${r.address}/)`, async () => (await httpGet(`http://${r.address}/`, 1000)) === r.name, {
        timeoutMs: 20_000,
        everyMs: 200,
        detail: () => {
          try {
            return readFileSync(logFile(r.name), "utf8").slice(-500);
          } catch {
            return "(no log)";
          }
        },
      });
    }
    return out;
  } catch (e) {
    for (const r of out) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      spawnSync("ip", ["netns", "del", r.netns]);
    }
    throw e;
  }
}
