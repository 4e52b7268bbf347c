// Importing hosts and groups from an Ansible YAML inventory: connection variables mapped, our own
// settings on top, and problems located in the Ansible file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { formatDiagnostic, loadInventory, parseInventory } from "../../../src/inventory/index.js";
import { importAnsible, parseSshArgs } from "../../../src/inventory/ansible.js";
import { expandHostRange, splitHostPort } from "../../../src/inventory/ansible-read.js";

const dir = fileURLToPath(new URL("../../fixtures/inventory/ansible/", import.meta.url));
const rel = (s: string) => s.split(dir).join("");

test("hosts, groups and connection variables come over; our settings win", async () => {
  const r = await loadInventory(`${dir}cluster.yml`, { env: { LB_SUDO: "pw" } });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  assert.ok(r.ok);
  const { hosts, groups } = r.cluster;
  assert.deepEqual(Object.keys(hosts), ["lb1", "lb2", "web1", "web2"]);
  assert.deepEqual(groups["directors"], ["lb1", "lb2"]);
  assert.deepEqual(groups["realservers"], ["web1", "web2"]);
  const lb1 = hosts["lb1"]!;
  assert.equal(lb1.address, "10.77.0.11");
  assert.equal(lb1.user, "deploy"); // all: vars
  assert.deepEqual(lb1.become, { method: "sudo", user: "root", password: { env: "LB_SUDO" } }); // lb: vars
  assert.deepEqual(lb1.vars, { ntp_server: "10.77.0.1" });
  assert.deepEqual(hosts["lb2"]!.jump, [{ name: "admin@10.77.0.1:2222", address: "10.77.0.1", port: 2222, user: "admin" }]);
  const web1 = hosts["web1"]!;
  assert.equal(web1.port, 2222); // "2222" in Ansible is a string
  assert.equal(web1.keyFile, "keys/web1");
  assert.equal(web1.connectTimeoutSec, 5); // our group ssh on top of the imported group
  assert.equal(web1.become, undefined);
  const web2 = hosts["web2"]!;
  assert.equal(web2.address, "10.77.0.23"); // ours over ansible_host
  assert.equal(web2.user, "www");
  assert.deepEqual(r.cluster.directors.map((d) => d.instances[0]!.priority), [150, 100]);
});

test("problems in the Ansible file are located in that file", async () => {
  const r = await loadInventory(`${dir}broken-cluster.yml`, { env: {} });
  assert.equal(r.ok, false);
  assert.deepEqual(r.diagnostics.map((d) => rel(formatDiagnostic(d).split("\n")[0]!)), [
    'broken.yml:7:25: error LVS102: hosts.lb1.port: expected a number, got the string "22x"',
    "broken.yml:8:29: warning LVS206: the SSH password at hosts.lb1 is written in clear in the inventory",
    "broken.yml:11:36: warning LVS502: ansible_ssh_common_args of lb2: -o StrictHostKeyChecking=no ignored; only ProxyJump (-J) is understood",
    "broken.yml:13:36: warning LVS501: ansible_become_password is a Jinja template, which lvsctl does not evaluate; it is not used for lb2 and the other hosts it applies to",
    // The range is expanded and the group's ansible_host applies to each host, as in Ansible.
    "broken.yml:18:23: warning LVS210: hosts web01 and web02 have the same address 10.77.0.20",
    "broken.yml:18:23: warning LVS210: hosts web01 and web03 have the same address 10.77.0.20",
    'broken.yml:19:7: warning LVS502: key "hostz" in Ansible group web is skipped, as Ansible skips it',
    'broken.yml:20:3: warning LVS502: key "lb" in Ansible group all is skipped, as Ansible skips it',
  ]);
});

test("a missing Ansible file is reported at ansible_inventory", () => {
  const r = parseInventory("ansible_inventory: nowhere.yml\n", "/inv/main.yml", { includes: { "/inv/nowhere.yml": { error: "no such file" } } });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), ["/inv/main.yml:1:20: error LVS110: cannot read the Ansible inventory /inv/nowhere.yml: no such file\n  hint: the path is relative to this inventory file"]);
});

test("pure parse with the Ansible text given; YAML errors in it are located there", () => {
  const r = parseInventory("ansible_inventory: a.yml\n", "/inv/main.yml", { includes: { "/inv/a.yml": "all:\n  hosts:\n    x: { ansible_host: 10.0.0.1\n" } });
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]), ["/inv/a.yml:4:1: error LVS100: Flow map in block collection must be sufficiently indented and end with a }"]);
});

