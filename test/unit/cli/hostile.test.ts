// The CLI against hostile inventories and targets: no secret in any error it prints (LVS701, an
// internal error's stack), no content of a file that is not an inventory, and clean exits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commands, run } from "../../../src/cli/main.js";
import { captureIo, type CapturedIo } from "../../fixtures/cli/io.js";
import type { CommandSpec } from "../../../src/cli/command.js";

const io = (env: NodeJS.ProcessEnv, cwd: string): CapturedIo => captureIo(env, cwd);

const INV = (authPass: string) => `hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
groups:
  directors: { hosts: [ds1, ds2] }
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    authentication: { auth_type: PASS, auth_pass: ${authPass} }
    virtual_ipaddress: [10.77.0.100/24]
`;

function dir(): string {
  return mkdtempSync(join(tmpdir(), "lvsctl-hostile-"));
}

test("a secret holding a double quote: render fails with LVS701, exit 1, and never prints the value", async () => {
  const d = dir();
  writeFileSync(join(d, "inv.yml"), INV("{ env: VRRP_PASS }"));
  for (const args of [["--out", join(d, "out")], ["--show-secrets"]]) {
    const o = io({ VRRP_PASS: 'a"b9xq' }, d);
    assert.equal(await run(["render", "inv.yml", ...args], o), 1, o.stderr);
    assert.match(o.stderr, /error LVS701: cannot write the auth_pass into keepalived\.conf: the secret's value holds a double quote or a newline \(the value is not shown\)/);
    assert.ok(!o.stderr.includes("b9xq") && !o.stdout.includes("b9xq"), o.stderr);
  }
});

test("auth_pass: 87654321 is reported as a number, without the number", async () => {
  const d = dir();
  writeFileSync(join(d, "inv.yml"), INV("87654321"));
  for (const args of [[], ["--json"]]) {
    const o = io({}, d);
    assert.equal(await run(["validate", "inv.yml", ...args], o), 1);
    assert.match(o.stdout + o.stderr, /got a number/);
    assert.ok(!(o.stdout + o.stderr).includes("87654321"), o.stdout + o.stderr);
  }
});

test("ansible_inventory naming a shadow file: exit 1, one error, none of its lines", async () => {
  const d = dir();
  writeFileSync(join(d, "shadow"), "root:$y$j9T$salt$hashOfRoot:20228:0:99999:7:::\nbin:*:20228:0:99999:7:::\n");
  writeFileSync(join(d, "inv.yml"), "ansible_inventory: shadow\n");
  const o = io({}, d);
  assert.equal(await run(["validate", "inv.yml"], o), 1);
  assert.match(o.stderr, /^shadow:1:1: error LVS500: .*shadow does not read as an Ansible inventory: 2 of its 2 host and group names are not names; its content is not shown/m);
  assert.doesNotMatch(o.stderr, /hashOfRoot|20228/);
});

test("an internal error (exit 70) masks every secret resolved before it", async () => {
  const d = dir();
  writeFileSync(join(d, "inv.yml"), INV("{ env: VRRP_PASS }"));
  const o = io({ VRRP_PASS: "zq7pw" }, d);
  assert.equal(await run(["render", "inv.yml", "--show-secrets", "--host", "ds1"], o), 0, o.stderr);
  assert.match(o.stdout, /auth_pass zq7pw/);
  const boom: CommandSpec = {
    name: "boom-test",
    summary: "throws",
    usage: "boom-test",
    options: {},
    positionals: [],
    run: async () => {
      throw new Error("JSON.parse failed near \"zq7pw\"");
    },
  };
  commands.push(boom);
  try {
    const e = io({}, d);
    assert.equal(await run(["boom-test"], e), 70);
    assert.match(e.stderr, /internal error: Error: JSON\.parse failed near "\*\*\*"/);
    assert.doesNotMatch(e.stderr, /zq7pw/);
  } finally {
    commands.splice(commands.indexOf(boom), 1);
  }
});
