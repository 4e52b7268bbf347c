// The resolver's side of `{prompt: TEXT}`: answers handed in are returned and masked; a prompt
// with no answer is LVS216; collectPrompts finds each distinct prompt of the chosen hosts once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInventory } from "../../../src/inventory/index.js";
import { LvsctlError } from "../../../src/errors/index.js";
import { collectPrompts, resolveSecret, SecretResolver } from "../../../src/secrets/index.js";

test("a prompt resolves to its answer, which is then masked in any text", () => {
  const r = new SecretResolver({ env: {}, baseDir: "/", answers: new Map([["sudo pw", "Tr0ub4dor"]]) });
  assert.equal(r.resolve({ prompt: "sudo pw" }), "Tr0ub4dor");
  assert.equal(r.mask("sudo: Tr0ub4dor rejected; Tr0ub4dor"), "sudo: *** rejected; ***");
});

test("a prompt without an answer is LVS216, naming the prompt, with a hint", () => {
  for (const answers of [undefined, new Map([["other", "x"]])]) {
    assert.throws(
      () => resolveSecret({ prompt: "sudo pw" }, { env: {}, baseDir: "/", ...(answers ? { answers } : {}) }),
      (e: unknown) => e instanceof LvsctlError && e.code === "LVS216" && /"sudo pw"/.test(e.message) && /\{env: NAME\}/.test(e.hint ?? ""),
    );
  }
});

test("env and file secrets are unchanged by answers", () => {
  const src = { env: { A: "from-env" }, baseDir: "/inv", readFile: (p: string) => `${p}\n`, answers: new Map([["A", "no"]]) };
  assert.equal(resolveSecret({ env: "A" }, src), "from-env");
  assert.equal(resolveSecret({ file: "s" }, src), "/inv/s");
});

const INV = `defaults: { password: { prompt: "ssh pw" } }
hosts:
  bastion: { address: 10.77.0.9, password: { prompt: "bastion pw" } }
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
  rs1: { address: 10.77.0.21, jump: bastion, become: { password: { prompt: "sudo pw" } } }
  rs2: { address: 10.77.0.22, become: { password: { prompt: "sudo pw" } } }
groups:
  directors: { hosts: [ds1, ds2] }
  realservers: { hosts: [rs1, rs2] }
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    authentication: { auth_type: PASS, auth_pass: { prompt: "vrrp pw" } }
    virtual_ipaddress: [10.77.0.100/24]
virtual_servers:
  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }, { host: rs2 }] }
`;

function cluster() {
  const r = parseInventory(INV, "inv.yml", { env: {} });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics));
  return r.cluster;
}

test("collectPrompts: each text once, in inventory order, jump hops before the host, with every place", () => {
  const needs = collectPrompts(cluster());
  assert.deepEqual(needs.map((n) => n.text), ["bastion pw", "ssh pw", "sudo pw", "vrrp pw"]);
  assert.deepEqual(needs.find((n) => n.text === "sudo pw")!.where, ["hosts.rs1.become.password", "hosts.rs2.become.password"]);
  assert.deepEqual(needs.find((n) => n.text === "vrrp pw")!.where, [
    "vrrp_instances.VI_1.authentication.auth_pass (director ds1)",
    "vrrp_instances.VI_1.authentication.auth_pass (director ds2)",
  ]);
});

test("collectPrompts: only the chosen hosts, and only connection or only VRRP when asked", () => {
  const c = cluster();
  assert.deepEqual(collectPrompts(c, { hosts: ["rs1"] }).map((n) => n.text), ["bastion pw", "ssh pw", "sudo pw"], "rs1's jump host's password too");
  assert.deepEqual(collectPrompts(c, { hosts: ["rs2"] }).map((n) => n.text), ["ssh pw", "sudo pw"]);
  assert.deepEqual(collectPrompts(c, { hosts: ["ds2"], connection: false }).map((n) => n.text), ["vrrp pw"]);
  assert.deepEqual(collectPrompts(c, { hosts: ["rs1", "rs2"], connection: false }), []);
  assert.deepEqual(collectPrompts(c, { vrrp: false }).map((n) => n.text), ["bastion pw", "ssh pw", "sudo pw"]);
});
