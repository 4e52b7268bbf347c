// `lvsctl status` in-process: the real command over fake SSH connections (one per host), the
// screen, --json, the exit codes, --watch redrawing until interrupted, and --help.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../../src/cli/main.js";
import { parseCommandArgs } from "../../../src/cli/command.js";
import { statusCommandWith, type StatusDeps } from "../../../src/cli/commands/status.js";
import { FakeConnection, FakeConnector, fakeUnreachable } from "../../../src/ssh/fake.js";
import { captureIo } from "../../fixtures/cli/io.js";
import { directorOut, listText, MASTER_ADDRS, realServerOut, saveText, statusInventory } from "../status/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "lvsctl-status-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const INVENTORY = statusInventory();
writeFileSync(join(dir, "cluster.yml"), INVENTORY);
const AT = new Date("2026-12-03T10:00:00Z");

function fakes(opts: { ds1Save?: string; ds1List?: string; rs2?: "unreachable" } = {}) {
  const rs = new FakeConnection("rs").on(/arp_ignore/, { stdout: realServerOut(["10.77.0.100"]) });
  return {
    ds1: new FakeConnection("ds1").on(/systemctl is-active/, { stdout: directorOut("active", MASTER_ADDRS, opts.ds1Save ?? saveText(), opts.ds1List ?? listText()) }),
    ds2: new FakeConnection("ds2").on(/systemctl is-active/, { stdout: directorOut("active", ["10.77.0.12"]) }),
    rs1: rs,
    rs2: opts.rs2 === "unreachable" ? fakeUnreachable("rs2") : rs,
  };
}

async function status(argv: string[], hosts: ReturnType<typeof fakes>, deps: Partial<StatusDeps> = {}) {
  const cmd = statusCommandWith({ connector: new FakeConnector(hosts), now: () => AT, ...deps });
  const io = captureIo({ LVS_VRRP_PASS: "s3cretpw" }, dir);
  const code = await cmd.run(parseCommandArgs(cmd, argv), io);
  return { code, ...io };
}

test("status: the screen of a healthy cluster, exit 0", async () => {
  const r = await status(["cluster.yml"], fakes());
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /^cluster\.yml:\d+:\d+: warning LVS407: VIP 10\.77\.0\.101/, "the inventory's warnings, as validate prints them; nothing else");
  assert.equal(
    r.stdout,
    [
      `cluster ${join(dir, "cluster.yml")} (keepalived), asked at 2026-12-03 10:00:00 UTC`,
      "",
      "VRRP",
      "  VI_web (vrid 51; 10.77.0.100, 10.77.1.1): master ds1",
      "    ds1  MASTER  priority 150 (inventory)  keepalived active",
      "    ds2  BACKUP  priority 100 (inventory)  keepalived active",
      "",
      "IPVS on ds1 (MASTER)",
      "  TCP 10.77.0.100:80 wrr",
      "    real server    host  fwd  weight  conns act/inact  health",
      "    10.77.0.21:80  rs1   DR   1       3/12             UP: in the table: keepalived's HTTP_GET passes",
      "    10.77.0.22:80  rs2   DR   2       1/4              UP: in the table: keepalived's HTTP_GET passes",
      "  TCP 10.77.0.101:8080 wlc",
      "    real server      host  fwd  weight  conns act/inact  health",
      "    10.77.1.23:8080  rs3   NAT  1       0/0              UP: in the table (no check)",
      "",
      "IPVS on ds2 (BACKUP)",
      "  TCP 10.77.0.100:80 wrr",
      "    real server    host  fwd  weight  conns act/inact  health",
      "    10.77.0.21:80  rs1   DR   1       3/12             UP: in the table: keepalived's HTTP_GET passes",
      "    10.77.0.22:80  rs2   DR   2       1/4              UP: in the table: keepalived's HTTP_GET passes",
      "  TCP 10.77.0.101:8080 wlc",
      "    real server      host  fwd  weight  conns act/inact  health",
      "    10.77.1.23:8080  rs3   NAT  1       0/0              UP: in the table (no check)",
      "",
      "Real servers (SSH-managed, DR/TUN: VIPs on lo, ARP sysctls)",
      "  rs1  10.77.0.21  ok (10.77.0.100 on lo; arp_ignore 1, arp_announce 2)",
      "  rs2  10.77.0.22  ok (10.77.0.100 on lo; arp_ignore 1, arp_announce 2)",
      "",
      "healthy: every host answered, one master per instance where the priorities put it, each table as the inventory says, every real server up",
      "",
    ].join("\n"),
  );
});

