// What the qemu tests that deploy directors through the real CLI share (qemu-nat.test.ts,
// qemu-deploy-lvsd.test.ts): `lvsctl deploy --json` run with the lab's known hosts and an lvsd
// bundle, summed up in one line, and the check that a director's IPVS table is the inventory's.
import assert from "node:assert/strict";
import type { QemuLab } from "../../../src/lab/index.js";
import { loadInventory } from "../../../src/inventory/index.js";
import { compareIpvs, expectedIpvs, parseIpvsadmSave } from "../../../src/roll/ipvs-table.js";
import { changedTasks, ofType, runCli, type CliRun } from "./index.js";

export interface DeployOptions {
  inventory: string;
  knownHosts: string;
  /** The lvsd bundle (scripts/build-lvsd.mjs) deploy uploads when the backend is lvsd. */
  bundleDir: string;
  /** Gets the one-line summary (exit, time, changed tasks, each gate). */
  log: (line: string) => void;
}

/** `lvsctl deploy INVENTORY --json`; `what` names the run in the summary line. */
export async function deployRun(what: string, o: DeployOptions): Promise<CliRun> {
  const r = await runCli(["deploy", o.inventory, "--json", "--known-hosts", o.knownHosts, "--lvsd-bundle", o.bundleDir], { timeoutMs: 20 * 60_000 });
  const gates = ofType(r.events, "gate.result").map((e) => `${e.host} ${e.ok ? "ok" : "FAILED"} ${(e.ms / 1000).toFixed(1)} s`);
  o.log(`${what}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; changed: ${changedTasks(r.events).join(", ") || "nothing"}; gates: ${gates.join("; ") || "none"}`);
  return r;
}

/** Asserts that director `g`'s `ipvsadm -Sn` is the table the inventory asks for; returns what it printed. */
export async function tableIsInventory(lab: QemuLab, inventory: string, g: string): Promise<string> {
  const loaded = await loadInventory(inventory);
  assert.ok(loaded.ok);
  const saved = await lab.execOk(g, "ipvsadm -Sn");
  assert.deepEqual(compareIpvs(expectedIpvs(loaded.cluster), parseIpvsadmSave(saved).table), [], `${g}: the IPVS table is the inventory's:\n${saved}`);
  return saved;
}
