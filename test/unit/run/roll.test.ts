// The scheduler's rolling plays (`roll:`): the strategy orders the hosts by asking them, a gate
// runs after each batch outside --check, and a failed gate or a failed host stops the roll there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runPlaybook } from "../../../src/run/executor.js";
import type { RunEvent } from "../../../src/run/events.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import type { Roll } from "../../../src/roll/index.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const BOOK = `
- name: roll
  hosts: realservers
  serial: 1
  roll: fake
  tasks:
    - name: config
      file: { path: /etc/x.conf, content: "x\\n" }
    - name: step
      command: { cmd: [/usr/local/bin/step], unless: "test -e /etc/never" }
`;

function fakeRoll(failGateOn?: string) {
  const log: string[] = [];
  const make = (): Roll => ({
    async order(hosts, probe) {
      // Asks every host (a read-only command over the run's sessions), then goes in reverse.
      for (const h of hosts) log.push(`asked ${h}: ${(await probe.exec(h, { argv: ["echo", "hi"] })).code}`);
      return { hosts: [...hosts].reverse(), reason: "reversed" };
    },
    async gate(host) {
      log.push(`gate ${host}`);
      return host === failGateOn ? { ok: false, reason: `${host} is not fit` } : { ok: true, reason: "fine" };
    },
  });
  return { log, make };
}

async function run(roll: ReturnType<typeof fakeRoll>, sims: Record<string, SimHost>, check = false) {
  const events: RunEvent[] = [];
  const r = parsePlaybook(BOOK, "roll.yml");
  const result = await runPlaybook({ cluster: labCluster(), playbook: r.playbook!, connector: new SimConnector(sims), policy: { knownHostsFiles: [], acceptNew: false }, options: { check }, rolls: { fake: roll.make }, onEvent: (e) => events.push(e) });
  const ran = [...new Set(events.filter((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result").map((e) => e.host))];
  return { result, events, ran };
}

const sims = () => ({ rs1: new SimHost({ name: "rs1" }), rs2: new SimHost({ name: "rs2" }), rs3: new SimHost({ name: "rs3" }) });

test("the roll's order is used, and a gate runs after each host before the next starts", async () => {
  const roll = fakeRoll();
  const { result, events, ran } = await run(roll, sims());
  assert.equal(result.exitCode, 0);
  assert.deepEqual(ran, ["rs3", "rs2", "rs1"]);
  assert.deepEqual(roll.log, ["asked rs1: 0", "asked rs2: 0", "asked rs3: 0", "gate rs3", "gate rs2", "gate rs1"]);
  const order = events.find((e) => e.type === "roll.order");
  assert.deepEqual(order && { hosts: order.hosts, reason: order.reason }, { hosts: ["rs3", "rs2", "rs1"], reason: "reversed" });
  const seq = events.flatMap((e) => (e.type === "gate.result" ? [`gate ${e.host} ${e.ok}`] : e.type === "task.result" && e.task === "config" ? [`task ${e.host}`] : []));
  assert.deepEqual(seq, ["task rs3", "gate rs3 true", "task rs2", "gate rs2 true", "task rs1", "gate rs1 true"]);
});

test("a failed gate stops the roll: the next hosts never start, the host counts as failed, exit 2", async () => {
  const roll = fakeRoll("rs2");
  const s = sims();
  const { result, events, ran } = await run(roll, s);
  assert.equal(result.exitCode, 2);
  assert.deepEqual(ran, ["rs3", "rs2"]);
  assert.equal(s.rs1.file("/etc/x.conf"), undefined);
  assert.equal(result.recap.rs2!.failed, 1);
  const aborted = events.find((e) => e.type === "play.aborted");
  assert.match(aborted && aborted.type === "play.aborted" ? aborted.reason : "", /^the gate after rs2 failed: rs2 is not fit; 1 batch\(es\) not run/);
});

test("a host that fails its play stops the roll before its gate", async () => {
  const roll = fakeRoll();
  const s = sims();
  s.rs2 = new SimHost({ name: "rs2", failOn: /\/usr\/local\/bin\/step/ });
  const { result, ran } = await run(roll, s);
  assert.equal(result.exitCode, 2);
  assert.deepEqual(ran, ["rs3", "rs2"]);
  assert.deepEqual(roll.log.filter((l) => l.startsWith("gate")), ["gate rs3"]);
});

test("--check: the order is still asked (read-only), no gate runs", async () => {
  const roll = fakeRoll("rs3");
  const { result, ran } = await run(roll, sims(), true);
  assert.equal(result.exitCode, 0);
  assert.deepEqual(ran, ["rs3", "rs2", "rs1"]);
  assert.deepEqual(roll.log.filter((l) => l.startsWith("gate")), []);
});

test("a roll lvsctl does not have is refused before anything connects", async () => {
  const r = parsePlaybook(BOOK.replace("roll: fake", "roll: nope"), "roll.yml");
  await assert.rejects(runPlaybook({ cluster: labCluster(), playbook: r.playbook!, connector: new SimConnector(sims()), policy: { knownHostsFiles: [], acceptNew: false } }), /LVS757|names roll "nope"/);
});
