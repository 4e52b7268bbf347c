// `lvsctl lab`: the pure parts (options, the generated inventory, the state file) and the command
// with the machine faked (not root, up/status/down recorded). The lab itself: test/lab/qemu-lab-cli.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LvsctlError } from "../../../src/errors/index.js";
import { loadInventory } from "../../../src/inventory/index.js";
import { labInventoryText, parseCliLabState, planLabUp, randomVrrpPass, secretFileFor, type CliLabState, type LabDownReport, type LabStatusReport, type LabUpPlan } from "../../../src/lab/cli-lab.js";
import { makeLabCommand, type LabDeps } from "../../../src/cli/commands/lab.js";
import { parseCommandArgs } from "../../../src/cli/command.js";
import { run } from "../../../src/cli/main.js";
import { captureIo, type CapturedIo } from "../../fixtures/cli/io.js";

const DEFAULT_INV = "/var/lib/lab/cli/inventory.yml";

test("planLabUp: defaults are 2 directors, 2 real servers, keepalived, the default inventory and a password file beside it", () => {
  const p = planLabUp({}, "/home/u", DEFAULT_INV);
  assert.deepEqual(p, {
    directors: ["lb1", "lb2"],
    realServers: ["rs1", "rs2"],
    backend: "keepalived",
    inventory: DEFAULT_INV,
    secretFile: "/var/lib/lab/cli/inventory.vrrp-pass",
  });
});

test("planLabUp: counts, backend and --out relative to where the user stands", () => {
  const p = planLabUp({ directors: "1", realServers: "3", backend: "lvsd", out: "lab/cluster.yml" }, "/home/u", DEFAULT_INV);
  assert.deepEqual(p.directors, ["lb1"]);
  assert.deepEqual(p.realServers, ["rs1", "rs2", "rs3"]);
  assert.equal(p.backend, "lvsd");
  assert.equal(p.inventory, "/home/u/lab/cluster.yml");
  assert.equal(p.secretFile, "/home/u/lab/cluster.vrrp-pass");
  assert.equal(secretFileFor("/x/inv"), "/x/inv.vrrp-pass");
});

test("planLabUp: refuses counts out of range or not whole, and an unknown backend, saying what is allowed", () => {
  for (const [opts, re] of [
    [{ directors: "0" }, /--directors must be a whole number from 1 to 4, not '0'/],
    [{ directors: "5" }, /from 1 to 4/],
    [{ directors: "1.5" }, /not '1.5'/],
    [{ realServers: "-1" }, /--real-servers must be a whole number from 1 to 16/],
    [{ realServers: "two" }, /not 'two'/],
    [{ backend: "haproxy" }, /--backend must be keepalived or lvsd, not 'haproxy'/],
  ] as const) {
    assert.throws(() => planLabUp(opts, "/", DEFAULT_INV), (e: unknown) => e instanceof LvsctlError && re.test(e.message), JSON.stringify(opts));
  }
});

const spec = (backend: "keepalived" | "lvsd" = "keepalived") => ({
  slot: 7,
  backend,
  directors: [{ name: "lb1", address: "10.78.7.10" }, { name: "lb2", address: "10.78.7.11" }],
  realServers: [{ name: "rs1", address: "10.78.7.201" }, { name: "rs2", address: "10.78.7.202" }],
  vip: "10.78.7.200",
  keyFile: "/lab/keys/id_ed25519",
  knownHostsFile: "/lab/q7/known_hosts",
  secretRef: "inventory.vrrp-pass",
});