test("status: a real server down is exit 4 with the reason; --json carries the same; an unreachable host alone is exit 3", async () => {
  const drop = /10\.77\.0\.22/;
  const r = await status(["cluster.yml"], fakes({ ds1Save: saveText({ drop }), ds1List: listText({ drop }) }));
  assert.equal(r.code, 4);
  assert.match(r.stdout, /^    10\.77\.0\.22:80 +rs2 +DR +- \(inv 2\) +- +DOWN: absent from the table: keepalived's HTTP_GET removed it$/m);
  assert.match(r.stdout, /^1 problem:\n  - \[health\] IPVS on ds1: service TCP 10\.77\.0\.100:80: real server 10\.77\.0\.22:80 \(rs2\) is down: absent from the table: keepalived's HTTP_GET removed it$/m);
  const j = await status(["cluster.yml", "--json"], fakes({ ds1Save: saveText({ drop }), ds1List: listText({ drop }) }));
  assert.equal(j.code, 4);
  const s = JSON.parse(j.stdout);
  assert.equal(s.schema, 1);
  assert.equal(s.healthy, false);
  assert.deepEqual(s.problems.map((p: { kind: string }) => p.kind), ["health"]);
  assert.deepEqual(s.instances[0].masters, ["ds1"]);
  const u = await status(["cluster.yml"], fakes({ rs2: "unreachable" }));
  assert.equal(u.code, 3);
  assert.match(u.stdout, /\[unreachable\] cannot ask rs2: rs2: no SSH login within 10000 ms \(simulated\)/);
});

test("status --watch SECONDS: redraws until interrupted (exit 130); --json --watch is one object per line", async () => {
  const ac = new AbortController();
  const slept: number[] = [];
  const deps = {
    interrupt: () => ({ signal: ac.signal, dispose() {} }),
    sleep: async (ms: number) => {
      slept.push(ms);
      if (slept.length === 2) ac.abort();
    },
  };
  const r = await status(["cluster.yml", "--watch", "5"], fakes(), deps);
  assert.equal(r.code, 130);
  assert.deepEqual(slept, [5000, 5000]);
  assert.equal(r.stdout.match(/^VRRP$/gm)?.length, 2, "two screens");
  const ac2 = new AbortController();
  const j = await status(["--watch", "1", "cluster.yml", "--json"], fakes(), { interrupt: () => ({ signal: ac2.signal, dispose() {} }), sleep: async () => ac2.abort() });
  assert.equal(j.code, 130);
  assert.equal(j.stdout.trim().split("\n").length, 1);
  assert.equal(JSON.parse(j.stdout).healthy, true);
  const bad = await status(["cluster.yml", "--watch", "soon"], fakes()).catch((e: Error) => e);
  assert.match(String((bad as Error).message), /--watch takes a number of seconds/);
});

test("status --help: usage, the exit codes (4 unhealthy), no port opened", async () => {
  const io = captureIo({}, dir);
  assert.equal(await run(["status", "--help"], io), 0);
  assert.match(io.stdout, /^usage: lvsctl status INVENTORY \[--json\] \[--watch \[SECONDS\]\]/m);
  assert.match(io.stdout, /Exit 0 when healthy; 4 when anything differs from the inventory or is down/);
  assert.match(io.stdout, /no port is opened/);
});
