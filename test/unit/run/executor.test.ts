import { test } from "node:test";
import assert from "node:assert/strict";
import { runPlaybook, type RunOptions, type SecretsPort } from "../../../src/run/executor.js";
import type { RunEvent } from "../../../src/run/events.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const policy = { knownHostsFiles: [], acceptNew: false };

function book(yaml: string) {
  const r = parsePlaybook(yaml, "test-playbook.yml");
  if (!r.playbook) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.playbook;
}

function hosts(n = 3, opts: Partial<Record<string, ConstructorParameters<typeof SimHost>[0]>> = {}) {
  const out: Record<string, SimHost> = {};
  for (const name of ["rs1", "rs2", "rs3"].slice(0, n)) out[name] = new SimHost({ name, ...(opts[name] ?? {}) });
  return out;
}

async function run(yaml: string, sims: Record<string, SimHost | Error>, options: RunOptions = {}, extra: { signal?: AbortSignal; secrets?: SecretsPort; onEvent?: (e: RunEvent) => void } = {}) {
  const events: RunEvent[] = [];
  const connector = new SimConnector(sims);
  const result = await runPlaybook({
    cluster: labCluster(),
    playbook: book(yaml),
    connector,
    policy,
    options,
    onEvent: (e) => {
      events.push(e);
      extra.onEvent?.(e);
    },
    ...(extra.signal ? { signal: extra.signal } : {}),
    ...(extra.secrets ? { secrets: extra.secrets } : {}),
  });
  const results = events.filter((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result");
  return { result, events, results, connector };
}

const FILE_AND_HANDLER = `
- name: web
  hosts: realservers
  tasks:
    - name: config
      file: { path: /etc/web.conf, content: "a = 1\\n" }
      notify: restart web
    - name: breaks
      command: { cmd: [/usr/bin/false-on-rs2], unless: "test -e /etc/never" }
    - name: after
      file: { path: /etc/after.conf, content: "x\\n" }
  handlers:
    - name: restart web
      service: { name: web, state: restarted }
`;

test("handlers still run for a host that changed before a later task failed (force_handlers)", async () => {
  const sims = hosts(2, { rs2: { name: "rs2", failOn: /false-on-rs2/, units: { "web.service": { enabled: "enabled", active: "active" } } }, rs1: { name: "rs1", units: { "web.service": { enabled: "enabled", active: "active" } } } });
  const { result, results } = await run(FILE_AND_HANDLER, sims, { limit: "rs1,rs2" });
  assert.equal(result.exitCode, 2);
  // rs2: config changed, breaks failed, after never ran, handler ran.
  const rs2 = results.filter((r) => r.host === "rs2").map((r) => `${r.handler ? "H " : ""}${r.task}=${r.status}`);
  assert.deepEqual(rs2, ["config=changed", "breaks=failed", "H restart web=changed"]);
  assert.ok(sims.rs2!.log.includes("systemctl restart web.service"));
  assert.equal(sims.rs2!.file("/etc/after.conf"), undefined);
  // rs1 ran everything, handler once, at the end.
  const rs1 = results.filter((r) => r.host === "rs1").map((r) => r.task);
  assert.deepEqual(rs1, ["config", "breaks", "after", "restart web"]);
  assert.deepEqual(result.recap.rs2, { ok: 0, changed: 2, failed: 1, unreachable: 0, skipped: 0, warnings: 0 });
});

test("handlers do not run when nothing changed", async () => {
  const sims = hosts(1);
  sims.rs1!.files.set("/etc/web.conf", { content: Buffer.from("a = 1\n"), mode: 0o644 });
  const { results } = await run(FILE_AND_HANDLER.replace("/usr/bin/false-on-rs2", "/bin/true"), sims, { limit: "rs1" });
  assert.ok(!results.some((r) => r.handler));
});

test("--check runs only the fact gathering: no mutating command, no upload, changes reported", async () => {
  const sims = hosts(3);
  const { result, results } = await run(
    `
- name: all kinds
  hosts: realservers
  tasks:
    - { name: f, file: { path: /etc/f, content: "new\\n", mode: "0600" }, notify: h }
    - { name: s, sysctl: { values: { net.ipv4.ip_forward: 1 }, file: /etc/sysctl.d/50-x.conf } }
    - { name: c, command: "touch /tmp/x" }
    - { name: p, package: [ipvsadm] }
    - { name: a, address: { unit: vip.service, addresses: [10.9.9.9] } }
  handlers:
    - { name: h, service: { name: web, state: restarted } }
`,
    sims,
    { check: true, diff: true },
  );
  assert.equal(result.exitCode, 0);
  for (const s of Object.values(sims)) {
    assert.deepEqual(s.log, [], `${s.opts.name} ran nothing but facts`);
    assert.equal(s.conn.calls.filter((c) => c.kind === "put").length, 0);
    assert.equal(s.factRuns, 1);
  }
  assert.deepEqual(results.filter((r) => r.host === "rs1").map((r) => `${r.task}=${r.status}`), ["f=changed", "s=changed", "c=changed", "p=changed", "a=changed", "h=changed"]);
  assert.ok(results.every((r) => r.check));
  assert.match(results.find((r) => r.task === "f")!.diff!, /^\+new$/m);
});

test("an unreachable host does not stop the others; exit code 3 when nothing else failed", async () => {
  const sims: Record<string, SimHost | Error> = { ...hosts(3) };
  sims.rs2 = Object.assign(new Error("rs2: no SSH login within 10000 ms"), {});
  const { result, events } = await run(`- { name: p, hosts: realservers, tasks: [ { name: f, file: { path: /etc/f, content: "x" } } ] }`, sims);
  assert.equal(result.exitCode, 3);
  assert.equal(result.recap.rs2!.unreachable, 1);
  assert.equal(result.recap.rs1!.changed, 1);
  assert.equal(result.recap.rs3!.changed, 1);
  assert.ok(events.some((e) => e.type === "host.unreachable" && e.host === "rs2"));
});

test("serial batches with max_fail_percentage: the remaining batches are not run", async () => {
  const sims = hosts(3, { rs1: { name: "rs1", failOn: /boom/ } });
  const { result, events, connector } = await run(
    `
- name: rolling
  hosts: realservers
  serial: 1
  max_fail_percentage: 0
  tasks:
    - { name: c, command: "boom" }
`,
    sims,
  );
  assert.equal(result.exitCode, 2);
  assert.deepEqual(connector.connects, ["rs1"]);
  const aborted = events.find((e) => e.type === "play.aborted");
  assert.ok(aborted && aborted.type === "play.aborted" && /2 batch\(es\) not run/.test(aborted.reason));
  const started = events.filter((e) => e.type === "batch.started");
  assert.equal(started.length, 1);
});

test("serial as a percentage makes batches; without max_fail_percentage a failure does not stop later batches", async () => {
  const sims = hosts(3, { rs1: { name: "rs1", failOn: /boom/ } });
  const { events, connector } = await run(`- { name: p, hosts: realservers, serial: "34%", tasks: [ { name: c, command: "boom" } ] }`, sims);
  const play = events.find((e) => e.type === "play.started");
  assert.ok(play && play.type === "play.started");
  assert.deepEqual(play.batches, [["rs1"], ["rs2"], ["rs3"]]);
  assert.deepEqual(connector.connects, ["rs1", "rs2", "rs3"]);
});

test("forks=1 works on one host at a time", async () => {
  const sims = hosts(3);
  const { events } = await run(`- { name: p, hosts: realservers, tasks: [ { name: f, file: { path: /etc/f, content: "x" } } ] }`, sims, { forks: 1 });
  const seq = events.filter((e) => e.type === "host.connected" || e.type === "task.result").map((e) => ("host" in e ? `${e.type}:${e.host}` : ""));
  assert.deepEqual(seq, ["host.connected:rs1", "task.result:rs1", "host.connected:rs2", "task.result:rs2", "host.connected:rs3", "task.result:rs3"]);
});

test("--limit with exclusion and --tags select hosts and tasks", async () => {
  const sims = hosts(3);
  const { results, connector } = await run(
    `
- name: p
  hosts: all
  tasks:
    - { name: a, tags: [one], file: { path: /etc/a, content: "a" } }
    - { name: b, tags: [two], file: { path: /etc/b, content: "b" } }
    - { name: c, tags: [always], file: { path: /etc/c, content: "c" } }
`,
    sims,
    { limit: "realservers,!rs2", tags: ["two"] },
  );
  assert.deepEqual(connector.connects.sort(), ["rs1", "rs3"]);
  assert.deepEqual([...new Set(results.map((r) => r.task))], ["b", "c"]);
});

test("an unknown name in --limit is an error before anything connects", async () => {
  await assert.rejects(run(`- { name: p, hosts: all, tasks: [] }`, hosts(1), { limit: "rs9" }), /--limit names "rs9"/);
});

test("when: conditions over vars and facts", async () => {
  const sims = hosts(2);
  const { results } = await run(
    `
- name: p
  hosts: realservers
  vars: { role: web }
  tasks:
    - { name: debian only, when: "os_family == 'debian'", file: { path: /etc/a, content: "a" } }
    - { name: not web, when: "not role == 'web'", file: { path: /etc/b, content: "b" } }
    - { name: in list, when: "inventory_hostname in ['rs2']", file: { path: /etc/c, content: "c" } }
`,
    sims,
    { limit: "rs1,rs2" },
  );
  const of = (h: string) => results.filter((r) => r.host === h).map((r) => `${r.task}=${r.status}`);
  assert.deepEqual(of("rs1"), ["debian only=changed", "not web=skipped", "in list=skipped"]);
  assert.deepEqual(of("rs2"), ["debian only=changed", "not web=skipped", "in list=changed"]);
});

test("the event stream: started first, finished last, each result after its start, recap for every host, secrets masked", async () => {
  const sims = hosts(2, { rs1: { name: "rs1", failOn: /hunter2/ } });
  const seen = new Set<string>();
  const secrets: SecretsPort = { resolve: () => "hunter2", mask: (t) => t.split("hunter2").join("***") };
  const { events } = await run(`- { name: p, hosts: realservers, tasks: [ { name: "uses hunter2", command: "echo hunter2" } ] }`, sims, { limit: "rs1,rs2" }, { secrets });
  assert.equal(events[0]!.type, "run.started");
  assert.equal(events[events.length - 1]!.type, "run.finished");
  for (const e of events) {
    if (e.type === "task.started") seen.add(`${e.host}/${e.index}`);
    if (e.type === "task.result" && e.index >= 0) assert.ok(seen.has(`${e.host}/${e.index}`), "result after start");
  }
  assert.deepEqual(events.filter((e) => e.type === "host.recap").map((e) => ("host" in e ? e.host : "")), ["rs1", "rs2"]);
  const text = JSON.stringify(events);
  assert.ok(!text.includes("hunter2"), "the secret never appears");
  assert.match(text, /simulated failure of echo \*\*\*/);
  // times are monotonic
  const ts = events.map((e) => e.t);
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
});

test("interrupt: no new task starts, connections close, exit 130; a re-run converges", async () => {
  const sims = hosts(1);
  const ac = new AbortController();
  const yaml = `
- name: p
  hosts: realservers
  tasks:
    - { name: one, file: { path: /etc/one, content: "1" } }
    - { name: two, file: { path: /etc/two, content: "2" } }
`;
  const first = await run(yaml, sims, { limit: "rs1", graceMs: 50 }, { signal: ac.signal, onEvent: (e) => e.type === "task.result" && e.task === "one" && ac.abort() });
  assert.equal(first.result.exitCode, 130);
  assert.equal(first.result.interrupted, true);
  assert.deepEqual(first.results.map((r) => r.task), ["one"]);
  assert.equal(sims.rs1!.file("/etc/two"), undefined);
  assert.ok(sims.rs1!.conn.closed, "connection closed");
  const again = await run(yaml, sims, { limit: "rs1" });
  assert.equal(again.result.exitCode, 0);
  assert.deepEqual(again.results.map((r) => `${r.task}=${r.status}`), ["one=ok", "two=changed"]);
});

test("one connection and one fact round trip per host across plays", async () => {
  const sims = hosts(1);
  const { connector } = await run(
    `
- { name: p1, hosts: rs1, tasks: [ { name: a, file: { path: /etc/a, content: "a" } } ] }
- { name: p2, hosts: rs1, tasks: [ { name: b, file: { path: /etc/b, content: "b" } } ] }
`,
    sims,
  );
  assert.deepEqual(connector.connects, ["rs1"]);
  assert.equal(sims.rs1!.factRuns, 2, "one per play (facts may have changed in between)");
});

test("a planning error fails only that task with its playbook location", async () => {
  const sims = hosts(1);
  const { results, result } = await run(`- { name: p, hosts: rs1, tasks: [ { name: bad, sysctl: { values: { net.nope.x: 1 } } } ] }`, sims);
  assert.equal(result.exitCode, 2);
  assert.match(results[0]!.reason, /^test-playbook\.yml:1:\d+: sysctl net\.nope\.x does not exist on this host/);
});

test("render: files from src/render are uploaded once, then left alone", async () => {
  const { defaultRenderers } = await import("../../../src/run/renderers.js");
  const sims = hosts(1);
  const yaml = `- { name: p, hosts: rs1, tasks: [ { name: rs files, render: realserver } ] }`;
  const go = () =>
    runPlaybook({ cluster: labCluster(), playbook: book(yaml), connector: new SimConnector(sims), policy, renderers: defaultRenderers(() => "pw"), onEvent: () => {} });
  const first = await go();
  assert.equal(first.recap.rs1!.changed, 1);
  assert.match(sims.rs1!.file("/etc/systemd/system/lvs-rs-vip.service")!, /10\.77\.0\.100/);
  const second = await go();
  assert.equal(second.recap.rs1!.changed, 0);
  assert.equal(second.recap.rs1!.ok, 1);
});

test("a host without systemd gets its addresses live, with a warning that they are not persisted", async () => {
  const sims = { rs1: new SimHost({ name: "rs1", init: "other" }) };
  const { results } = await run(`- { name: p, hosts: rs1, tasks: [ { name: vip, address: { unit: v.service, addresses: [10.9.9.9] } } ] }`, sims);
  assert.equal(results[0]!.status, "changed");
  assert.match(results[0]!.warnings![0]!, /not persisted/);
  assert.ok(sims.rs1.hasAddress("10.9.9.9"));
});

test("the Node version is gathered only for plays that refer to it", async () => {
  const sims = hosts(1);
  const { results } = await run(`- { name: p, hosts: rs1, tasks: [ { name: a, when: "facts.nodeVersion is defined", file: { path: /etc/a, content: "a" } } ] }`, sims);
  assert.equal(results[0]!.status, "changed");
  const { results: r2 } = await run(`- { name: p, hosts: rs1, tasks: [ { name: a, when: "facts.os.family == 'debian'", file: { path: /etc/b, content: "a" } } ] }`, sims);
  assert.equal(r2[0]!.status, "changed");
  assert.deepEqual(sims.rs1!.factScripts.map((s) => s.includes("node --version")), [true, false]);
});

test("any_errors_fatal: one failed host stops the play on every host", async () => {
  const sims = hosts(3, { rs1: { name: "rs1", failOn: /boom/ } });
  const { result, events, connector } = await run(
    `
- name: careful
  hosts: realservers
  any_errors_fatal: true
  tasks:
    - { name: c, command: "boom" }
    - { name: f, file: { path: /etc/f, content: "x" } }
- name: not run either
  hosts: realservers
  tasks:
    - { name: g, file: { path: /etc/g, content: "x" } }
`,
    sims,
    { forks: 1 },
  );
  assert.equal(result.exitCode, 2);
  assert.ok(events.some((e) => e.type === "play.aborted" && /rs1 failed.*any_errors_fatal/.test(e.reason)));
  assert.equal(sims.rs2!.file("/etc/f"), undefined, "rs2 never ran the first play's tasks");
  assert.equal(sims.rs2!.file("/etc/g"), undefined, "nor later plays");
  assert.deepEqual(connector.connects, ["rs1"]);
});

test("a secret that cannot be resolved at connect time fails that host as invalid input (LVS212, exit 1), not unreachable", async () => {
  const { clusterFrom } = await import("../../fixtures/plan/clusters.js");
  const cluster = clusterFrom(`
defaults: { user: deploy }
hosts:
  ds1: { address: 10.77.0.11 }
  rs1: { address: 10.77.0.21, become: { password: { env: LVSCTL_TEST_UNSET_SUDO_PW } } }
  rs2: { address: 10.77.0.22, become: true }
groups: { directors: { hosts: [ds1] }, realservers: { hosts: [rs1, rs2] } }
vrrp_instances: [ { name: V, interface: eth0, virtual_router_id: 9, priority: 100, virtual_ipaddress: [10.77.0.100/24] } ]
virtual_servers: [ { vip: 10.77.0.100, port: 80, real_servers: [ { host: rs1 }, { host: rs2 } ] } ]
`);
  delete process.env.LVSCTL_TEST_UNSET_SUDO_PW;
  const sims = hosts(2);
  const connector = new SimConnector(sims);
  const events: RunEvent[] = [];
  // No secrets port given: the executor's default is src/secrets' SecretResolver.
  const result = await runPlaybook({ cluster, playbook: book(`- { name: p, hosts: realservers, tasks: [ { name: f, file: { path: /etc/f, content: "x" } } ] }`), connector, policy, onEvent: (e) => events.push(e) });
  assert.equal(result.exitCode, 1);
  assert.deepEqual(result.recap.rs1, { ok: 0, changed: 0, failed: 1, unreachable: 0, skipped: 0, warnings: 0 });
  assert.ok(!events.some((e) => e.type === "host.unreachable"), "not reported as unreachable");
  const failed = events.find((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result" && e.host === "rs1")!;
  assert.equal(failed.task, "connect");
  assert.match(failed.reason, /^LVS212: the secret's environment variable LVSCTL_TEST_UNSET_SUDO_PW is not set \(hint: export LVSCTL_TEST_UNSET_SUDO_PW=/);
  assert.deepEqual(connector.connects, ["rs2"], "rs1 was never dialled; rs2 went on");
  assert.equal(result.recap.rs2!.changed, 1);
});

test("the default secrets: relative file refs are read from the inventory's folder, values masked in events (LVS213 when unreadable)", async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { parseInventory } = await import("../../../src/inventory/load.js");
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-secrets-"));
  try {
    writeFileSync(join(dir, "sudo.pw"), "s3cr3t-sudo\n");
    const yaml = (file: string) => `
defaults: { user: deploy }
hosts:
  ds1: { address: 10.77.0.11 }
  rs1: { address: 10.77.0.21, become: { password: { file: ${file} } } }
groups: { directors: { hosts: [ds1] }, realservers: { hosts: [rs1] } }
vrrp_instances: [ { name: V, interface: eth0, virtual_router_id: 9, priority: 100, virtual_ipaddress: [10.77.0.100/24] } ]
virtual_servers: [ { vip: 10.77.0.100, port: 80, real_servers: [ { host: rs1 } ] } ]
`;
    const load = (file: string) => {
      const r = parseInventory(yaml(file), join(dir, "inv.yml"), { env: {} });
      assert.ok(r.ok, JSON.stringify(r.diagnostics));
      return r.cluster;
    };
    const events: RunEvent[] = [];
    const sims = hosts(1);
    const pb = book(`- { name: p, hosts: rs1, tasks: [ { name: "echo s3cr3t-sudo", command: "echo s3cr3t-sudo" } ] }`);
    const sim = new SimConnector(sims);
    const targets: Parameters<SimConnector["connect"]>[0][] = [];
    const connector = { connect: (t: Parameters<SimConnector["connect"]>[0]) => (targets.push(t), sim.connect(t)) };
    const ok = await runPlaybook({ cluster: load("sudo.pw"), playbook: pb, connector, policy, onEvent: (e) => events.push(e) });
    assert.equal(ok.exitCode, 0);
    assert.equal(targets[0]?.become?.password?.reveal(), "s3cr3t-sudo", "read from the inventory's folder, trailing newline dropped");
    // Masking knows a value once it has been resolved (at connect): every event from then on.
    const fromConnect = events.slice(events.findIndex((e) => e.type === "host.connected"));
    assert.ok(fromConnect.some((e) => e.type === "task.result" && e.task === "echo ***"));
    assert.ok(!JSON.stringify(fromConnect).includes("s3cr3t-sudo"), "the value is masked in every later event");
    const bad = await runPlaybook({ cluster: load("missing.pw"), playbook: pb, connector: new SimConnector(hosts(1)), policy, onEvent: (e) => events.push(e) });
    assert.equal(bad.exitCode, 1);
    assert.ok(events.some((e) => e.type === "task.result" && e.task === "connect" && /^LVS213: cannot read the secret file missing\.pw: ENOENT/.test(e.reason)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
