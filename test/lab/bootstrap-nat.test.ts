// `lvsctl bootstrap` on lab real servers of a NAT service, end to end through the CLI, checked
// with lab.exec (real systemd, real iproute2, the host's own network namespace):
// - the default route is SET through the gateway VIP the inventory names (a VRRP VIP on the
//   real servers' /24; no director runs here, the route needs only an on-link gateway), the unit
//   that puts it back on boot is enabled, and the route it replaced is recorded;
// - --check --diff shows a gateway change as a route diff and a unit diff, and changes nothing;
// - after a reboot the route is back from the unit (the lab host keeps its namespace across a
//   container reboot, so the route is deleted first, as a real reboot would forget it), and a
//   second run changes nothing;
// - a NAT real server that becomes a DR one gets back the route it had (none, in the lab) and
//   loses the unit; its VIP goes on lo.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { countStatus, describeRun, GATEWAY_STATE, GATEWAY_UNIT, loAddresses, ofType, runCli, TASK, writeLabInventory, type LabService } from "./helpers/index.js";

const why = labPrerequisites();

describe("bootstrap: NAT real servers route through the gateway VIP", { skip: why ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let gw: string;
  let gw2: string;
  let vip: string;
  const inventory = (services: LabService[]) => writeLabInventory(lab, { directors: ["d1"], realservers: ["r1", "r2"], services, gatewayVips: [`${gw}/24`, `${gw2}/24`] });
  const nat = (gateway: string): LabService[] => [
    { vip, port: 80, real_servers: ["r2"] },
    { vip: lab.freeAddress(1), port: 8080, lb_kind: "NAT", nat_gateway: gateway, real_servers: ["r1"] },
  ];
  const cli = async (inv: string, ...extra: string[]) => {
    const r = await runCli(["bootstrap", inv, "--known-hosts", lab.knownHostsFile, "--json", ...extra]);
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const defaultRoute = async (h: string) => (await lab.execOk(h, "ip -o route show default")).trim().replace(/\s+/g, " ");
  const unitState = async (h: string) => (await lab.exec(h, `systemctl is-enabled ${GATEWAY_UNIT}`)).stdout.trim();

  before(async () => {
    lab = await Lab.up({ hosts: ["d1", "r1", "r2"] });
    vip = lab.freeAddress(0);
    gw = lab.freeAddress(5);
    gw2 = lab.freeAddress(6);
  });
  after(async () => {
    await lab?.down();
  });

  test("the default route is set through the gateway VIP, persisted by an enabled unit; a second run changes nothing", async () => {
    assert.equal(await defaultRoute("r1"), "", "a lab host starts with no default route");
    const r = await cli(inventory(nat(gw)));
    const res = ofType(r.events, "task.result").filter((e) => e.task === TASK.nat);
    assert.deepEqual(res.map((e) => `${e.host}:${e.status}`).sort(), ["r1:changed", "r2:ok"]);
    assert.match(await defaultRoute("r1"), new RegExp(`^default via ${gw.replace(/\./g, "\\.")} dev eth0`));
    assert.equal(await unitState("r1"), "enabled");
    assert.match(await lab.execOk("r1", `cat /etc/systemd/system/${GATEWAY_UNIT}`), new RegExp(`^ExecStart=/sbin/ip route replace default via ${gw.replace(/\./g, "\\.")}$`, "m"));
    assert.deepEqual(JSON.parse(await lab.execOk("r1", `cat ${GATEWAY_STATE}`)), { version: 1, gateway: gw, previous: null });
    assert.equal((await lab.exec("r2", `test -e /etc/systemd/system/${GATEWAY_UNIT}`)).code, 1, "the DR real server gets no gateway unit");
    assert.equal(await defaultRoute("r2"), "", "nor a route");
    const again = await cli(inventory(nat(gw)));
    assert.equal(countStatus(again.events).changed, 0, "second run: no change");
  });

  test("--check --diff shows a gateway change as route and unit diffs and changes nothing", async () => {
    const r = await cli(inventory(nat(gw2)), "--check", "--diff");
    const res = ofType(r.events, "task.result").find((e) => e.host === "r1" && e.task === TASK.nat)!;
    assert.equal(res.status, "changed");
    assert.match(res.diff ?? "", new RegExp(`^-default via ${gw.replace(/\./g, "\\.")} dev eth0$`, "m"));
    assert.match(res.diff ?? "", new RegExp(`^\\+default via ${gw2.replace(/\./g, "\\.")}$`, "m"));
    assert.match(res.diff ?? "", new RegExp(`^\\+ExecStart=/sbin/ip route replace default via ${gw2.replace(/\./g, "\\.")}$`, "m"));
    assert.match(await defaultRoute("r1"), new RegExp(`^default via ${gw.replace(/\./g, "\\.")} `), "--check changed nothing");
  });

  test("after a reboot the route is back from the unit; the run after changes nothing", async () => {
    await lab.execOk("r1", "ip route del default");
    assert.equal(await defaultRoute("r1"), "", "route wiped, as a reboot forgets it");
    await lab.reboot("r1");
    const booted = await lab.waitBooted("r1");
    assert.deepEqual(booted.failedUnits, [], `no failed unit after the reboot (${booted.state})`);
    assert.match(await defaultRoute("r1"), new RegExp(`^default via ${gw.replace(/\./g, "\\.")} dev eth0`), "the unit put the route back");
    const again = await cli(inventory(nat(gw)));
    assert.equal(countStatus(again.events).changed, 0, "nothing to do after the reboot");
  });

  test("a NAT real server that becomes DR gets its old route back (none) and loses the unit", async () => {
    const r = await cli(inventory([{ vip, port: 80, real_servers: ["r1", "r2"] }]));
    const res = ofType(r.events, "task.result").find((e) => e.host === "r1" && e.task === TASK.nat)!;
    assert.equal(res.status, "changed", JSON.stringify(res));
    assert.equal(await defaultRoute("r1"), "", "the lab host had no default route before lvsctl");
    assert.equal((await lab.exec("r1", `test -e /etc/systemd/system/${GATEWAY_UNIT}`)).code, 1, "unit removed");
    assert.equal((await lab.exec("r1", `test -e ${GATEWAY_STATE}`)).code, 1, "state forgotten");
    assert.ok((await loAddresses(lab, "r1")).includes(`${vip}/32`), "the DR VIP is on lo");
    const again = await cli(inventory([{ vip, port: 80, real_servers: ["r1", "r2"] }]));
    assert.equal(countStatus(again.events).changed, 0);
  });
});
