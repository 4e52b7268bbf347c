// `{prompt: TEXT}` secrets in the inventory: accepted wherever a secret goes, never warned about
// as a clear password or an unset variable, kept as a reference in the resolved cluster.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, VI, lines, parse } from "./helpers.js";

const WITH_PROMPTS = BASE.replace(
  "rs1: { address: 10.77.0.21 }",
  'rs1: { address: 10.77.0.21, password: { prompt: "ssh pw" }, become: { password: { prompt: "sudo pw" } } }',
) + VI.replace("interface: eth0", 'interface: eth0\n    authentication: { auth_type: PASS, auth_pass: { prompt: "vrrp pw" } }');

test("prompts in password, become.password and auth_pass: valid, no LVS206/LVS207 warning", () => {
  assert.deepEqual(lines(WITH_PROMPTS, {}), [], "not even with an empty environment");
  const r = parse(WITH_PROMPTS, {});
  assert.ok(r.ok);
  const rs1 = r.cluster.hosts["rs1"]!;
  assert.deepEqual(rs1.password, { prompt: "ssh pw" });
  assert.deepEqual(rs1.become?.password, { prompt: "sudo pw" });
  assert.deepEqual(r.cluster.directors[0]!.instances[0]!.authPass, { prompt: "vrrp pw" });
});

test("the same forms in clear and from an unset variable still warn (the rule is not switched off)", () => {
  const clear = WITH_PROMPTS.replace('{ prompt: "ssh pw" }', '"hunter2"').replace('{ prompt: "sudo pw" }', "{ env: NOPE_UNSET }");
  const got = lines(clear, {});
  assert.ok(got.some((l) => / warning LVS206: the SSH password at hosts\.rs1 is written in clear/.test(l)), got.join("\n"));
  assert.ok(got.some((l) => / warning LVS207: the become \(sudo\) password at hosts\.rs1 comes from environment variable NOPE_UNSET/.test(l)), got.join("\n"));
});

test("an empty prompt, a non-string prompt and a prompt with another key are located errors", () => {
  for (const bad of ['{ prompt: "  " }', "{ prompt: 3 }", '{ prompt: "pw", env: X }']) {
    const r = parse(WITH_PROMPTS.replace('{ prompt: "sudo pw" }', bad), {});
    assert.equal(r.ok, false, bad);
    const l = lines(WITH_PROMPTS.replace('{ prompt: "sudo pw" }', bad), {});
    assert.ok(l.some((x) => x.startsWith("inv.yml:4:") && / error LVS1\d\d: /.test(x)), `${bad}: ${l.join("\n")}`);
  }
});
