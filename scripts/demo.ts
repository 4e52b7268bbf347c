// The main job on one machine, as root: a lab cluster with a real IPVS kernel, and lvsctl run
// against it the way an operator would.
//   - two directors, lb1 and lb2: Debian 12 qemu guests with Debian's kernel (this machine's kernel
//     may have no IPVS; src/lab/qemu.ts), reached over SSH;
//   - two real servers, rs1 and rs2, answering HTTP with their names, and a client: network
//     namespaces on the lab's bridge (src/lab/qemu-realservers.ts). Nothing leaves the lab.
// Then: validate, render, a dry run with diffs, the deploy (keepalived on both directors, one at a
// time), requests through the VIP, a second deploy that changes nothing, and a failover drill by
// hand: keepalived stopped on the master while a client keeps asking, the VIP moves, no request
// fails; keepalived started again, the master takes the VIP back.
//   sudo npx tsx scripts/demo.ts   (npm run demo)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { QemuLab, qemuPrerequisites, qemuRealServers, type QemuRealServers } from "../src/lab/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lvsctl(args: string[], env: NodeJS.ProcessEnv = {}): number {
  console.log(`\n$ lvsctl ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [join(root, "bin/lvsctl.js"), ...args], { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const why = qemuPrerequisites();
  if (why) {
    console.error(`demo: ${why}`);
    return 1;
  }
  console.log("demo: booting 2 directors (qemu guests with Debian's kernel; the first run builds their image, several minutes)...");
  const lab = await QemuLab.up({ guests: ["lb1", "lb2"], log: (s) => console.log(`demo: ${s}`) });
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-demo-"));
  let rs: QemuRealServers | undefined;
  try {
    const vip = lab.freeAddress(0);
    rs = await qemuRealServers(lab, vip, ["rs1", "rs2"]);
    console.log(`demo: real servers ${rs.servers.map((s) => `${s.name} ${s.address}`).join(", ")}; client ${rs.clientAddress}`);
    const inv = join(dir, "inventory.yml");
    writeFileSync(
      inv,
      [
        "# A two-director LVS-DR cluster on the lab (written by scripts/demo.ts).",
        `defaults: { user: root, key_file: ${lab.keyFile}, connect_timeout: 20 }`,
        "hosts:",
        ...["lb1", "lb2"].map((g) => `  ${g}: { address: ${lab.guest(g).address} }`),
        "groups:",
        "  directors: { hosts: [lb1, lb2] }     # lb1 starts as MASTER (priority 150), lb2 BACKUP (100)",
        "vrrp_instances:",
        "  - name: VI_web",
        "    interface: eth0",
        "    virtual_router_id: 51",
        "    advert_int: 1",
        "    authentication: { auth_type: PASS, auth_pass: { env: LVS_VRRP_PASS } }",
        `    virtual_ipaddress: [${vip}/24]`,
        "virtual_servers:",
        `  - vip: ${vip}`,
        "    port: 80",
        "    lb_algo: rr",
        "    delay_loop: 5",
        "    check: { type: HTTP_GET, url: [{ path: /health, status_code: 200 }], connect_timeout: 3 }",
        `    real_servers: [${rs.servers.map((s) => `{ address: ${s.address} }`).join(", ")}]`,
        "",
      ].join("\n"),
    );
    const env = { LVS_VRRP_PASS: "demo-pw" };
    const kh = ["--known-hosts", lab.knownHostsFile];
    const steps: string[][] = [["validate", inv], ["render", inv, "--host", "lb1"], ["deploy", inv, ...kh, "--check", "--diff"], ["deploy", inv, ...kh]];
    for (const args of steps) {
      const code = lvsctl(args, env);
      if (code !== 0) {
        console.error(`demo: \`lvsctl ${args.join(" ")}\` exited ${code}`);
        return code || 1;
      }
    }

    const holders = async () => {
      const out: string[] = [];
      for (const g of ["lb1", "lb2"]) if ((await lab.exec(g, "ip -o addr show dev eth0")).stdout.includes(` ${vip}/`)) out.push(g);
      return out;
    };
    console.log(`\n$ ipvsadm -Ln   (on lb1)\n${(await lab.execOk("lb1", "ipvsadm -Ln")).trimEnd()}`);
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await rs.get(vip));
    console.log(`\ndemo: 6 requests from the client through ${vip}: ${answers.join(" ")}`);
    if (!answers.every((a) => a === "rs1" || a === "rs2")) {
      console.error("demo: a request through the VIP failed");
      return 1;
    }

    const again = lvsctl(["deploy", inv, ...kh], env);
    if (again !== 0) return again;

    // The drill, by hand (lvsctl drill is not built yet): stop keepalived on the master while the
    // client keeps asking, watch the VIP move, start it again and watch lb1 take it back.
    console.log(`\ndemo: failover: VIP on ${(await holders()).join(",")}; stopping keepalived on lb1 while the client sends a request every 100 ms`);
    const t0 = Date.now();
    const results: string[] = [];
    let stop = false;
    const client = (async () => {
      while (!stop) {
        results.push(await rs!.get(vip, 2));
        await sleep(100);
      }
    })();
    await sleep(1000);
    await lab.execOk("lb1", "systemctl stop keepalived");
    const stopped = Date.now() - t0;
    let moved = -1;
    for (let i = 0; i < 100 && moved < 0; i++) {
      if ((await holders()).join(",") === "lb2") moved = Date.now() - t0;
      else await sleep(200);
    }
    await sleep(2000);
    await lab.execOk("lb1", "systemctl start keepalived");
    let back = -1;
    for (let i = 0; i < 100 && back < 0; i++) {
      if ((await holders()).join(",") === "lb1") back = Date.now() - t0;
      else await sleep(200);
    }
    await sleep(1000);
    stop = true;
    await client;
    const failed = results.filter((r) => r.startsWith("error"));
    console.log(`demo: keepalived stopped on lb1 at ${stopped} ms; VIP on lb2 alone at ${moved < 0 ? "never (20 s)" : `${moved} ms`}; started again, back on lb1 at ${back < 0 ? "never (20 s)" : `${back} ms`}`);
    console.log(`demo: ${results.length} requests during the drill, ${failed.length} failed${failed.length ? `: ${failed[0]}` : ""}`);
    if (moved < 0 || back < 0 || failed.length > 0) return 1;
    console.log("\ndemo: done. Tearing the lab down.");
    return 0;
  } finally {
    rs?.down();
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
