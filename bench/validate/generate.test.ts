// bench/validate's generated inventories are valid (both tools must exit 0 on them for the
// figures to mean anything): checked at a small size, in-process, so the unit suite stays fast.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInventory } from "../../src/inventory/index.js";
import { ansibleInventory, lvsctlInventory } from "./generate.js";

test("bench/validate: the generated lvsctl and Ansible INI inventories validate, with every host in place", () => {
  const own = parseInventory(lvsctlInventory(250), "inv.yml", { env: {} });
  assert.deepEqual(own.diagnostics.filter((d) => d.severity === "error"), []);
  assert.ok(own.ok);
  assert.equal(Object.keys(own.cluster.hosts).length, 250);
  assert.equal(own.cluster.services.length, 3);

  const { ini, lvsctl } = ansibleInventory(250, "hosts.ini");
  const imported = parseInventory(lvsctl, "from-ansible.yml", { env: {}, includes: { "hosts.ini": ini } });
  assert.deepEqual(imported.diagnostics.filter((d) => d.severity === "error"), []);
  assert.ok(imported.ok);
  assert.deepEqual(Object.keys(imported.cluster.hosts).sort(), Object.keys(own.cluster.hosts).sort());
  assert.deepEqual(imported.cluster.services.map((s) => s.realServers.map((r) => r.address)), own.cluster.services.map((s) => s.realServers.map((r) => r.address)));
});
