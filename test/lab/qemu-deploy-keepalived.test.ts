// `lvsctl deploy` (the real CLI, over SSH) sets up two keepalived directors on real IPVS kernels
// (two qemu guests, lb1 and lb2, src/lab/qemu.ts) from packages, and the cluster serves:
//   - the guests start without keepalived and ipvsadm (purged with dpkg) and with apt pointed at
//     ONLY a flat repository on their own disk holding the two .debs the lab base was built from
//     (the guests have no network): deploy's package task refreshes the lists and installs them;
//   - the master holds the VIP, its `ipvsadm -Sn` is the inventory's table, and requests from a
//     client through the VIP are answered by each real server in turn (DR, rr);
//   - a second deploy reports no change and keepalived is not reloaded (its journal and PID);
//   - a weight change reloads keepalived (same PID, "Reloading" in its journal) while requests go on;
//   - stopping keepalived on the master moves the VIP to the backup; requests keep being answered;
//   - `lvsctl status` on that cluster: with lb1's keepalived stopped, lb2 holds the VIP and status
//     says so (exit 4); with both running, lb1 holds the VIP, both real servers are in each table
//     (exit 0); after a hand `ipvsadm -d` of a real server on lb1, status names the drift (exit 4).
//   - with an HTTP_GET check: a real server's web service stopped is out of the master's table
//     within the check's timers (delay_loop, retry, delay_before_retry, connect_timeout) and no
//     request started after that fails; status names it down on both directors (exit 4); started
//     again it is back on the next check, none failing meanwhile; healthy again (exit 0). The
//     figures (time out, time back, requests) are printed.
// The real servers are not SSH-managed hosts: two network namespaces on the lab's bridge, each
// with the VIP on lo, arp_ignore/arp_announce set and an HTTP server naming itself (the inventory
// gives them by address); the client is the lab's namespace. Nothing leaves that namespace.
//
// Needs root and qemu. The guests run under software emulation: slow, so this proves behaviour,
// never speed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadInventory } from "../../src/inventory/index.js";
import { compareIpvs, expectedIpvs, parseIpvsadmSave } from "../../src/roll/ipvs-table.js";
import { changedTasks, describeRun, ofType, runCli, tempDir, type CliRun } from "./helpers/index.js";
import { paths, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";
import { qemuRealServers, type QemuRealServer, type QemuRealServers } from "../../src/lab/qemu-realservers.js";
import { backBoundMs, bringBack, esc, failedOf, outBoundMs, SLACK_MS, statusTable, statusUntil as statusUntilOf, takeOut, type CheckTimers, type StatusJson } from "./helpers/web-outage.js";

const ARCHIVES = join(paths.base(), "var/cache/apt/archives");
const PACKAGES = ["keepalived", "ipvsadm"];
const debOf = (name: string) => (existsSync(ARCHIVES) ? readdirSync(ARCHIVES).find((f) => f.startsWith(`${name}_`) && f.endsWith(".deb")) : undefined);
const SKIP =
  qemuPrerequisites() ??
  (PACKAGES.every((p) => debOf(p)) ? undefined : `needs the lab base's ${PACKAGES.join(" and ")} .debs in ${ARCHIVES} (built with the base)`) ??
  (spawnSync("dpkg-deb", ["--version"]).status === 0 ? undefined : "needs dpkg-deb (Debian package dpkg)");
const GUESTS = ["lb1", "lb2"] as const;
/** Inside each guest: the flat repository and the one source apt keeps. */
const REPO = "/srv/lvsctl-repo";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (s: string) => console.log(`qemu-deploy-keepalived: ${s}`);

describe("qemu guests: lvsctl deploy installs and runs keepalived on two directors; traffic through the VIP", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  let inventory = "";
  let VIP = "";
  let realServers: QemuRealServers | undefined;
  const rs = (): QemuRealServer[] => realServers?.servers ?? [];
  const dir = tempDir("lvsctl-deploy-ka-");

  const inventoryText = (weight1: number, check?: Record<string, unknown>, delayLoop = 5) =>
    JSON.stringify(
      {
        defaults: { user: "root", key_file: lab.keyFile, connect_timeout: 20 },
        hosts: Object.fromEntries(GUESTS.map((g) => [g, { address: lab.guest(g).address }])),
        groups: { directors: { hosts: [...GUESTS] } },
        vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 61, priority: 100, members: { lb1: { priority: 150 }, lb2: { priority: 100 } }, advert_int: 1, virtual_ipaddress: [`${VIP}/24`] }],
        virtual_servers: [{ vip: VIP, port: 80, lb_kind: "DR", lb_algo: "rr", delay_loop: delayLoop, ...(check ? { check } : {}), real_servers: rs().map((r, i) => ({ address: r.address, port: 80, weight: i === 0 ? weight1 : 1 })) }],
      },
      null,
      2,
    ) + "\n";

  before(
    async () => {
      lab = await QemuLab.up({ guests: [...GUESTS], log: note });
      VIP = lab.freeAddress(0);
      // The flat repository (sources.list(5) "deb URI ./"): the base's two .debs, Packages, Release.
      const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
      let packages = "";
      const debs = PACKAGES.map((p) => {
        const file = debOf(p)!;
        const data = readFileSync(join(ARCHIVES, file));
        const fields = spawnSync("dpkg-deb", ["-f", join(ARCHIVES, file)], { encoding: "utf8" });
        assert.equal(fields.status, 0, fields.stderr);
        const name = file.replace(/%3a/gi, "_");
        packages += `${fields.stdout.trimEnd()}\nFilename: ./${name}\nSize: ${data.length}\nSHA256: ${sha(data)}\n\n`;
        return { name, data };
      });
      const release = `Origin: lvslab\nLabel: lvslab\nSuite: lvslab\nCodename: lvslab\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha(packages)} ${Buffer.byteLength(packages)} Packages\n`;
      for (const g of GUESTS) {
        for (const d of debs) await lab.put(g, `${REPO}/${d.name}`, d.data);
        await lab.put(g, `${REPO}/Packages`, packages);
        await lab.put(g, `${REPO}/Release`, release);
        // Only that repository, with empty lists (a fresh host); keepalived and ipvsadm gone.
        await lab.execOk(
          g,
          "set -e; mkdir -p /root/apt-aside; mv /etc/apt/sources.list /root/apt-aside/ 2>/dev/null || true; " +
            "find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 -exec mv -t /root/apt-aside/ {} +; " +
            `printf 'deb [trusted=yes] file:${REPO} ./\\n' > /etc/apt/sources.list.d/lvslab.list; ` +
            "find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete; rm -f /var/cache/apt/*.bin; " +
            "systemctl stop keepalived 2>/dev/null || true; dpkg --purge keepalived ipvsadm >/dev/null; ! command -v keepalived",
          { timeoutMs: 300_000 },
        );
      }
      // Two real servers on the lab's bridge, each in its own namespace (VIP on lo, ARP sysctls, an
      // HTTP server answering with its name); the client is the lab's namespace.
      realServers = await qemuRealServers(lab, VIP, ["rs1", "rs2"]);
      inventory = join(dir, "inventory.yml");
      writeFileSync(inventory, inventoryText(1));
    },
    { timeout: 15 * 60_000 },
  );
  after(async () => {
    realServers?.down();
    await lab?.down();
  });

  /** One HTTP request through the VIP from the client: the real server's name, or an error text. */
  const get = (): Promise<string> => realServers!.get(VIP);
  const holders = async () => {
    const out: string[] = [];
    for (const g of GUESTS) if ((await lab.exec(g, "ip -o addr show dev eth0")).stdout.includes(` ${VIP}/`)) out.push(g);
    return out;
  };
  const deploy = async (): Promise<CliRun> => {
    const r = await runCli(["deploy", inventory, "--json", "--known-hosts", lab.knownHostsFile], { timeoutMs: 20 * 60_000 });
    note(`deploy: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; changed: ${changedTasks(r.events).join(", ") || "nothing"}`);
    return r;
  };
  const keepalivedState = async (g: string) => {
    const pid = (await lab.execOk(g, "systemctl show -p MainPID --value keepalived")).trim();
    const reloads = Number((await lab.execOk(g, "journalctl -u keepalived --no-pager -o cat | grep -c 'Reloading' || true")).trim());
    return { pid, reloads };
  };

  test("deploy from nothing, a no-change deploy, a weight change, a failover", { timeout: 40 * 60_000 }, async () => {
    // 1. From nothing.
    const first = await deploy();
    assert.equal(first.code, 0, describeRun(first));
    for (const g of GUESTS) {
      const changed = changedTasks(first.events).filter((t) => t.startsWith(`${g}:`));
      for (const t of ["IPVS modules", "keepalived and ipvsadm packages", "director sysctls", "keepalived.conf", "keepalived unit", "keepalived enabled and running"]) assert.ok(changed.includes(`${g}:${t}`), `${g}: ${t} changed (${changed.join(", ")})`);
      assert.match(await lab.execOk(g, "dpkg-query -W -f='${db:Status-Abbrev}' keepalived ipvsadm"), /^ii ii $/);
      assert.equal((await lab.execOk(g, "systemctl is-active keepalived; systemctl is-enabled keepalived")).trim(), "active\nenabled");
      assert.equal((await lab.execOk(g, "cat /proc/sys/net/ipv4/vs/expire_nodest_conn")).trim(), "1");
      assert.match(await lab.execOk(g, "cat /proc/modules"), /^ip_vs_rr /m);
    }
    // Installed from the guests' own repository: the lists were empty, so apt refreshed them first.
    for (const g of GUESTS) {
      const pkg = ofType(first.events, "task.result").find((e) => e.host === g && e.task === "keepalived and ipvsadm packages");
      assert.deepEqual(pkg?.steps, ["apt-get update -q (refresh the package lists)", "apt-get install keepalived ipvsadm"], JSON.stringify(pkg));
      note(`${g} packages: ${pkg?.reason} (${pkg?.ms} ms)`);
    }
    const order = ofType(first.events, "roll.order")[0];
    const gates = ofType(first.events, "gate.result").map((e) => `${e.host} ${e.ok} ${e.ms} ms`);
    note(`roll: ${order?.hosts.join(", ")} (${order?.reason}); gates: ${gates.join("; ")}`);
    assert.deepEqual(order?.hosts, ["lb1", "lb2"], "fresh cluster: highest priority first");
    assert.equal(gates.length, 2);
    assert.deepEqual(await holders(), ["lb1"], "the master holds the VIP");
    const loaded = await loadInventory(inventory);
    assert.ok(loaded.ok);
    const cluster = loaded.cluster;
    const saved = await lab.execOk("lb1", "ipvsadm -Sn");
    note(`lb1 ipvsadm -Sn:\n${saved.trim()}`);
    assert.deepEqual(compareIpvs(expectedIpvs(cluster), parseIpvsadmSave(saved).table), [], "the master's IPVS table is the inventory's");
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await get());
    note(`6 requests through ${VIP}: ${answers.join(" ")}`);
    assert.deepEqual(new Set(answers), new Set(["rs1", "rs2"]));
    for (let i = 1; i < answers.length; i++) assert.notEqual(answers[i], answers[i - 1], `rr: each real server in turn (${answers.join(" ")})`);

    // 2. Nothing changed: no change, no reload.
    const before2 = { lb1: await keepalivedState("lb1"), lb2: await keepalivedState("lb2") };
    const second = await deploy();
    assert.equal(second.code, 0, describeRun(second));
    assert.deepEqual(changedTasks(second.events), [], "a second deploy changes nothing");
    assert.deepEqual(ofType(second.events, "task.result").filter((e) => e.handler && e.status !== "skipped"), [], "no handler ran");
    assert.deepEqual({ lb1: await keepalivedState("lb1"), lb2: await keepalivedState("lb2") }, before2, "same keepalived PIDs, no reload");

    // 3. A weight change: reloaded (same PID, one more reload), never restarted; requests go on.
    writeFileSync(inventory, inventoryText(3));
    let stop = false;
    const during: string[] = [];
    const load = (async () => {
      while (!stop) {
        during.push(await get());
        await sleep(200);
      }
    })();
    const third = await deploy();
    stop = true;
    await load;
    assert.equal(third.code, 0, describeRun(third));
    assert.deepEqual(changedTasks(third.events), ["lb1:keepalived.conf", "lb1:reload keepalived", "lb2:keepalived.conf", "lb2:reload keepalived"]);
    for (const g of GUESTS) {
      const now = await keepalivedState(g);
      assert.equal(now.pid, before2[g].pid, `${g}: keepalived not restarted`);
      assert.ok(now.reloads > before2[g].reloads, `${g}: reloaded (journal lines with "Reloading": ${before2[g].reloads} -> ${now.reloads})`);
    }
    await waitFor("weight 3 in lb1's table", async () => /-r \S+:80 -g -w 3/.test(await lab.execOk("lb1", "ipvsadm -Sn")));
    const failedDuring = during.filter((a) => a.startsWith("error"));
    note(`during the weight-change deploy: ${during.length} requests, ${failedDuring.length} failed ${failedDuring.slice(0, 3).join(" | ")}`);
    assert.deepEqual(failedDuring, [], "no failed request while keepalived reloaded");

    // 4. Failover: keepalived stopped on the master; the VIP moves; requests keep being answered.
    stop = false;
    const around: { t: number; a: string }[] = [];
    const t0 = Date.now();
    const load2 = (async () => {
      while (!stop) {
        around.push({ t: Date.now() - t0, a: await get() });
        await sleep(100);
      }
    })();
    await sleep(1000);
    const tStop = Date.now() - t0;
    await lab.execOk("lb1", "systemctl stop keepalived");
    await waitFor("the VIP on lb2 only", async () => JSON.stringify(await holders()) === JSON.stringify(["lb2"]));
    const tMoved = Date.now() - t0;
    await sleep(3000);
    stop = true;
    await load2;
    const afterMove = around.filter((x) => x.t > tMoved);
    const failed = around.filter((x) => x.a.startsWith("error"));
    note(`failover: keepalived stopped on lb1 at ${tStop} ms, VIP seen on lb2 alone at ${tMoved} ms; ${around.length} requests, ${failed.length} failed (${failed.map((x) => `${x.t} ms: ${x.a}`).join(" | ")}); after the move: ${afterMove.map((x) => x.a).join(" ")}`);
    assert.ok(afterMove.length >= 4, "requests ran after the move");
    assert.deepEqual(afterMove.filter((x) => x.a.startsWith("error")), [], "every request after the move answered");
    assert.deepEqual(new Set(afterMove.map((x) => x.a)), new Set(["rs1", "rs2"]), "both real servers answer through lb2");
    assert.deepEqual(failed, [], "no request failed across the failover");
  });

  test("lvsctl status: who holds the VIP, both tables with both real servers, keepalived stopped, a hand-removed real server", { timeout: 15 * 60_000 }, async () => {
    interface Status {
      healthy: boolean;
      instances: { name: string; masters: string[] }[];
      directors: { name: string; daemon: { active: boolean }; instances: { role: string | null; priority: number | null }[]; ipvs: { key: string; realServers: { key: string; health: string; weight: number | null; expectedWeight: number | null; inTable: boolean }[] }[] | null }[];
      problems: { kind: string; message: string }[];
    }
    const status = async (json: boolean) => {
      const r = await runCli(["status", inventory, "--known-hosts", lab.knownHostsFile, ...(json ? ["--json"] : [])], { timeoutMs: 5 * 60_000 });
      note(`status${json ? " --json" : ""}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s`);
      return { code: r.code, text: r.stdout, stderr: r.stderr, s: json ? (JSON.parse(r.stdout) as Status) : undefined };
    };
    const [rs1, rs2] = rs();
    const tableOf = (s: Status, d: string) => s.directors.find((x) => x.name === d)?.ipvs?.find((x) => x.key === `TCP ${VIP}:80`)?.realServers ?? [];

    // 1. keepalived stopped on lb1 (as the failover above leaves it): lb2 holds the VIP; unhealthy.
    await lab.execOk("lb1", "systemctl stop keepalived");
    await lab.execOk("lb2", "systemctl start keepalived");
    await waitFor("the VIP on lb2 only", async () => JSON.stringify(await holders()) === JSON.stringify(["lb2"]));
    const down = await status(true);
    note(`lb1 stopped: ${down.s?.problems.map((p) => `[${p.kind}] ${p.message}`).join("; ")}`);
    assert.equal(down.code, 4, down.stderr);
    assert.deepEqual(down.s!.instances[0]!.masters, ["lb2"]);
    // Only that: keepalived cleared lb1's table on the way out, which is not a problem of its own.
    assert.deepEqual(down.s!.problems.map((p) => [p.kind, p.message]), [["daemon", "keepalived is not active on lb1 (systemctl: inactive)"]]);

    // 2. Both running: lb1 (priority 150) takes the VIP back; healthy, both real servers in both tables.
    await lab.execOk("lb1", "systemctl start keepalived");
    await waitFor("the VIP on lb1 only", async () => JSON.stringify(await holders()) === JSON.stringify(["lb1"]));
    await waitFor("both real servers in both tables", async () => (await Promise.all(GUESTS.map((g) => lab.execOk(g, "ipvsadm -Sn")))).every((t) => t.includes(`${rs1!.address}:80`) && t.includes(`${rs2!.address}:80`)));
    const ok = await status(true);
    assert.equal(ok.code, 0, `${ok.stderr}\n${JSON.stringify(ok.s?.problems)}`);
    assert.equal(ok.s!.healthy, true);
    assert.deepEqual(ok.s!.instances[0]!.masters, ["lb1"]);
    assert.deepEqual(ok.s!.directors.map((d) => [d.name, d.daemon.active, d.instances[0]!.role, d.instances[0]!.priority]), [["lb1", true, "MASTER", 150], ["lb2", true, "BACKUP", 100]]);
    for (const g of GUESTS) assert.deepEqual(tableOf(ok.s!, g).map((r) => [r.key, r.health, r.weight === r.expectedWeight]), [[`${rs1!.address}:80`, "up", true], [`${rs2!.address}:80`, "up", true]], g);
    const screen = await status(false);
    note(`status:\n${screen.text}`);
    assert.equal(screen.code, 0);
    assert.match(screen.text, new RegExp(`VI_1 \\(vrid 61; ${VIP.replaceAll(".", "\\.")}\\): master lb1`));
    assert.match(screen.text, /^healthy: /m);

    // 3. A real server removed by hand from lb1's table: no check in this inventory, so keepalived
    // never would; status names it as drift. Put back afterwards.
    await lab.execOk("lb1", `ipvsadm -d -t ${VIP}:80 -r ${rs2!.address}:80`);
    try {
      const drift = await status(true);
      note(`after ipvsadm -d on lb1: ${drift.s?.problems.map((p) => `[${p.kind}] ${p.message}`).join("; ")}`);
      assert.equal(drift.code, 4);
      assert.deepEqual(drift.s!.problems.map((p) => [p.kind, p.message]), [["drift", `IPVS on lb1: service TCP ${VIP}:80: real server ${rs2!.address}:80 is missing, and no check would remove it (edited by hand?)`]]);
      assert.deepEqual(tableOf(drift.s!, "lb1").map((r) => [r.key, r.inTable]), [[`${rs1!.address}:80`, true], [`${rs2!.address}:80`, false]]);
    } finally {
      await lab.execOk("lb1", `ipvsadm -a -t ${VIP}:80 -r ${rs2!.address}:80 -g -w 1`);
    }
  });

  test("a stopped web service: keepalived's HTTP_GET takes it out within its timers, status names it, back on the next success", { timeout: 15 * 60_000 }, async () => {
    // keepalived brings a server back on one success (rise is lvsd's alone).
    const timers: CheckTimers = { delayLoopSec: 3, connectTimeoutSec: 2, retry: 1, delayBeforeRetrySec: 1, rise: 1 };
    const check = { type: "HTTP_GET", url: [{ path: "/", status_code: 200 }], connect_timeout: timers.connectTimeoutSec, retry: timers.retry, delay_before_retry: timers.delayBeforeRetrySec };
    writeFileSync(inventory, inventoryText(3, check, timers.delayLoopSec));
    const d = await deploy();
    assert.equal(d.code, 0, describeRun(d));
    assert.deepEqual(changedTasks(d.events), ["lb1:keepalived.conf", "lb1:reload keepalived", "lb2:keepalived.conf", "lb2:reload keepalived"]);
    await waitFor("the VIP on lb1 only", async () => JSON.stringify(await holders()) === JSON.stringify(["lb1"]));
    const [rs1, rs2] = rs();
    const tableOf = (s: StatusJson, g: string) => statusTable(s, g, `TCP ${VIP}:80`);
    const statusUntil = (code: number, what: string) => statusUntilOf(inventory, lab.knownHostsFile, code, what, note);
    const healthy = await statusUntil(0, "healthy with the check deployed");
    for (const g of GUESTS) assert.deepEqual(tableOf(healthy.s!, g).map((r) => [r.key, r.health, r.healthReason]), [[`${rs1!.address}:80`, "up", "in the table: keepalived's HTTP_GET passes"], [`${rs2!.address}:80`, "up", "in the table: keepalived's HTTP_GET passes"]], g);

    // 1. rs2's web service stopped: out of lb1's table within the check's timers; no request
    // started after that fails.
    const outage = { lab, realServers: realServers!, vip: VIP, port: 80, master: "lb1", server: rs2! };
    const out = await takeOut(outage);
    note(`${out.text}; bound ${outBoundMs(timers)} ms (+${SLACK_MS} ms)`);
    assert.ok(out.outMs <= outBoundMs(timers) + SLACK_MS, `out after ${out.outMs} ms, the check's timers allow ${outBoundMs(timers)} ms`);
    assert.ok(out.after.length >= 10, `requests ran after it was out (${out.after.length})`);
    assert.deepEqual(failedOf(out.after), [], "no failed request after it was taken out");
    assert.deepEqual(new Set(out.after.map((r) => r.answer)), new Set(["rs1"]));
    await waitFor("rs2 out of lb2's table too", async () => !(await lab.execOk("lb2", "ipvsadm -Sn")).includes(`${rs2!.address}:80`), 30_000);

    // 2. status names it: absent from both tables, which with a check is keepalived's doing; exit 4.
    const down = await statusUntil(4, "rs2 down");
    note(`status with rs2's web service stopped: exit ${down.code}; ${down.s!.problems.map((p) => `[${p.kind}] ${p.message}`).join("; ")}\n${down.screen}`);
    assert.deepEqual(down.s!.problems.map((p) => [p.kind, p.host, p.message]), GUESTS.map((g) => ["health", g, `IPVS on ${g}: service TCP ${VIP}:80: real server ${rs2!.address}:80 is down: absent from the table: keepalived's HTTP_GET removed it`]));
    for (const g of GUESTS) assert.deepEqual(tableOf(down.s!, g).map((r) => [r.key, r.health, r.inTable]), [[`${rs1!.address}:80`, "up", true], [`${rs2!.address}:80`, "down", false]], g);
    assert.match(down.screen, new RegExp(esc(rs2!.address)));

    // 3. Started again: back on the next check; no request fails meanwhile; healthy again.
    const back = await bringBack(outage);
    note(`${back.text}; bound ${backBoundMs(timers)} ms (+${SLACK_MS} ms)`);
    assert.ok(back.backMs <= backBoundMs(timers) + SLACK_MS, `back after ${back.backMs} ms, the check's timers allow ${backBoundMs(timers)} ms`);
    assert.deepEqual(failedOf(back.requests), [], "no failed request while it came back");
    await waitFor("rs2 back in lb2's table", async () => (await lab.execOk("lb2", "ipvsadm -Sn")).includes(`${rs2!.address}:80`), 30_000);
    const again = await statusUntil(0, "healthy again");
    assert.equal(again.s!.healthy, true);
  });

  async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    while (!(await f().catch(() => false))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(300);
    }
  }
});
