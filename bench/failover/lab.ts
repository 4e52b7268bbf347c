// The benchmark's network: a bridge in a hub namespace, directors a and b and a client c, each
// joined to the bridge by a veth (the lab's NetnsLab, src/lab/netns.ts, as lvsd-vrrp.test.ts
// uses it). Addresses exist only inside these namespaces (10.66.0.0/24). Names carry this
// process's pid; `down()` deletes everything, and is safe to call twice.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HUB, NetnsLab, waitUntil } from "../../src/lab/index.js";

export const VIP = "10.66.0.100";
export const NET_PREFIX = 24;
export type Host = "a" | "b" | "c";
export const ADDR: Record<Host, string> = { a: "10.66.0.2", b: "10.66.0.3", c: "10.66.0.9" };
/** Fixed, locally administered MACs, so the client's ARP entry names the host it points at. */
export const MAC: Record<Host, string> = { a: "02:66:00:00:00:02", b: "02:66:00:00:00:03", c: "02:66:00:00:00:09" };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function sh(args: string[], opts: { check?: boolean } = {}): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 10_000 });
  if ((opts.check ?? true) && r.status !== 0) throw new Error(`${args.join(" ")}: ${(r.stderr || r.stdout || String(r.status)).trim()}`);
  return r.stdout;
}

export function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** A process inside a namespace; its output is kept line by line (the last `keep` lines) and
 * each line is also offered to the listeners, as it arrives. */
export class Proc {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private readonly listeners = new Set<(line: string) => void>();
  constructor(
    lab: Lab,
    ns: string,
    argv: string[],
    private readonly keep = 5000,
  ) {
    // `ip netns exec` execs the command: the child's pid is the command's own.
    this.child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    lab.procs.add(this.child);
    let buf = "";
    const eat = (d: Buffer) => {
      buf += d.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const l of parts) {
        this.lines.push(l);
        for (const f of this.listeners) f(l);
      }
      if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    };
    this.child.stdout!.on("data", eat);
    this.child.stderr!.on("data", eat);
    this.exited = new Promise((r) => this.child.once("exit", () => r()));
  }
  get pid(): number {
    return this.child.pid!;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  onLine(f: (line: string) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }
  /** Resolves with the first line (from now on) that satisfies pred, or undefined after timeoutMs. */
  nextLine(pred: (line: string) => boolean, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(undefined);
      }, timeoutMs);
      const off = this.onLine((l) => {
        if (!pred(l)) return;
        clearTimeout(timer);
        off();
        resolve(l);
      });
    });
  }
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    await Promise.race([this.exited, sleep(graceMs)]);
    if (this.running) {
      this.child.kill("SIGKILL");
      await Promise.race([this.exited, sleep(1000)]);
    }
  }
}

export class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), "lvsd-bench-"));
  readonly procs = new Set<ChildProcess>();
  private net: NetnsLab | undefined;
  private switchboard: ChildProcess | undefined;

  /** The namespaces, once up() built them. */
  private live(): NetnsLab {
    if (!this.net) throw new Error("lab: not up");
    return this.net;
  }

  ns(n: Host | typeof HUB): string {
    return this.live().ns(n);
  }

  up(): void {
    this.net = NetnsLab.create({
      prefix: "lvfb",
      hosts: (["a", "b", "c"] as const).map((n) => ({ name: n, addr: `${ADDR[n]}/${NET_PREFIX}`, mac: MAC[n] })),
    });
    // -force: a failed command does not end the batch
    const rt = has("chrt") ? ["chrt", "-f", "10"] : [];
    this.switchboard = spawn(rt[0] ?? "ip", [...rt.slice(1), ...(rt.length ? ["ip"] : []), "-n", this.ns(HUB), "-force", "-batch", "-"], { stdio: ["pipe", "ignore", "inherit"] });
    this.procs.add(this.switchboard);
  }

  /** The director's cable pulled at the switch: it loses carrier and the others hear nothing.
   * The command goes to an `ip -batch` already running in the hub (see switchboard), so the cut
   * happens within microseconds of the call rather than after a fork and exec, which on a busy
   * machine took 50 ms and more and moved the cut away from the advert it was aligned with. */
  cable(n: "a" | "b", up: boolean): void {
    if (!this.switchboard?.stdin?.writable) throw new Error("lab: the switchboard is not running");
    this.switchboard.stdin.write(`link set ${this.live().port(n)} ${up ? "up" : "down"}\n`);
  }

  /** Applied switch commands, confirmed: the link state as the hub sees it. */
  async cableIs(n: "a" | "b", up: boolean, timeoutMs = 5000): Promise<boolean> {
    // the admin flag UP in "<BROADCAST,MULTICAST,UP,LOWER_UP>" (LOWER_UP is the carrier)
    const applied = () => /<[^>]*\bUP\b/.test(this.live().ip(HUB, "-o", "link", "show", "dev", this.live().port(n))) === up;
    return waitUntil(`${n}'s hub port ${up ? "up" : "down"}`, applied, { timeoutMs, everyMs: 10 }).then(
      () => true,
      () => false,
    );
  }

  hasVip(n: "a" | "b"): boolean {
    return this.live().hasAddr(n, VIP);
  }

  /** Leaves no VIP behind (a killed daemon does not remove it) before the next daemon starts. */
  dropVip(n: "a" | "b"): void {
    if (this.hasVip(n)) sh(["ip", "-n", this.ns(n), "addr", "del", `${VIP}/${NET_PREFIX}`, "dev", "eth0"], { check: false });
  }

  /** The MAC the client's ARP cache holds for the VIP, if any. */
  clientNeighMac(): string | undefined {
    const out = sh(["ip", "-n", this.ns("c"), "neigh", "show", VIP, "dev", "eth0"], { check: false });
    return /lladdr ([0-9a-f:]{17})/.exec(out)?.[1];
  }

  flushClientNeigh(): void {
    sh(["ip", "-n", this.ns("c"), "neigh", "flush", "dev", "eth0"], { check: false });
  }

  async down(): Promise<void> {
    const net = this.net;
    if (!net) return;
    this.net = undefined;
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await sleep(200);
    net.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