test("labInventoryText: a valid inventory (lvsctl validate's loader) with the directors, the VIP, the real servers by address and the password by file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-lab-inv-"));
  try {
    for (const backend of ["keepalived", "lvsd"] as const) {
      const text = labInventoryText(spec(backend));
      const file = join(dir, `inventory-${backend}.yml`);
      writeFileSync(file, text);
      writeFileSync(join(dir, "inventory.vrrp-pass"), "abcd2345\n", { mode: 0o600 });
      const r = await loadInventory(file, { env: {} });
      assert.ok(r.ok, JSON.stringify(r.diagnostics));
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === "warning"), [], "no warning (no secret in clear)");
      assert.deepEqual(r.cluster.directors.map((d) => [d.host.name, d.host.address]), [["lb1", "10.78.7.10"], ["lb2", "10.78.7.11"]]);
      assert.equal(r.cluster.backend, backend);
      assert.equal(r.cluster.services.length, 1);
      assert.match(text, /auth_pass: \{ file: inventory\.vrrp-pass \}/);
      assert.match(text, /real_servers: \[\{ address: 10\.78\.7\.201 \}, \{ address: 10\.78\.7\.202 \}\]/);
      assert.match(text, /check: \{ type: HTTP_GET, url: \[\{ path: \/health, status_code: 200 \}\]/);
      assert.match(text, /delay_loop: 5/);
      assert.match(text, /key_file: \/lab\/keys\/id_ed25519/);
      assert.match(text, /--known-hosts \/lab\/q7\/known_hosts/);
      assert.match(text, /not bootstrap/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("randomVrrpPass: 8 letters and digits (keepalived reads 8 of a PASS password), not the same twice", () => {
  const a = randomVrrpPass();
  assert.match(a, /^[A-Za-z0-9]{8}$/);
  assert.notEqual(a, randomVrrpPass());
});

const state: CliLabState = {
  version: 1,
  slot: 3,
  createdAt: "2026-12-03T10:00:00.000Z",
  backend: "keepalived",
  vip: "10.78.3.200",
  inventory: "/lab/cli/inventory.yml",
  inventorySha256: "ab",
  secretFile: "/lab/cli/inventory.vrrp-pass",
  keyFile: "/lab/keys/id_ed25519",
  knownHostsFile: "/lab/q3/known_hosts",
  directors: [{ name: "lb1", address: "10.78.3.10" }],
  realServers: [{ name: "rs1", address: "10.78.3.201", netns: "lvsq3-rs1", pid: 4242 }],
  client: { netns: "lvsqemu3", address: "10.78.3.202" },
};

test("parseCliLabState: reads back what lab up writes; anything else names the file and the field", () => {
  assert.deepEqual(parseCliLabState(JSON.stringify(state), "/s.json"), state);
  assert.throws(() => parseCliLabState("{", "/s.json"), /state file \/s\.json is not JSON/);
  assert.throws(() => parseCliLabState(JSON.stringify({ ...state, version: 2 }), "/s.json"), /not one lvsctl wrote: version/);
  assert.throws(() => parseCliLabState(JSON.stringify({ ...state, realServers: [{ name: "rs1" }] }), "/s.json"), /realServers\.0\.address/);
});

// ---------------------------------------------------------------- the command, machine faked

interface Calls {
  up: LabUpPlan[];
  down: number;
  status: number;
}

function fakeDeps(over: Partial<LabDeps> = {}): { deps: LabDeps; calls: Calls } {
  const calls: Calls = { up: [], down: 0, status: 0 };
  let t = 1000;
  const deps: LabDeps = {
    prerequisites: () => undefined,
    defaultInventory: () => "/lab/cli/inventory.yml",
    async up(plan) {
      calls.up.push(plan);
      return state;
    },
    async status() {
      calls.status++;
      return undefined;
    },
    down() {
      calls.down++;
      return { slots: [], removed: [], kept: [], stale: [], problems: [] };
    },
    now: () => (t += 1500),
    ...over,
  };
  return { deps, calls };
}

async function lab(argv: string[], deps: LabDeps): Promise<{ code: number; io: CapturedIo }> {
  const io = captureIo({}, "/lab");
  const cmd = makeLabCommand(deps);
  try {
    return { code: await cmd.run(parseCommandArgs(cmd, argv), io), io };
  } catch (e) {
    if (!(e instanceof LvsctlError)) throw e;
    io.err(e.format());
    return { code: e.exitCode, io };
  }
}

test("lab up as a user who is not root: refused before anything runs, saying why and what to do", async () => {
  const { deps, calls } = fakeDeps({ prerequisites: () => "needs root: the qemu lab creates a network namespace, tap devices and a chroot for its image" });
  for (const action of ["up", "down"]) {
    const { code, io } = await lab([action], deps);
    assert.equal(code, 1);
    assert.match(io.stderr, /error LVS805: lab (up|down): the lab cannot run here: needs root/);
    assert.match(io.stderr, /hint: run it as root/);
  }
  assert.equal(calls.up.length + calls.down, 0);
});

test("lab up without qemu: the hint names scripts/install-deps.sh", async () => {
  const { deps, calls } = fakeDeps({ prerequisites: () => "needs qemu-system-x86_64 (Debian package qemu-system-x86); see scripts/install-deps.sh" });
  const { code, io } = await lab(["up"], deps);
  assert.equal(code, 1);
  assert.match(io.stderr, /qemu-system-x86_64 \(Debian package qemu-system-x86\)/);
  assert.match(io.stderr, /hint: bash scripts\/install-deps\.sh/);
  assert.equal(calls.up.length, 0);
});

test("lab up: the plan goes to the lab; the output names the inventory, the known_hosts and the next commands", async () => {
  const { deps, calls } = fakeDeps();
  const { code, io } = await lab(["up", "--directors", "1", "--real-servers", "1", "--out", "cli/inventory.yml"], deps);
  assert.equal(code, 0, io.stderr);
  assert.deepEqual(calls.up[0]?.directors, ["lb1"]);
  assert.equal(calls.up[0]?.inventory, "/lab/cli/inventory.yml");
  assert.match(io.stdout, /lab: up in 1\.5 s \(qemu slot 3, backend keepalived\)/);
  assert.match(io.stdout, /inventory: +cli\/inventory\.yml/);
  assert.match(io.stdout, /lvsctl deploy cli\/inventory\.yml --known-hosts q3\/known_hosts/);
  assert.match(io.stdout, /lvsctl status cli\/inventory\.yml/);
  assert.match(io.stdout, /lvsctl drill cli\/inventory\.yml/);
  assert.match(io.stdout, /lvsctl lab down/);
});

test("lab: an unknown action, up's options on another action, a bad count: usage errors, nothing runs", async () => {
  const { deps, calls } = fakeDeps();
  for (const [argv, re] of [
    [["start"], /unknown action 'start'/],
    [["down", "--directors", "3"], /--directors only applies to `lab up`/],
    [["status", "--out", "x.yml"], /--out only applies to `lab up`/],
    [["up", "--json"], /--json only applies to `lab status`/],
    [["up", "--directors", "9"], /from 1 to 4, not '9'/],
  ] as const) {
    const { code, io } = await lab([...argv], deps);
    assert.equal(code, 1, argv.join(" "));
    assert.match(io.stderr, re);
  }
  assert.equal(calls.up.length + calls.down + calls.status, 0);
});

test("lab status: no lab is exit 1; a lab that answers everywhere is exit 0; one that does not, exit 3", async () => {
  const none = await lab(["status"], fakeDeps().deps);
  assert.equal(none.code, 1);
  assert.match(none.io.stderr, /no lab is up/);

  const report = (ssh: boolean): LabStatusReport => ({
    state,
    directors: [{ name: "lb1", address: "10.78.3.10", qemuPid: 99, running: true, ssh }],
    realServers: [{ name: "rs1", address: "10.78.3.201", pid: 4242, http: "rs1" }],
    vip: "error: connect ECONNREFUSED",
    healthy: ssh,
  });
  const ok = await lab(["status"], fakeDeps({ status: async () => report(true) }).deps);
  assert.equal(ok.code, 0, ok.io.stderr);
  assert.match(ok.io.stdout, /lb1 +10\.78\.3\.10 +qemu pid 99, SSH answers/);
  assert.match(ok.io.stdout, /rs1 +10\.78\.3\.201 +HTTP answers \(pid 4242\)/);
  assert.match(ok.io.stdout, /VIP +10\.78\.3\.200 +not answering \(connect ECONNREFUSED; before a deploy nothing holds it\)/);
  const bad = await lab(["status", "--json"], fakeDeps({ status: async () => report(false) }).deps);
  assert.equal(bad.code, 3);
  assert.equal(JSON.parse(bad.io.stdout).healthy, false);
});

test("lab down: nothing up says so (exit 0); what was removed is listed; leftovers are an error naming them", async () => {
  const empty = await lab(["down"], fakeDeps().deps);
  assert.equal(empty.code, 0);
  assert.match(empty.io.stdout, /nothing to remove/);
  const done: LabDownReport = { slots: [3], removed: ["/lab/cli/inventory.yml"], kept: [], stale: [], problems: [] };
  const ok = await lab(["down"], fakeDeps({ down: () => done }).deps);
  assert.equal(ok.code, 0);
  assert.match(ok.io.stdout, /qemu slot 3 removed/);
  assert.match(ok.io.stdout, /removed cli\/inventory\.yml/);
  const left = await lab(["down"], fakeDeps({ down: () => ({ ...done, problems: ["ip netns del lvsq3-rs1 failed"] }) }).deps);
  assert.equal(left.code, 1);
  assert.match(left.io.stderr, /LVS808: lab down: left things behind:\n +ip netns del lvsq3-rs1 failed/);
});

test("lvsctl lab is registered: --help describes the actions and says the real servers are not bootstrapped", async () => {
  const io = captureIo({}, "/");
  assert.equal(await run(["lab", "--help"], io), 0);
  assert.match(io.stdout, /usage: lvsctl lab up\|status\|down/);
  assert.match(io.stdout, /prepared by the lab, not by `lvsctl bootstrap`/);
  const bad = captureIo({}, "/");
  assert.equal(await run(["lab"], bad), 1);
  assert.match(bad.stderr, /missing ACTION/);
});
