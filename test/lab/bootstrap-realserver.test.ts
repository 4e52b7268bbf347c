// `lvsctl bootstrap` on lab real servers, end to end through the CLI, checked with lab.exec:
// - the ARP sysctls (all + eth0) and every VIP as a /32 on lo are live at once, the unit that
//   restores the VIPs is enabled and active;
// - after a reboot they are all back. A lab host keeps its network namespace across a container
//   reboot (the namespace lives outside it), so the live state is wiped first, as a real reboot
//   would: what comes back after the reboot came from /etc/sysctl.d and lvs-rs-vip.service;
// - a real server that leaves a service, and a service removed from the inventory, lose the VIP
//   on the next run (live and in the unit; a host left with no VIP loses the unit);
// - a NAT service whose real server's default route does not go through a director gets a
//   warning naming the route found; one through a director gets none.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { ARP_KEYS, ARP_SYSCTLS, countStatus, describeRun, loAddresses, ofType, runCli, TASK, VIP_UNIT, writeLabInventory, type LabService } from "./helpers/index.js";

const why = labPrerequisites();
const RS = ["r1", "r2", "r3"];

describe("bootstrap: real servers", { skip: why ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let vipA: string;
  let vipB: string;
  const inventory = (services: LabService[]) => writeLabInventory(lab, { directors: ["d1"], realservers: RS, services });
  const bootstrap = async (inv: string) => {
    const r = await runCli(["bootstrap", inv, "--known-hosts", lab.knownHostsFile, "--json"]);
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const live = async (h: string) => {
    const values = (await lab.execOk(h, ARP_KEYS.map((k) => `cat /proc/sys/${k.replace(/\./g, "/")}`).join("; "))).trim().split("\n");
    const sysctls = Object.fromEntries(ARP_KEYS.map((k, i) => [k, values[i]]));
    const unit = (await lab.exec(h, `systemctl is-enabled ${VIP_UNIT}; systemctl is-active ${VIP_UNIT}`)).stdout.trim().split("\n");
    return { sysctls, lo: (await loAddresses(lab, h)).filter((a) => !a.startsWith("127.") && a !== "::1/128"), unit };
  };
  const unitText = (h: string) => lab.execOk(h, `cat /etc/systemd/system/${VIP_UNIT}`);

  before(async () => {
    lab = await Lab.up({ hosts: ["d1", ...RS] });
    vipA = lab.freeAddress(0);
    vipB = lab.freeAddress(1);
  });
  after(async () => {
    await lab?.down();
  });

  test("sysctls and the VIPs on lo are live at once; the unit is enabled", async () => {
    const r = await bootstrap(inventory([
      { vip: vipA, port: 80, real_servers: RS },
      { vip: vipB, port: 443, real_servers: ["r1", "r2"] },
    ]));
    assert.equal(countStatus(r.events).failed, 0);
    const want: Record<string, string[]> = { r1: [`${vipA}/32`, `${vipB}/32`], r2: [`${vipA}/32`, `${vipB}/32`], r3: [`${vipA}/32`] };
    for (const h of RS) {
      const s = await live(h);
      assert.deepEqual(s.sysctls, ARP_SYSCTLS, `${h}: arp_ignore/arp_announce for all, default and eth0`);
      assert.deepEqual(s.lo, want[h]!.sort(), `${h}: VIPs as /32 on lo`);
      assert.deepEqual(s.unit, ["enabled", "active"]);
      const unit = await unitText(h);
      for (const v of want[h]!) assert.match(unit, new RegExp(`ExecStart=/sbin/ip addr replace ${v.replace(/\./g, "\\.")} dev lo`));
      const conf = await lab.execOk(h, "cat /etc/sysctl.d/90-lvs-realserver.conf");
      for (const k of ARP_KEYS) assert.match(conf, new RegExp(`^${k.replace(/\./g, "\\.")} = ${ARP_SYSCTLS[k]}$`, "m"), `${k} persisted`);
    }
  });

  test("after a reboot the sysctls, the VIPs and the unit are all back", async () => {
    const before = await live("r1");
    // What a reboot forgets: the addresses and the sysctls of the network namespace.
    await lab.execOk("r1", `ip addr del ${vipA}/32 dev lo; ip addr del ${vipB}/32 dev lo; sysctl -q -w ${ARP_KEYS.map((k) => `${k}=0`).join(" ")}`);
    const wiped = await live("r1");
    assert.deepEqual([Object.values(wiped.sysctls), wiped.lo], [ARP_KEYS.map(() => "0"), []], "live state wiped");
    const t0 = performance.now();
    await lab.reboot("r1");
    const booted = await lab.waitBooted("r1");
    assert.deepEqual(booted.failedUnits, [], `no failed unit after the reboot (${booted.state})`);
    console.log(`# r1 rebooted in ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(await live("r1"), before, "everything is back after the reboot");
    const again = await bootstrap(inventory([
      { vip: vipA, port: 80, real_servers: RS },
      { vip: vipB, port: 443, real_servers: ["r1", "r2"] },
    ]));
    assert.equal(countStatus(again.events).changed, 0, "nothing to do after the reboot");
  });

  test("a real server that leaves a service, and a service removed, lose the VIP", async () => {
    // vipB's service is removed; r3 leaves vipA's service.
    const r = await bootstrap(inventory([{ vip: vipA, port: 80, real_servers: ["r1", "r2"] }]));
    const changed = ofType(r.events, "task.result").filter((e) => e.status === "changed").map((e) => `${e.host}:${e.task}`).sort();
    assert.deepEqual(changed, ["r1", "r2", "r3"].map((h) => `${h}:${TASK.vip}`));
    for (const h of ["r1", "r2"]) {
      assert.deepEqual((await live(h)).lo, [`${vipA}/32`], `${h} lost ${vipB}`);
      const unit = await unitText(h);
      assert.doesNotMatch(unit, new RegExp(vipB.replace(/\./g, "\\.")), `${h}'s unit no longer lists ${vipB}`);
      assert.match(unit, new RegExp(vipA.replace(/\./g, "\\.")));
    }
    const r3 = await live("r3");
    assert.deepEqual(r3.lo, [], "r3 holds no VIP any more");
    // r3 serves no VIP: `lvsctl render` gives it no unit, so the bootstrap removed it.
    assert.equal((await lab.exec("r3", `test -e /etc/systemd/system/${VIP_UNIT}`)).code, 1, "r3's unit is gone");
    assert.ok(!r3.unit.includes("active") && !r3.unit.includes("enabled"), `and neither enabled nor active: ${r3.unit.join(" ")}`);
    const state = JSON.parse(await lab.execOk("r3", "cat /var/lib/lvsctl/state.json")) as { addresses: Record<string, string[]> };
    assert.deepEqual(state.addresses[VIP_UNIT] ?? [], [], "r3's state no longer claims the VIP");
    // A VIP that lvsctl did not add is never removed.
    await lab.execOk("r3", "ip addr add 10.77.255.1/32 dev lo");
    const again = await bootstrap(inventory([{ vip: vipA, port: 80, real_servers: ["r1", "r2"] }]));
    assert.equal(countStatus(again.events).changed, 0);
    assert.deepEqual((await live("r3")).lo, ["10.77.255.1/32"], "an address lvsctl never added stays");
    await lab.execOk("r3", "ip addr del 10.77.255.1/32 dev lo");
  });

  test("a NAT real server whose default route avoids the directors gets a warning naming it", async () => {
    const nat = (): LabService[] => [
      { vip: vipA, port: 80, real_servers: ["r1", "r2"] },
      { vip: lab.freeAddress(2), port: 8080, lb_kind: "NAT", real_servers: ["r3"] },
    ];
    const warnings = async () => {
      const r = await bootstrap(inventory(nat()));
      const res = ofType(r.events, "task.result").filter((e) => e.host === "r3" && e.task === TASK.nat);
      assert.equal(res.length, 1, "the NAT check ran on r3");
      assert.equal(res[0]!.status, "ok", "a read-only check never changes or fails");
      return res[0]!.warnings ?? [];
    };
    await lab.execOk("r3", `ip route replace default via ${lab.gateway} dev eth0`);
    const w = await warnings();
    assert.equal(w.length, 1, JSON.stringify(w));
    assert.match(w[0]!, new RegExp(`default via ${lab.gateway.replace(/\./g, "\\.")} dev eth0`), "names the route found");
    assert.match(w[0]!, new RegExp(lab.host("d1").address.replace(/\./g, "\\.")), "names what would be right");

    await lab.execOk("r3", "ip route del default");
    assert.match((await warnings())[0] ?? "", /no default route/);

    await lab.execOk("r3", `ip route replace default via ${lab.host("d1").address} dev eth0`);
    assert.deepEqual(await warnings(), [], "a default route through a director is fine");
    await lab.execOk("r3", "ip route del default");
  });
});