test("a list where Ansible wants a mapping of hosts", () => {
  const r = parseInventory("ansible_inventory: a.yml\n", "/inv/main.yml", { includes: { "/inv/a.yml": "all:\n  hosts: [a, b]\n" } });
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]), ["/inv/a.yml:2:10: error LVS500: hosts of group all must be a mapping of host names (a list is not Ansible's YAML format)"]);
});

test("ssh arguments: ProxyJump forms", () => {
  assert.deepEqual(parseSshArgs("-o ProxyJump=a@b:2200"), { jump: ["a@b:2200"], ignored: [] });
  assert.deepEqual(parseSshArgs("-J bastion1,bastion2"), { jump: ["bastion1", "bastion2"], ignored: [] });
  assert.deepEqual(parseSshArgs(`-o "ProxyJump jump.example.net" -o ServerAliveInterval=5`), { jump: ["jump.example.net"], ignored: ["-o ServerAliveInterval=5"] });
  assert.deepEqual(parseSshArgs(`-o ProxyCommand="ssh -W %h:%p gw"`), { jump: [], ignored: ["-o ProxyCommand=ssh -W %h:%p gw"] });
});

test("a host without ansible_host is reached by its inventory name, as Ansible does", () => {
  const r = parseInventory("ansible_inventory: a.yml\n", "/inv/main.yml", { includes: { "/inv/a.yml": "all:\n  hosts:\n    10.77.0.9:\n    db.example.net: { ansible_user: pg }\n" } });
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join("\n"));
  assert.deepEqual(Object.values(r.cluster.hosts).map((h) => [h.name, h.address, h.user]), [["10.77.0.9", "10.77.0.9", "root"], ["db.example.net", "db.example.net", "pg"]]);
});

test("an INI inventory with ranges, ports and a group_vars folder, through loadInventory", async () => {
  const r = await loadInventory(`${dir}../ansible-ini/cluster.yml`, { env: {} });
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join("\n"));
  const h = r.cluster.hosts;
  assert.deepEqual(Object.keys(h), ["lb1", "lb2", "10.77.0.21", "10.77.0.22", "10.77.0.23"]);
  assert.deepEqual([h["lb1"]!.user, h["lb1"]!.become, h["10.77.0.22"]!.port, h["10.77.0.22"]!.become], ["deploy", { method: "sudo", user: "root" }, 2222, undefined]);
  assert.deepEqual(r.cluster.groups["web"], ["10.77.0.21", "10.77.0.22", "10.77.0.23"]);
});

test("INI problems are located on their line, in Ansible's words, without quoting the line", () => {
  const r = importAnsible("[lb]\nlb1 ansible_port=22x\n[x:vars]\na=1\n[web]\nw[b:a]\nw2 novalue\n[g:children]\nnope\n", "/i/hosts.ini");
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]), [
    "/i/hosts.ini:6:1: error LVS500: host pattern w[b:a]: host range must have begin <= end",
    "/i/hosts.ini:7:4: error LVS500: expected a key=value host variable assignment here (this word has no '='; it is not shown, as it may be part of a secret)",
    "/i/hosts.ini:3:1: error LVS500: section [x:vars] is for a group that is never defined",
    "/i/hosts.ini:9:1: error LVS500: section [g:children] includes the undefined group nope",
  ]);
  assert.deepEqual(r.at("hosts", "lb1", ["port"]), { file: "/i/hosts.ini", line: 2, col: 18 });
});

test("host ranges: numeric with padding, letters, strides, several in one name", () => {
  assert.deepEqual(expandHostRange("web[01:03]"), { hosts: ["web01", "web02", "web03"] });
  assert.deepEqual(expandHostRange("db-[a:c].x"), { hosts: ["db-a.x", "db-b.x", "db-c.x"] });
  assert.deepEqual(expandHostRange("n[0:10:5]"), { hosts: ["n0", "n5", "n10"] });
  assert.deepEqual(expandHostRange("r[1:2]c[a:b]"), { hosts: ["r1ca", "r1cb", "r2ca", "r2cb"] });
  assert.deepEqual(expandHostRange("w[01:3]"), { error: "host range must specify equal-length begin and end formats" });
  assert.deepEqual(splitHostPort("[2001:db8::1]:2201"), { host: "2001:db8::1", port: 2201 });
  assert.deepEqual(splitHostPort("2001:db8::1"), { host: "2001:db8::1" });
  assert.deepEqual(splitHostPort("web[01:03]:22"), { host: "web[01:03]", port: 22 });
  assert.deepEqual(splitHostPort("web[01:03]"), { host: "web[01:03]" });
});
