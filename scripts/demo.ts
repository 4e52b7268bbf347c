// The main job on one machine: a lab cluster of real Debian hosts (systemd + sshd in network
// namespaces), an inventory for it, and lvsctl run against it the way an operator would:
// validate, a dry run with diffs, the deploy, and a second deploy that changes nothing.
//   sudo npx tsx scripts/demo.ts [--keep]     (--keep leaves the lab up; `npx tsx scripts/lab.ts down --slot S`)
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Lab, labPrerequisites } from "../test/lab/lib/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const keep = process.argv.includes("--keep");

function lvsctl(args: string[], env: NodeJS.ProcessEnv = {}): number {
  console.log(`\n$ lvsctl ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [join(root, "bin/lvsctl.js"), ...args], { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const why = labPrerequisites();
  if (why) {
    console.error(`demo: ${why}`);
    return 1;
  }
  console.log("demo: booting 4 lab hosts (2 directors, 2 real servers)...");
  const lab = await Lab.up({ hosts: ["ds1", "ds2", "rs1", "rs2"], persistent: keep });
  try {
    const dir = join(lab.dir, "demo");
    mkdirSync(dir, { recursive: true });
    const inv = join(dir, "inventory.yml");
    const a = (n: string) => lab.host(n).address;
    const vip = lab.freeAddress(0);
    writeFileSync(
      inv,
      [
        "# A two-director LVS-DR cluster on the lab (written by scripts/demo.ts).",
        `defaults: { user: ${lab.deployUser}, become: true, key_file: ${lab.keyFile} }`,
        "hosts:",
        ...["ds1", "ds2", "rs1", "rs2"].map((n) => `  ${n}: { address: ${a(n)} }`),
        "groups:",
        "  directors: { hosts: [ds1, ds2] }",
        "  realservers: { hosts: [rs1, rs2] }",
        "vrrp_instances:",
        "  - name: VI_web",
        "    interface: eth0",
        "    virtual_router_id: 51",
        "    authentication: { auth_type: PASS, auth_pass: { env: LVS_VRRP_PASS } }",
        `    virtual_ipaddress: [${vip}/24]`,
        "virtual_servers:",
        `  - vip: ${vip}`,
        "    port: 80",
        "    lb_algo: wrr",
        "    check: { type: HTTP_GET, url: [{ path: /health, status_code: 200 }] }",
        "    real_servers: [{ host: rs1 }, { host: rs2, weight: 2 }]",
        "",
      ].join("\n"),
    );
    const env = { LVS_VRRP_PASS: "demo-pw" };
    const kh = ["--known-hosts", lab.knownHostsFile];
    const steps: [string[], number[]][] = [
      [["validate", inv], [0]],
      [["render", inv, "--host", "ds1"], [0]],
      [["deploy", inv, ...kh, "--check", "--diff"], [0]],
      [["deploy", inv, ...kh], [0]],
      [["deploy", inv, ...kh, "--verbose"], [0]],
    ];
    for (const [args, ok] of steps) {
      const code = lvsctl(args, env);
      if (!ok.includes(code)) {
        console.error(`demo: \`lvsctl ${args.join(" ")}\` exited ${code}`);
        return code || 1;
      }
    }
    console.log("\n$ ip -o addr show dev lo; sysctl arp_ignore/arp_announce   (on rs1, through the lab)");
    console.log((await lab.execOk("rs1", "ip -o -4 addr show dev lo; sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce")).trimEnd());
    console.log(`\ndemo: done.${keep ? ` The lab stays up (slot ${lab.slot}): inventory ${inv}; \`npx tsx scripts/lab.ts down --slot ${lab.slot}\` removes it.` : " Tearing the lab down."}`);
    return 0;
  } finally {
    if (!keep) await lab.down();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
