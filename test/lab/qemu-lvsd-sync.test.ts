// lvsd's IPVS connection sync between two directors on real IPVS kernels (two qemu guests on the
// lab's bridge): both run lvsd with one VRRP instance (VIP on eth0), the same NAT service and
// `lvsSyncDaemon` on eth0 following that instance. lb1 is master, so its kernel runs the master
// sync daemon and lb2's the backup one; a client on lb1 keeps a TCP connection through the
// service to an echo server in the lab's namespace; lb2's connection table learns it from the sync
// multicast. After a clean failover (SIGTERM of lb1's lvsd) lb2 is MASTER, its daemon switches to
// master, and its connection table still holds the connection.
//
// Needs root, qemu and the native addon (npm run build:native). Traffic stays in the lab's namespace.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LvsdConfig } from "../../src/daemon/config.js";
import type { StatusSnapshot } from "../../src/daemon/status/types.js";
import { projectRoot, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";

const ADDON = join(projectRoot, "native/build/Release/lvsd_socket.node");
const SKIP = qemuPrerequisites() ?? (existsSync(ADDON) ? undefined : "needs the native addon: run npm run build:native");
const PORT = 9100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (s: string) => console.log(`qemu-lvsd-sync: ${s}`);

describe("qemu guests: IPVS connection sync follows VRRP; the backup holds the master's connections after failover", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  let bundleDir = "";
  let server: ChildProcess | undefined;

  before(
    async () => {
      bundleDir = mkdtempSync(join(tmpdir(), "lvsd-bundle-"));
      const b = spawnSync(process.execPath, [join(projectRoot, "scripts/build-lvsd.mjs"), "--outdir", bundleDir], { encoding: "utf8" });
      assert.equal(b.status, 0, b.stderr);
      lab = await QemuLab.up({ guests: ["lb1", "lb2"], log: note });
      for (const g of ["lb1", "lb2"]) {
        for (const f of ["lvsd.cjs", "lvsd-vrrp.cjs", "lvsd_socket.node"]) await lab.put(g, `/opt/lvsd/${f}`, readFileSync(join(bundleDir, f)), 0o755);
        await lab.execOk(g, "modprobe ip_vs && ipvsadm -C");
      }
    },
    { timeout: 12 * 60_000 },
  );
  after(async () => {
    server?.kill();
    await lab?.down();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  const seen = new Map<string, string>();
  const status = async (g: string): Promise<StatusSnapshot | undefined> => {
    const r = await lab.exec(g, `exec 3<>/dev/tcp/127.0.0.1/${PORT} && printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`, { timeoutMs: 20_000 });
    seen.set(`${g} status`, r.code === 0 ? r.stdout.slice(-600) : `exit ${r.code}: ${r.stderr.slice(-300)}`);
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout.slice(r.stdout.indexOf("\r\n\r\n") + 4)) as StatusSnapshot;
    } catch {
      return undefined;
    }
  };
  const waitFor = async <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = await f();
      if (v) return v;
      if (Date.now() - t0 > timeoutMs) {
        // What was last seen, and each guest's lvsd log tail: a timeout says why.
        const logs: string[] = [];
        for (const g of ["lb1", "lb2"]) logs.push(`${g} lvsd.log:\n${(await lab.exec(g, "tail -n 30 /root/lvsd.log", { timeoutMs: 20_000 })).stdout}`);
        throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify([...seen])}\n${logs.join("\n")}`);
      }
      await sleep(500);
    }
  };

  test("sync daemons master/backup with VRRP; after a clean failover lb2's connection table holds lb1's connection", { timeout: 10 * 60_000 }, async () => {
    const VIP = lab.freeAddress(0);
    const SVC_VIP = lab.freeAddress(2);
    const RS = lab.freeAddress(1);
    spawnSync("ip", ["-n", lab.netns, "addr", "add", `${RS}/24`, "dev", "br0"]);
    server = spawn("ip", ["netns", "exec", lab.netns, process.execPath, "-e", `require("net").createServer((s) => s.pipe(s)).listen(9000, ${JSON.stringify(RS)}, () => console.log("listening"))`], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res) => server!.stdout!.once("data", () => res()));

    const config = (g: string, priority: number): LvsdConfig => ({
      version: 1,
      routerId: g,
      statusPort: PORT,
      instances: [
        {
          name: "VI_1",
          interface: "eth0",
          vrid: 61,
          priority,
          state: priority > 100 ? "MASTER" : "BACKUP",
          version: 3,
          advertIntervalCs: 50,
          unicastPeers: [],
          vips: [{ address: VIP, prefix: 24, dev: "eth0" }],
          nopreempt: false,
          preemptDelaySec: 0,
          trackInterfaces: [],
          garp: { masterDelaySec: 0, masterRepeat: 1, masterRefreshSec: 0 },
          notify: {},
        },
      ],
      syncGroups: [],
      services: [
        {
          name: "echo",
          vip: SVC_VIP,
          port: 9000,
          protocol: "TCP",
          scheduler: "rr",
          forwarding: "NAT",
          delayLoopSec: 5,
          quorum: 1,
          hysteresis: 0,
          realServers: [{ address: RS, port: 9000, weight: 1, inhibitOnFailure: false }],
        },
      ],
      lvsSyncDaemon: { interface: "eth0", instance: "VI_1", syncId: 7 },
    });
    for (const [g, prio] of [["lb1", 150], ["lb2", 100]] as const) {
      await lab.put(g, "/etc/lvsd/lvsd.json", JSON.stringify(config(g, prio)));
      await lab.execOk(g, "setsid nohup node /opt/lvsd/lvsd.cjs --config /etc/lvsd/lvsd.json >>/root/lvsd.log 2>&1 </dev/null & echo $! > /run/lvsd.pid");
    }
    const daemons = async (g: string) => {
      const out = (await lab.execOk(g, "ipvsadm -L --daemon")).trim();
      seen.set(`${g} ipvsadm -L --daemon`, out);
      return out;
    };
    await waitFor("lb1 MASTER with the master sync daemon", async () => (await status("lb1"))?.instances[0]?.state === "MASTER" && /master sync daemon \(mcast=eth0, syncid=7[,)]/.test(await daemons("lb1")));
    await waitFor("lb2 with the backup sync daemon", async () => /backup sync daemon \(mcast=eth0, syncid=7[,)]/.test(await daemons("lb2")));
    note(`lb1: ${await daemons("lb1")}; lb2: ${await daemons("lb2")}`);

    // a long-lived connection through lb1's IPVS (a local client, NAT to the echo server)
    await lab.put("lb1", "/root/client.js", `const s = require("net").connect(9000, ${JSON.stringify(SVC_VIP)}); let n = 0;
      s.on("data", () => require("fs").writeFileSync("/root/client.count", String(++n)));
      s.on("connect", () => setInterval(() => s.write("x"), 100));
      s.on("close", () => process.exit(1));`);
    await lab.execOk("lb1", "setsid nohup node /root/client.js >/root/client.log 2>&1 </dev/null & echo $! > /run/client.pid");
    const conn = new RegExp(`TCP\\s+\\S+\\s+ESTABLISHED\\s+\\S+:\\d+\\s+${SVC_VIP.replace(/\./g, "\\.")}:9000\\s+${RS.replace(/\./g, "\\.")}:9000`);
    await waitFor("the connection on lb1", async () => conn.test(await lab.execOk("lb1", "ipvsadm -Lnc")));
    const synced = await waitFor("the connection synced to lb2", async () => {
      const t = await lab.execOk("lb2", "ipvsadm -Lnc");
      return conn.test(t) ? t : undefined;
    });
    note(`lb2's connection table before failover:\n${synced}`);

    // a clean failover: lb1's lvsd resigns (priority 0); lb2 becomes MASTER and switches its daemon
    await lab.execOk("lb1", "kill -TERM $(cat /run/lvsd.pid)");
    await waitFor("lb2 MASTER with the master sync daemon", async () => (await status("lb2"))?.instances[0]?.state === "MASTER" && /master sync daemon/.test(await daemons("lb2")));
    const after = await lab.execOk("lb2", "ipvsadm -Lnc");
    note(`lb2 after failover: ${await daemons("lb2")}\n${after}`);
    assert.match(after, conn, "lb2's connection table lost lb1's connection");
    assert.doesNotMatch(await daemons("lb2"), /backup sync daemon/);
    await lab.exec("lb1", "kill $(cat /run/client.pid) 2>/dev/null");
    await lab.exec("lb2", "kill -KILL $(cat /run/lvsd.pid) 2>/dev/null");
  });
});
