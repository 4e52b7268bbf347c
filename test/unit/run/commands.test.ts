// Issue 8, "commands are values": playbook values never become shell syntax, options or paths
// outside /proc/sys. Each case runs a playbook through the executor against simulated hosts
// (src/ssh/fake.ts underneath) and looks at exactly what would be sent; the scripts that matter
// are also run by the local /bin/sh to prove they do nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCommand } from "../../../src/command/index.js";
import { formatDiagnostic } from "../../../src/inventory/diagnostic.js";
import { runPlaybook, type RunOptions } from "../../../src/run/executor.js";
import type { RunEvent } from "../../../src/run/events.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const policy = { knownHostsFiles: [], acceptNew: false };

function book(yaml: string) {
  const r = parsePlaybook(yaml, "pb.yml");
  if (!r.playbook) throw new Error(r.diagnostics.map(formatDiagnostic).join("\n"));
  return r.playbook;
}

/** The first line of each error the loader reports. */
function loadErrors(yaml: string): string[] {
  return parsePlaybook(yaml, "pb.yml").diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]!);
}

async function run(yaml: string, options: RunOptions = {}) {
  const sim = new SimHost({ name: "rs1" });
  const events: RunEvent[] = [];
  const result = await runPlaybook({ cluster: labCluster(), playbook: book(yaml), connector: new SimConnector({ rs1: sim }), policy, options: { limit: "rs1", ...options }, onEvent: (e) => events.push(e) });
  const results = events.filter((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result" && e.index >= 0);
  const execs = sim.conn.calls.filter((c) => c.kind === "exec" && !c.command.includes("lvsctl-fact"));
  return { sim, result, results, execs };
}

const EVIL = "eth0; touch /tmp/lvsctl-pwned $(id) `id` 'q' \"dq\"\nreboot";

test("command: a {{ }} value is one word, whatever it holds; no shell runs", async () => {
  const { execs, results } = await run(`
- name: p
  hosts: realservers
  vars: { iface: ${JSON.stringify(EVIL)}, several: [a b, "c;d"] }
  tasks:
    - { name: one, command: "ip link set {{ iface }} up" }
    - { name: list, command: "rm -f -- {{ several }}" }
    - { name: argv, command: [printf, "%s", "x{{ iface }}"] }
    - { name: quoted, command: "echo 'a b' \\"c d\\" {{ iface }}" }
`);
  assert.deepEqual(results.map((r) => r.status), ["changed", "changed", "changed", "changed"]);
  assert.deepEqual(
    execs.map((c) => c.cmd && "argv" in c.cmd && c.cmd.argv),
    [
      ["ip", "link", "set", EVIL, "up"],
      ["rm", "-f", "--", "a b", "c;d"],
      ["printf", "%s", `x${EVIL}`],
      ["echo", "a b", "c d", EVIL],
    ],
  );
  // and the line sent over SSH gives those words back in a real shell
  const line = renderCommand({ argv: ["printf", "%s\\0", EVIL] });
  assert.deepEqual(spawnSync("/bin/sh", ["-c", line], { encoding: "utf8" }).stdout.split("\0").slice(0, -1), [EVIL]);
});

test("shell: is the visible opt-in; its {{ }} values are still quoted words", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-shell-"));
  try {
    const marker = join(dir, "pwned");
    const value = `x; touch ${marker}; $(touch ${marker}) \`touch ${marker}\``;
    const { execs } = await run(`
- name: p
  hosts: realservers
  vars: { v: ${JSON.stringify(value)} }
  tasks:
    - { name: s, shell: "printf '%s\\\\n' {{ v }} | wc -l" }
`);
    const cmd = execs[0]!.cmd!;
    assert.ok(!("argv" in cmd));
    const r = spawnSync("/bin/sh", ["-c", cmd.shell], { encoding: "utf8" });
    assert.equal(r.stdout.trim(), "1", "one word, one line");
    assert.ok(!existsSync(marker), "nothing in the value ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the loader refuses shell syntax in command: and a value inside quotes in shell:, with locations", () => {
  const errs = loadErrors(`
- name: p
  hosts: all
  tasks:
    - { name: a, command: "cat /etc/x | grep y" }
    - { name: b, command: { cmd: "echo $HOME" } }
    - { name: c, command: { cmd: [ls], unless: "test -e /a && test -e /b" } }
    - { name: d, shell: "echo '{{ v }}'" }
    - { name: e, shell: "echo \\"{{ v }}\\"" }
    - { name: f, command: "echo {{ v }} > /etc/x" }
    - { name: ok1, command: "grep -q 'a b' /etc/x" }
    - { name: ok2, shell: "grep -q x /etc/x || echo {{ v }} >> /etc/x" }
`);
  assert.equal(errs.length, 6, errs.join("\n"));
  assert.match(errs[0]!, /^pb\.yml:5:27: error LVS760: command: "\|" is shell syntax \(at character 12 of "cat \/etc\/x \| grep y"\), and no shell runs here/);
  assert.match(errs[1]!, /^pb\.yml:6:34: error LVS760: command: "\$" is shell syntax \(at character 6 of "echo \$HOME"\)/);
  assert.match(errs[2]!, /^pb\.yml:7:48: error LVS760: command: "&" is shell syntax/);
  assert.match(errs[3]!, /^pb\.yml:8:25: error LVS760: shell: a \{\{ \}\} value inside single quotes/);
  assert.match(errs[4]!, /^pb\.yml:9:25: error LVS760: shell: a \{\{ \}\} value inside double quotes/);
  assert.match(errs[5]!, /^pb\.yml:10:27: error LVS760: command: ">" is shell syntax/);
});

test("unless: quoted like the command; under --check no guard runs and the task says it may change", async () => {
  const yaml = `
- name: p
  hosts: realservers
  vars: { f: "/etc/x; reboot" }
  tasks:
    - { name: g, command: { cmd: [make, install], unless: "test -e {{ f }}" } }
`;
  const real = await run(yaml);
  assert.match(real.sim.factScripts[0]!, /^\( test -e '\/etc\/x; reboot' \) <\/dev\/null >\/dev\/null 2>&1; echo 0 "\$\?"$/m);
  assert.equal(real.results[0]!.status, "changed");
  assert.match(real.results[0]!.reason, /unless: `test -e '\/etc\/x; reboot'` failed/);

  const check = await run(yaml, { check: true });
  assert.doesNotMatch(check.sim.factScripts[0]!, /test -e|m guards/, "--check sends no guard");
  assert.deepEqual(check.execs, [], "--check runs nothing but the facts");
  assert.equal(check.results[0]!.status, "changed");
  assert.match(check.results[0]!.reason, /would run unless `test -e '\/etc\/x; reboot'` succeeds \(--check does not run guards\)/);
});

test("unless: a guard cannot use a value from the facts (it runs with them)", async () => {
  const { results } = await run(`
- name: p
  hosts: realservers
  tasks:
    - { name: g, command: { cmd: [ip, link, show], unless: "test -e /sys/class/net/{{ director_iface }}" } }
`);
  assert.equal(results[0]!.status, "failed");
  assert.match(results[0]!.reason, /^pb\.yml:5:\d+: .*was not run with the facts/);
});

test("package names that would be options are refused at load and at plan; -- comes before the names", async () => {
  const errs = loadErrors(`
- name: p
  hosts: all
  tasks:
    - { name: a, package: "-oAPT::Get::AllowUnauthenticated=1" }
    - { name: b, package: { name: [ipvsadm, "--reinstall"] } }
`);
  assert.equal(errs.length, 2, errs.join("\n"));
  assert.match(errs[0]!, /^pb\.yml:5:27: error LVS108: .*package: package name "-oAPT::Get::AllowUnauthenticated=1" starts with -/);
  assert.match(errs[1]!, /^pb\.yml:6:45: error LVS108: .*package\.name\[1\]: package name "--reinstall" starts with -/);
  // through a variable: the task fails at its location, and nothing reaches the host
  const { results, execs, sim } = await run(`
- name: p
  hosts: realservers
  vars: { pkgs: [ipvsadm, "-oDpkg::Pre-Invoke::=touch /tmp/x"] }
  tasks:
    - { name: a, package: "{{ pkgs }}" }
`);
  assert.equal(results[0]!.status, "failed");
  assert.match(results[0]!.reason, /^pb\.yml:6:\d+: .*package name "-oDpkg::Pre-Invoke::=touch \/tmp\/x" starts with -/);
  assert.doesNotMatch(sim.factScripts[0]!, /Pre-Invoke/, "the bad name is not even asked about");
  assert.deepEqual(execs, [], "nothing ran");
});

test("sysctl keys by pattern: // and .. never reach a /proc/sys path", async () => {
  const errs = loadErrors(`
- name: p
  hosts: all
  tasks:
    - { name: a, sysctl: { values: { "kernel.//.//.//.etc.shadow": 1 } } }
    - { name: b, sysctl: { values: { "-p": 1, "net..x": 2, "net.ipv4.conf.eth0/100.arp_ignore": 1 } } }
`);
  assert.equal(errs.length, 3, errs.join("\n"));
  assert.match(errs[0]!, /^pb\.yml:5:\d+: error LVS108: .*"\/\/" would name \.\. in the \/proc\/sys path/);
  assert.match(errs[1]!, /cannot start with -/);
  assert.match(errs[2]!, /empty name between two dots/);
  const { results, sim } = await run(`
- name: p
  hosts: realservers
  vars: { k: "//" }
  tasks:
    - { name: a, sysctl: { values: { "kernel.{{ k }}.{{ k }}.{{ k }}.etc.shadow": 1 }, file: /etc/sysctl.d/9.conf } }
`);
  assert.equal(results[0]!.status, "failed");
  assert.match(results[0]!.reason, /would name \.\. in the \/proc\/sys path/);
  assert.doesNotMatch(sim.factScripts[0]!, /\.\.|shadow/, "no path outside /proc/sys is read");
});

test("validate: a string is split into words, never run by a shell; a list is the argv", () => {
  const errs = loadErrors(`
- name: p
  hosts: all
  tasks:
    - { name: a, file: { path: /etc/a, content: x, validate: "visudo -cf %s; reboot" } }
    - { name: b, file: { path: /etc/b, content: x, validate: "visudo -cf" } }
    - { name: ok1, file: { path: /etc/c, content: x, validate: "visudo -cf %s" } }
    - { name: ok2, file: { path: /etc/d, content: x, validate: [sh, -c, 'test -s "$1"', sh, "%s"] } }
`);
  assert.equal(errs.length, 2, errs.join("\n"));
  assert.match(errs[0]!, /^pb\.yml:5:\d+: error LVS108: .*validate: ";" is shell syntax \(at character 14 of "visudo -cf %s; reboot"\); the validate command runs without a shell/);
  assert.match(errs[1]!, /needs the word %s/);
});
