// NAT end to end, for both backends, on one qemu lab (two directors, lb1 and lb2, with real IPVS
// kernels, src/lab/qemu.ts), all through the real CLI over SSH:
//   - `lvsctl deploy` from nothing (keepalived's package is in the guests' image, stopped; none of
//     lvsctl's files) with one `lb_kind: NAT` service: both directors forward (ip_forward=1 as
//     deploy's sysctls set it), lb1 holds the service VIP and the gateway VIP, its `ipvsadm -Sn`
//     is the inventory's table (masquerading, -m);
//   - requests from a client that is NOT on the real servers' subnet go through the VIP and are
//     answered by every real server in turn (rr);
//   - `lvsctl drill --mode stop` over both directors passes: the gateway VIP moves with the service
//     VIP (one VRRP instance holds both), so the replies follow the new master; the gap is printed;
//   - a second deploy changes nothing;
//   - with an HTTP_GET check on the real servers (as DR's: delay_loop 3, connect_timeout 2, retry 1,
//     delay_before_retry 1; rise 2 for lvsd), for each backend: one real server's web service
//     stopped is out of the master's table within the check's timers and no request started after
//     that fails; `lvsctl status` names it down on both directors (exit 4); started again it is
//     back within the timers, none failing meanwhile, and status is healthy again (exit 0). The
//     figures are printed (test/lab/helpers/web-outage.ts measures them, as for DR);
//   - switching the backend keepalived -> lvsd is one deploy while a client sends requests the
//     whole time (the failed ones are counted and printed; none may fail); then the same requests,
//     and the same drill over lvsd. Both are todo (LVSD_NAT_SWITCH, LVSD_NAT_DRILL): they print
//     their figures either way.
// One-arm NAT on the lab's one bridge: the VIP and the client are in the lab's subnet (10.78.S.0/24:
// the client is the lab's namespace for the test's requests and this machine for the drill's), the
// real servers and the gateway VIP in the inside subnet (10.79.S.0/24). Each director also has an
// address of its own there (set by this test, as a NAT director's inside interface has one): the
// health checks come from it, so the backup, which holds no gateway VIP, checks the real servers
// too and keeps them in its table (without it the backup's checks had no route, its table would
// be empty, status would call it unhealthy and a failover would start with no real server). A
// real server's reply to the client (not on the inside subnet) can still only leave through its
// default route, the gateway VIP on the master, which un-NATs it: an answer proves the NAT path.
// The real servers are network namespaces the lab prepares itself, listed in the inventory by
// address (not SSH hosts deploy bootstraps): their default route through the gateway VIP is set by
// the lab helper (src/lab/qemu-realservers.ts), as `lvsctl bootstrap` sets it on a managed NAT
// real server (test/lab/bootstrap-nat.test.ts proves that part).
//
// Needs root and qemu. The guests run under software emulation: the figures printed are this lab's,
// never a measure of speed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DrillReport } from "../../src/drill/index.js";
import { changedTasks, describeRun, runCli, tempDir, type CliRun } from "./helpers/index.js";
import { deployRun, tableIsInventory as tableIsInventoryOf } from "./helpers/director.js";
import { backBoundMs, backFloorMs, bringBack, esc, failedOf, outBoundMs, SLACK_MS, statusTable, statusUntil as statusUntilOf, takeOut, type CheckTimers, type StatusJson } from "./helpers/web-outage.js";
import { projectRoot, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";
import { qemuRealServers, type QemuRealServers } from "../../src/lab/qemu-realservers.js";
import { vipClient } from "./helpers/vip-client.js";

const SKIP = qemuPrerequisites();
/** Only for explaining a failed drill (a capture of the lab's bridge); the test runs without it. */
const HAVE_TCPDUMP = spawnSync("tcpdump", ["--version"]).status === 0;
const GUESTS = ["lb1", "lb2"] as const;
type Backend = "keepalived" | "lvsd";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (s: string) => console.log(`qemu-nat: ${s}`);
/** The real servers' HTTP_GET check, as DR's tests have it (qemu-deploy-*.test.ts); rise is lvsd's alone (keepalived brings a server back on one success). */
const timers = (backend: Backend): CheckTimers => ({ delayLoopSec: 3, connectTimeoutSec: 2, retry: 1, delayBeforeRetrySec: 1, rise: backend === "lvsd" ? 2 : 1 });
const checkOf = (backend: Backend) => {
  const t = timers(backend);
  return { type: "HTTP_GET", url: [{ path: "/", status_code: 200 }], connect_timeout: t.connectTimeoutSec, retry: t.retry, delay_before_retry: t.delayBeforeRetrySec, ...(backend === "lvsd" ? { rise: t.rise } : {}) };
};
/** Each director's own address in the inside subnet: lab.insideAddress(INSIDE_OWN + its index). */
const INSIDE_OWN = 200;

describe("qemu guests: NAT through two directors, keepalived then lvsd: deploy, every real server answers, drill, no-change deploy, backend switch", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  let rs: QemuRealServers | undefined;
  let inventory = "";
  let bundleDir = "";
  let VIP = "";
  let GW = "";
  const dir = tempDir("lvsctl-nat-");
  const kh = () => ["--known-hosts", lab.knownHostsFile];

  const inventoryText = (backend: Backend) =>
    JSON.stringify(
      {
        defaults: { user: "root", key_file: lab.keyFile, connect_timeout: 20 },
        hosts: Object.fromEntries(GUESTS.map((g) => [g, { address: lab.guest(g).address }])),
        groups: { directors: { hosts: [...GUESTS] } },
        director: { backend },
        // One instance holds the service VIP (outside) and the gateway VIP (inside): they move together.
        vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 63, priority: 100, members: { lb1: { priority: 150 }, lb2: { priority: 100 } }, advert_int: 1, virtual_ipaddress: [`${VIP}/24`, `${GW}/24`] }],
        virtual_servers: [{ vip: VIP, port: 80, lb_kind: "NAT", nat_gateway: GW, lb_algo: "rr", delay_loop: timers(backend).delayLoopSec, check: checkOf(backend), real_servers: rs!.servers.map((r) => ({ address: r.address, port: 80 })) }],
      },
      null,
      2,
    ) + "\n";

  before(
    async () => {
      bundleDir = mkdtempSync(join(tmpdir(), "lvsd-bundle-"));
      const b = spawnSync(process.execPath, [join(projectRoot, "scripts/build-lvsd.mjs"), "--outdir", bundleDir], { encoding: "utf8", timeout: 180_000 });
      assert.equal(b.status, 0, b.stderr);
      lab = await QemuLab.up({ guests: [...GUESTS], log: note });
      VIP = lab.freeAddress(0);
      GW = lab.insideAddress(0);
      for (const [i, g] of GUESTS.entries()) {
        // Nothing of lvsctl's: keepalived (in the image) stopped, no lvsd, forwarding off. The
        // director's own inside address goes on before any VIP, so it is eth0's primary one there
        // and the gateway VIP a secondary that can come and go without taking it along.
        await lab.execOk(g, "systemctl stop keepalived 2>/dev/null || true; ! test -e /opt/lvsd; ! test -e /etc/lvsd; sysctl -q -w net.ipv4.ip_forward=0");
        await lab.execOk(g, `ip addr add ${lab.insideAddress(INSIDE_OWN + i)}/24 dev eth0`);
      }
      rs = await qemuRealServers(lab, VIP, ["rs1", "rs2"], 1, { nat: { gateway: GW } });
      for (const r of rs.servers) {
        const route = spawnSync("ip", ["-n", r.ns, "route", "show", "default"], { encoding: "utf8" }).stdout.trim();
        note(`${r.name} ${r.address}: ${route}`);
        assert.match(route, new RegExp(`^default via ${GW.replace(/\./g, "\\.")} dev eth0`));
      }
      note(`VIP ${VIP}, gateway VIP ${GW}, client ${rs.clientAddress} (and this machine, ${lab.gateway}, for the drill)`);
      inventory = join(dir, "inventory.json");
      writeFileSync(inventory, inventoryText("keepalived"));
    },
    { timeout: 15 * 60_000 },
  );
  after(async () => {
    rs?.down();
    await lab?.down();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  const get = (): Promise<string> => rs!.get(VIP);
  /** Who holds each VIP: `lb1` when lb1 holds both, `lb1:vip` when only the service VIP, ... */
  const holders = async (): Promise<string> => {
    const out: string[] = [];
    for (const g of GUESTS) {
      const a = (await lab.exec(g, "ip -o addr show dev eth0")).stdout;
      const v = a.includes(` ${VIP}/24 `);
      const w = a.includes(` ${GW}/24 `);
      if (v && w) out.push(g);
      else if (v || w) out.push(`${g}:${v ? "vip" : "gw"}`);
    }
    return out.join("+") || "none";
  };
  const deploy = (what: string): Promise<CliRun> => deployRun(what, { inventory, knownHosts: lab.knownHostsFile, bundleDir, log: note });
  const active = async (g: string, unit: string) => (await lab.execOk(g, `systemctl is-active ${unit} || true`)).trim();
  const tableIsInventory = (g: string) => tableIsInventoryOf(lab, inventory, g);
  /** Each real server answers, in turn (rr), through the VIP. */
  const everyRealServerAnswers = async (backend: Backend) => {
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await get());
    note(`${backend}: 6 requests from ${rs!.clientAddress} through ${VIP}: ${answers.join(" ")}`);
    assert.deepEqual(new Set(answers), new Set(["rs1", "rs2"]), `every real server answers (${answers.join(" ")})`);
    for (let i = 1; i < answers.length; i++) assert.notEqual(answers[i], answers[i - 1], `rr: each real server in turn (${answers.join(" ")})`);
  };
  const client = () => vipClient(get);
  /** What the NAT path looked like, printed when a drill fails: who answers ARP for what, the directors' addresses and IPVS connections, the daemons' last words, and (with tcpdump) the bridge's ARP, SYN and RST packets during the drill. */
  const explain = async (backend: Backend, pcap: string | undefined) => {
    const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" }).stdout.trim().replace(/\n/g, " | ");
    const out = [`holders: ${await holders()}`, `this machine: ${sh(["ip", "neigh", "show", VIP])}; ${sh(["ip", "route", "get", VIP])}`, `lab namespace: ${sh(["ip", "-n", lab.netns, "neigh"])}`];
    for (const r of rs!.servers) out.push(`${r.name}: ${sh(["ip", "-n", r.ns, "neigh"])}`);
    for (const g of GUESTS) {
      const unit = backend === "lvsd" ? "lvsd" : "keepalived";
      out.push(`${g}: ${(await lab.exec(g, `ip -o -4 addr show dev eth0 | awk '{print $4}' | tr '\\n' ' '; ipvsadm -Lnc | tail -n +3 | grep -v TIME_WAIT | head -8; journalctl -u ${unit} --no-pager -o short-precise | grep -v notification | tail -15`)).stdout.trim()}`);
    }
    if (pcap) out.push(`bridge (ARP, SYN, RST):\n${spawnSync("tcpdump", ["-r", pcap, "-n", "-tt", "-e", "arp or tcp[tcpflags] & (tcp-syn|tcp-rst) != 0"], { encoding: "utf8" }).stdout.split("\n").slice(-150).join("\n")}`);
    note(`drill (${backend}) failed; the NAT path:\n${out.join("\n")}`);
  };
  const drillStop = async (backend: Backend) => {
    const pcap = HAVE_TCPDUMP ? join(dir, `drill-${backend}.pcap`) : undefined;
    const capture = pcap ? spawn("ip", ["netns", "exec", lab.netns, "tcpdump", "-i", "br0", "-n", "-U", "-s", "128", "-w", pcap, "arp or tcp port 80"], { stdio: "ignore" }) : undefined;
    if (capture) await sleep(1000);
    const r = await runCli(["drill", inventory, "--mode", "stop", "--max-failed", "3", "--json", ...kh()], { timeoutMs: 10 * 60_000 });
    capture?.kill("SIGINT");
    if (capture) await new Promise((res) => capture.once("exit", res));
    let rep: DrillReport;
    try {
      rep = JSON.parse(r.stdout);
    } catch {
      assert.fail(`drill (${backend}): exit ${r.code}, no JSON report:\n${r.stdout}\n${r.stderr}`);
    }
    if (r.code !== 0) await explain(backend, pcap);
    note(
      `drill stop (${backend}): exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; client ${rep.client}; ` +
        rep.steps.map((s) => `${s.director}: ${s.pass ? "pass" : "FAIL"} gap ${s.gapMs} ms, failed ${s.failed}/${s.sent}, moved ${s.movedMs ?? "-"} ms, back ${s.backMs ?? "-"} ms${s.failures.length ? ` (${s.failures.join("; ")})` : ""}`).join(" | "),
    );
    assert.equal(r.code, 0, `drill (${backend}):\n${r.stdout}\n${r.stderr}`);
    assert.equal(rep.pass, true);
    assert.equal(rep.client, "this machine", "the controller reaches the VIP on the lab's subnet, outside the real servers' one");
    assert.deepEqual(rep.steps.map((s) => s.director), ["lb1", "lb2"]);
    assert.equal(rep.steps[0]!.vipMoved, true);
    for (const s of rep.steps) assert.deepEqual(s.finalHolders, { VI_1: ["lb1"] }, `${s.director}: both VIPs end on lb1 (preempt)`);
    assert.deepEqual(rep.restores, []);
  };

  const statusUntil = (code: number, what: string) => statusUntilOf(inventory, lab.knownHostsFile, code, what, note);
  const tableOf = (s: StatusJson, g: string) => statusTable(s, g, `TCP ${VIP}:80`);
  /** rs2's web service stopped and started again with a client running (web-outage.ts), and what `lvsctl status` says meanwhile. */
  const webOutage = async (backend: Backend) => {
    const t = timers(backend);
    const [rs1, rs2] = rs!.servers;
    const checkName = `${backend}'s HTTP_GET`;
    const healthy = await statusUntil(0, `${backend}: healthy with the check`);
    assert.equal(healthy.s!.backend, backend);
    assert.deepEqual(healthy.s!.instances[0]!.masters, ["lb1"]);
    for (const g of GUESTS) assert.deepEqual(tableOf(healthy.s!, g).map((r) => [r.key, r.health]), [[`${rs1!.address}:80`, "up"], [`${rs2!.address}:80`, "up"]], `${g}: both real servers up (the backup checks them from its own inside address)`);
    // The client goes on 6 s after the server is out (DR's tests: 4 s): at least 10 requests even
    // when the lab is slow (the first run here had exactly 10 after it under lvsd).
    const outage = { lab, realServers: rs!, vip: VIP, port: 80, master: "lb1", server: rs2!, afterMs: 6000 };
    try {
      // 1. Out of lb1's table within the check's timers; no request started after that fails.
      const out = await takeOut(outage);
      note(`${backend}: ${out.text}; bound ${outBoundMs(t)} ms (+${SLACK_MS} ms)`);
      assert.ok(out.outMs <= outBoundMs(t) + SLACK_MS, `out after ${out.outMs} ms, the check's timers allow ${outBoundMs(t)} ms`);
      assert.ok(out.after.length >= 10, `requests ran after it was out (${out.after.length})`);
      assert.deepEqual(failedOf(out.after), [], "no failed request after it was taken out");
      assert.deepEqual(new Set(out.after.map((r) => r.answer)), new Set(["rs1"]));
      await waitFor("rs2 out of lb2's table too", async () => !(await lab.execOk("lb2", "ipvsadm -Sn")).includes(`${rs2!.address}:80`), 30_000);

      // 2. status names it, down on both directors; exit 4.
      const down = await statusUntil(4, `${backend}: rs2 down`);
      note(`${backend}: status with rs2's web service stopped: exit ${down.code}; ${down.s!.problems.map((p) => `[${p.kind}] ${p.message}`).join("; ")}\n${down.screen}`);
      assert.deepEqual(down.s!.problems.map((p) => [p.kind, p.host]), [["health", "lb1"], ["health", "lb2"]]);
      for (const p of down.s!.problems) assert.match(p.message, new RegExp(`service TCP ${esc(VIP)}:80: real server ${esc(rs2!.address)}:80 is down: .*${esc(checkName)}`));
      for (const g of GUESTS) assert.deepEqual(tableOf(down.s!, g).map((r) => [r.key, r.health, r.inTable]), [[`${rs1!.address}:80`, "up", true], [`${rs2!.address}:80`, "down", false]], g);
      assert.match(down.screen, new RegExp(esc(rs2!.address)));

      // 3. Started again: back within the timers (rise successes, delay_loop apart), no request fails; healthy again.
      const back = await bringBack(outage);
      note(`${backend}: ${back.text}; bound ${backFloorMs(t)}-${backBoundMs(t)} ms (+${SLACK_MS} ms)`);
      assert.ok(back.backMs <= backBoundMs(t) + SLACK_MS, `back after ${back.backMs} ms, the check's timers allow ${backBoundMs(t)} ms`);
      assert.ok(back.backMs >= backFloorMs(t), `back after ${back.backMs} ms: rise ${t.rise} needs at least ${backFloorMs(t)} ms`);
      assert.deepEqual(failedOf(back.requests), [], "no failed request while it came back");
      await waitFor("rs2 back in lb2's table", async () => (await lab.execOk("lb2", "ipvsadm -Sn")).includes(`${rs2!.address}:80`), 30_000);
      const again = await statusUntil(0, `${backend}: healthy again`);
      assert.equal(again.s!.healthy, true);
    } finally {
      await rs!.startWeb(rs2!.name);
    }
  };

  test("keepalived from nothing: the directors forward, lb1 holds both VIPs, a NAT table, every real server answers a client outside their subnet", { timeout: 25 * 60_000 }, async () => {
    const first = await deploy("keepalived from nothing");
    assert.equal(first.code, 0, describeRun(first));
    for (const g of GUESTS) {
      assert.ok(changedTasks(first.events).includes(`${g}:director sysctls`), `${g}: director sysctls changed`);
      assert.equal((await lab.execOk(g, "sysctl -n net.ipv4.ip_forward")).trim(), "1", `${g}: ip_forward on`);
      assert.equal(await active(g, "keepalived"), "active");
    }
    await waitFor("both VIPs on lb1 only", async () => (await holders()) === "lb1");
    const table = await tableIsInventory("lb1");
    note(`lb1 ipvsadm -Sn:\n${table.trim()}`);
    assert.match(table, / -m /, "masquerading (NAT)");
    await tableIsInventory("lb2");
    await everyRealServerAnswers("keepalived");
  });

  // The first run here lost every request of the backup's step (lb2, right after lb1 took both
  // VIPs back), 6/21, while lb1's step passed: the directors still had eth0/send_redirects 1 (the
  // baseline only set all/ and default/, and either one enables redirects), so a real server
  // could be told to reach the client around the director. With eth0's own switch off the next
  // run passed both steps with no failed request. A failed drill prints the NAT path (ARP,
  // addresses, IPVS connections, a capture of the bridge).
  // The drill over lvsd in NAT failed lb1's step in its first four runs (4/199, 7/153, 7/154, 8/267
  // failed, over --max-failed 3), while keepalived passed with 0. A capture of the bridge and the
  // guests' journals showed two causes in lvsd, both fixed:
  //   - on lb1's stop, each SYN to the VIP bounced between the directors until its TTL ran out
  //     (time exceeded: EHOSTUNREACH at the client, 4 requests in 0.5 s): both held a neighbour entry
  //     for the VIP pointing at the other, learnt while both had it. lvsd now deletes the entry
  //     when it removes a VIP (runtime/kernel.ts);
  //   - on lb1's return, its first advert went out before its VIPs were on (a netlink round trip of
  //     300-800 ms in the emulated guest): lb2 let go at once, a SYN in between was lost. The advert
  //     now waits for the VIPs (runtime/engine.ts).
  // The first run after the fixes passed: lb1 1/287 failed (gap 1108 ms: the one request in the
  // window between lb1's stop and lb2's takeover), lb2 0/343. Todo until three runs in a row pass.
  // The switch keepalived -> lvsd in NAT: 0 of 247 requests failed in one run, 2 of 230 in the next
  // (connection refused, about 12-24 ms after sending, while lb1 switched: a VIP answering with no
  // IPVS service behind it). lvsd started VRRP and its first IPVS pass in parallel, so it could
  // preempt before the pass had written the services keepalived's stop deleted (one run wrote them
  // 100 ms before lb1 became master). It now starts VRRP after its first IPVS pass (core/startup.ts;
  // a first attempt was reverted when a deploy from nothing failed with it; not reproduced on a fresh
  // native addon, where qemu-deploy-lvsd passes; a stale addon crash-loops lvsd). The first run since:
  // 0 of 317 failed; lb1's pass took 132 ms, VRRP waited 903 ms for it, and lb1 added the VIPs 3.9 s
  // after its table was written. Todo until three runs in a row pass.
  const LVSD_NAT_SWITCH = "NAT switch keepalived -> lvsd: refused requests in 2 runs of 6 before lvsd waited for its first IPVS pass (2/230, 2/304); 0 of 317 in the one run since: not yet three in a row";
  const LVSD_NAT_DRILL = "lvsd's NAT drill: lb1's step failed 4 runs of 4 before the fixes (4/199, 7/153, 7/154, 8/267); 4 runs since passed (lb1 1/287, 1/196, 0/185, 1/194): to be enforced after more clean runs";

  test("keepalived: drill --mode stop over both directors passes", { timeout: 10 * 60_000 }, async () => {
    await drillStop("keepalived");
  });

  test("keepalived: a second deploy changes nothing", { timeout: 15 * 60_000 }, async () => {
    const again = await deploy("no change");
    assert.equal(again.code, 0, describeRun(again));
    assert.deepEqual(changedTasks(again.events), [], "a second deploy changes nothing");
  });

  test("keepalived: a stopped web service is out of the master's table within the check's timers, status names it (exit 4), back on the next success (exit 0)", { timeout: 10 * 60_000 }, async () => {
    await webOutage("keepalived");
  });

  test("keepalived -> lvsd in one deploy with a client running; then every real server answers", { timeout: 30 * 60_000, todo: LVSD_NAT_SWITCH }, async () => {
    writeFileSync(inventory, inventoryText("lvsd"));
    const c = client();
    const sw = await deploy("switch to lvsd");
    await waitFor("both VIPs on lb1 only", async () => (await holders()) === "lb1");
    await sleep(2000);
    const r = await c.stop();
    note(`during the switch to lvsd: ${r.text}`);
    // lvsd's start on each director: the first IPVS pass, VRRP's start after it, the VIPs taken
    for (const g of GUESTS) note(`${g} lvsd start:\n${(await lab.exec(g, "journalctl -u lvsd --no-pager -o short-precise | grep -E 'first IPVS pass|\"msg\":\"start: |lvsd started|VIPs added|VIPs removed' | tail -8")).stdout.trim()}`);
    assert.equal(sw.code, 0, describeRun(sw));
    for (const g of GUESTS) {
      assert.equal(await active(g, "lvsd"), "active", `${g}: lvsd`);
      assert.equal(await active(g, "keepalived"), "inactive", `${g}: keepalived`);
      assert.equal((await lab.execOk(g, "sysctl -n net.ipv4.ip_forward")).trim(), "1", `${g}: ip_forward on`);
      await tableIsInventory(g);
    }
    assert.deepEqual(r.failed, [], "no failed request during the switch to lvsd");
    await everyRealServerAnswers("lvsd");
  });

  test("lvsd: a stopped web service is out of the master's table within the check's timers, status names it (exit 4), back after rise successes (exit 0)", { timeout: 10 * 60_000 }, async () => {
    await webOutage("lvsd");
  });

  test("lvsd: drill --mode stop over both directors passes", { timeout: 10 * 60_000, todo: LVSD_NAT_DRILL }, async () => {
    await drillStop("lvsd");
  });

  async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    while (!(await f().catch(() => false))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what} (holders: ${await holders().catch(() => "?")})`);
      await sleep(300);
    }
  }
});
