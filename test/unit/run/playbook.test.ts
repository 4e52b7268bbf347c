import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDiagnostic } from "../../../src/inventory/diagnostic.js";
import { builtinPlaybookPath } from "../../../src/run/bootstrap.js";
import { loadPlaybook, parsePlaybook } from "../../../src/run/playbook.js";

const errors = (yaml: string) => parsePlaybook(yaml, "pb.yml").diagnostics.map(formatDiagnostic);

test("the bootstrap playbook loads", () => {
  const pb = loadPlaybook(builtinPlaybookPath("bootstrap"));
  assert.equal(pb.plays[0]!.hosts[0], "realservers");
  assert.deepEqual(pb.plays[0]!.tasks.map((t) => t.op), ["sysctl", "address", "tunnel", "default_route"]);
});

test("a valid playbook: shorthands, serial list, handlers", () => {
  const r = parsePlaybook(
    `
- name: p
  hosts: realservers
  serial: [1, "50%"]
  max_fail_percentage: 10
  tasks:
    - { name: pkg, package: ipvsadm, tags: x, notify: h }
    - { name: cmd, command: "systemctl is-active x", when: "role == 'a'" }
  handlers:
    - { name: h, service: { name: x, state: restarted } }
`,
    "pb.yml",
  );
  assert.ok(r.playbook, r.diagnostics.map(formatDiagnostic).join("\n"));
  const play = r.playbook.plays[0]!;
  assert.deepEqual(play.serial, [1, "50%"]);
  assert.deepEqual(play.tasks[0]!.tags, ["x"]);
  assert.deepEqual(play.tasks[0]!.notify, ["h"]);
  assert.equal(play.tasks[1]!.location?.line, 8);
});

test("errors are located at file:line:col: unknown key, bad argument, two operations, unknown handler, bad when", () => {
  const e = errors(`
- name: p
  hosts: all
  tasks:
    - name: a
      sysctl: { values: { x: 1 }, fil: /etc/x }
    - name: b
      file: { path: relative, content: x }
    - name: c
      package: x
      command: y
    - name: d
      command: y
      notify: nobody
    - name: e
      command: y
      when: "role = 1"
  serail: 2
`);
  const text = e.join("\n");
  assert.match(text, /pb\.yml:6:35: error LVS103: unknown key "fil"/);
  assert.match(text, /pb\.yml:8:21: error LVS\d+: .*path.*absolute/);
  assert.match(text, /pb\.yml:9:\d+: error LVS751: .*several operations \(package, command\)/);
  assert.match(text, /pb\.yml:14:\d+: error LVS753: task "d" notifies "nobody"/);
  assert.match(text, /pb\.yml:17:\d+: error LVS752: when: unexpected "="/);
  assert.match(text, /pb\.yml:18:3: error LVS103: unknown key "serail".*\n\s+hint: did you mean "serial"\?/);
});

test("YAML syntax errors and duplicate keys are located", () => {
  assert.match(errors("- name: p\n  name: q\n  hosts: all\n").join("\n"), /pb\.yml:2:3: error LVS101: duplicate key/);
  assert.match(errors("- name: [p\n").join("\n"), /pb\.yml:\d+:\d+: error LVS100/);
});

test("templated arguments are checked per host, not at load", () => {
  const r = parsePlaybook(`- { name: p, hosts: all, tasks: [ { name: a, address: { unit: x.service, addresses: "{{ rs_vips }}" } } ] }`, "pb.yml");
  assert.ok(r.playbook);
});

test("two sysctl tasks of one play may not own the same file", () => {
  const text = errors(`
- name: p
  hosts: all
  tasks:
    - { name: a, sysctl: { values: { x.y: 1 }, file: /etc/sysctl.d/90-a.conf } }
    - { name: b, sysctl: { values: { x.z: 1 }, file: /etc/sysctl.d/90-a.conf } }
`).join("\n");
  assert.match(text, /pb\.yml:6:\d+: error LVS754: tasks\[1\] "b" writes \/etc\/sysctl\.d\/90-a\.conf, which tasks\[0\] already owns/);
});

test("render: on sysctl and address: the file's text comes from the renderer, so values / before are refused with it", () => {
  const text = errors(`
- name: p
  hosts: all
  tasks:
    - { name: a, sysctl: { values: { x.y: 1 }, render: realserver, file: /etc/sysctl.d/90-a.conf } }
    - { name: b, sysctl: { file: /etc/sysctl.d/90-b.conf } }
    - { name: c, address: { unit: x.service, addresses: [10.0.0.1], render: realserver, before: nginx.service } }
`).join("\n");
  assert.match(text, /pb\.yml:5:\d+: error LVS\d+: .*give exactly one of values or render/);
  assert.match(text, /pb\.yml:6:\d+: error LVS\d+: .*give exactly one of values or render/);
  assert.match(text, /pb\.yml:7:\d+: error LVS\d+: .*leave out before and description/);
  assert.ok(parsePlaybook(`- { name: p, hosts: all, tasks: [ { name: a, sysctl: { file: /etc/sysctl.d/9.conf, render: realserver } } ] }`, "pb.yml").playbook);
});
