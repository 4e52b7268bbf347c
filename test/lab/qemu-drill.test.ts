// `lvsctl drill` (the real CLI, over SSH) on two keepalived directors with real IPVS kernels (qemu
// guests lb1 and lb2, src/lab/qemu.ts), deployed by `lvsctl deploy`, and two real servers in
// namespaces on the lab's bridge (src/lab/qemu-realservers.ts):
//   - the client is this machine: its veth is on the lab's bridge subnet (10.78.S.1/24), so it
//     reaches the VIP by ARP, and DR replies come straight back from the real servers on the same
//     L2; the test asserts the drill picked "this machine" (it refuses when it cannot reach the VIP);
//   - --mode stop, kill and link over both directors pass; stop loses at most 3 requests (a clean
//     stop hands over in the skew time, about 0.6 s with advert 1 s, while the client sends one
//     request every 100 ms: a handful may land in the handover) and the VIP ends on lb1 (preempt);
//   - the cluster is healthy afterwards (`lvsctl status` exit 0);
//   - a drill interrupted by SIGINT right after lb1 went down starts keepalived on lb1 again, exits
//     130 and says what it restored.
// Needs root and qemu; software emulation: the gaps printed are this lab's, not a measure of speed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, describeRun, runCli, tempDir } from "./helpers/index.js";
import { QemuLab, qemuPrerequisites } from "../../src/lab/index.js";
import { qemuRealServers, type QemuRealServers } from "../../src/lab/qemu-realservers.js";
import type { DrillReport } from "../../src/drill/index.js";

const SKIP = qemuPrerequisites();
const GUESTS = ["lb1", "lb2"] as const;
const note = (s: string) => console.log(`qemu-drill: ${s}`);

describe("qemu guests: lvsctl drill over two keepalived directors, every mode, and an interrupted drill", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  let rs: QemuRealServers | undefined;
  let inventory = "";
  const dir = tempDir("lvsctl-drill-");
  const kh = () => ["--known-hosts", lab.knownHostsFile];

  before(
    async () => {
      lab = await QemuLab.up({ guests: [...GUESTS], log: note });
      const vip = lab.freeAddress(0);
      rs = await qemuRealServers(lab, vip, ["rs1", "rs2"]);
      inventory = join(dir, "inventory.json");
      writeFileSync(
        inventory,
        JSON.stringify({
          defaults: { user: "root", key_file: lab.keyFile, connect_timeout: 20 },
          hosts: Object.fromEntries(GUESTS.map((g) => [g, { address: lab.guest(g).address }])),
          groups: { directors: { hosts: [...GUESTS] } },
          vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 62, priority: 100, members: { lb1: { priority: 150 }, lb2: { priority: 100 } }, advert_int: 1, virtual_ipaddress: [`${vip}/24`] }],
          virtual_servers: [{ vip, port: 80, lb_kind: "DR", lb_algo: "rr", delay_loop: 5, real_servers: rs.servers.map((r) => ({ address: r.address, port: 80 })) }],
        }),
      );
      const d = await runCli(["deploy", inventory, "--json", ...kh()], { timeoutMs: 20 * 60_000 });
      note(`deploy: exit ${d.code} in ${(d.ms / 1000).toFixed(1)} s`);
      assert.equal(d.code, 0, describeRun(d));
    },
    { timeout: 25 * 60_000 },
  );
  after(async () => {
    rs?.down();
    await lab?.down();
  });

  const drill = async (mode: string, extra: string[] = []) => {
    const r = await runCli(["drill", inventory, "--mode", mode, "--json", ...kh(), ...extra], { timeoutMs: 10 * 60_000 });
    let rep: DrillReport & { target: unknown };
    try {
      rep = JSON.parse(r.stdout);
    } catch {
      assert.fail(`drill --mode ${mode}: exit ${r.code}, no JSON report:\n${r.stdout}\n${r.stderr}`);
    }
    note(`drill ${mode}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; client ${rep.client}; ${rep.steps.map((s) => `${s.director}: ${s.pass ? "pass" : "FAIL"} gap ${s.gapMs} ms, failed ${s.failed}/${s.sent}, moved ${s.movedMs ?? "-"} ms, back ${s.backMs ?? "-"} ms, held ${s.held ? `${s.held.survived}/${s.held.opened}` : "-"}${s.failures.length ? ` (${s.failures.join("; ")})` : ""}`).join(" | ")}`);
    return { r, rep };
  };
  const status = () => runCli(["status", inventory, ...kh()], { timeoutMs: 120_000 });

  test("stop, kill and link over both directors pass; the VIP ends on lb1; healthy afterwards", { timeout: 40 * 60_000 }, async () => {
    for (const mode of ["stop", "kill", "link"]) {
      const { r, rep } = await drill(mode, mode === "stop" ? ["--max-failed", "3"] : ["--link-down", "8"]);
      assert.equal(rep.client, "this machine", "the controller reaches the VIP on the lab's L2");
      assert.equal(r.code, 0, `${mode}: ${r.stdout}\n${r.stderr}`);
      assert.equal(rep.pass, true);
      assert.deepEqual(rep.steps.map((s) => s.director), ["lb1", "lb2"]);
      for (const s of rep.steps) assert.deepEqual(s.finalHolders, { VI_1: ["lb1"] }, `${mode} ${s.director}: preempt puts the VIP back on lb1`);
      assert.equal(rep.steps[0]!.vipMoved, true);
      if (mode === "stop") for (const s of rep.steps) assert.ok(s.failed <= 3, `stop ${s.director}: ${s.failed} failed`);
      assert.deepEqual(rep.restores, []);
      const st = await status();
      assert.equal(st.code, 0, `status after the ${mode} drill:\n${st.stdout}\n${st.stderr}`);
    }
  });

  test("SIGINT right after lb1 went down: keepalived is started again on lb1, exit 130, the report says so", { timeout: 10 * 60_000 }, async () => {
    const child = spawn(process.execPath, [CLI, "drill", inventory, "--mode", "stop", ...kh()], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    let err = "";
    let sent = false;
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      out += d;
      if (!sent && /down: systemctl stop keepalived\.service/.test(out)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 5 * 60_000);
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    clearTimeout(timer);
    note(`interrupted drill: exit ${code}\n${out}${err}`);
    assert.ok(sent, "the drill took lb1 down");
    assert.equal(code, 130);
    assert.match(out, /restored lb1: systemctl start keepalived\.service/);
    assert.equal((await lab.execOk("lb1", "systemctl is-active keepalived")).trim(), "active");
    let st = await status();
    for (let i = 0; i < 20 && st.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      st = await status();
    }
    assert.equal(st.code, 0, `status after the interrupted drill:\n${st.stdout}\n${st.stderr}`);
  });
});
