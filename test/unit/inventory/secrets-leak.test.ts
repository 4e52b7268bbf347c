// Secrets and foreign files never come back in diagnostics: a secret of the wrong type is
// described by its type, a file that is not an inventory by place and reason, and the files an
// inventory names are read only when they are regular files of a bounded size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDiagnostic, loadInventory, parseInventory } from "../../../src/inventory/index.js";
import { BASE, lines } from "./helpers.js";

const all = (ds: { diagnostics: Parameters<typeof formatDiagnostic>[0][] }) => ds.diagnostics.map(formatDiagnostic).join("\n");

test("a secret of the wrong type says what type it got, never the value", () => {
  const y = `${BASE}vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    authentication: { auth_type: PASS, auth_pass: 87654321 }\n    virtual_ipaddress: [10.77.0.100/24]\n`;
  const got = lines(y).join("\n");
  assert.match(got, /auth_pass: must be a string, \{env: NAME\}, \{file: PATH\} or \{prompt: TEXT\}, got a number/);
  assert.doesNotMatch(got, /87654321/);
  const pw = lines(BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, password: 4242424242, become: { password: true } }")).join("\n");
  assert.doesNotMatch(pw, /4242424242/);
  assert.match(pw, /hosts\.ds1\.password: .*got a number/);
  assert.match(pw, /hosts\.ds1\.become(\.password)?: .*(got true or false|got a mapping)/);
  // Not a secret: the value is still shown, as it helps.
  assert.match(lines(BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, port: 99999 }")).join("\n"), /got 99999/);
});

const SHADOW = "root:$y$j9T$salt$hashhashhash:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\nbin:*:20228:0:99999:7:::\n";

test("ansible_inventory naming /etc/shadow (or passwd): one located error, none of its content", () => {
  for (const [name, text] of [["shadow", SHADOW], ["passwd", "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n"]] as const) {
    const r = parseInventory(`ansible_inventory: /etc/${name}\n`, "/inv/main.yml", { includes: { [`/etc/${name}`]: text } });
    const out = all(r);
    assert.equal(r.diagnostics.length, 1, out);
    assert.match(out, new RegExp(`^/etc/${name}:1:1: error LVS500: /etc/${name} does not read as an Ansible inventory: .*its content is not shown`));
    for (const line of text.trim().split("\n")) for (const word of line.split(":").filter((w) => w.length > 3)) assert.ok(!out.includes(word), `${word} leaked:\n${out}`);
  }
});

test("a key file or binary data named as the Ansible inventory is refused without content", () => {
  const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDC9lwMakxMbn5HG6C29Wx7vojOtPMUYazV1iW7WdGuwAAAJDeNYgC3jWI\n-----END OPENSSH PRIVATE KEY-----\n";
  const r = parseInventory("ansible_inventory: id_ed25519\n", "/inv/main.yml", { includes: { "/inv/id_ed25519": key } });
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]), [
    "/inv/id_ed25519:1:1: error LVS500: /inv/id_ed25519 is not an Ansible inventory: it holds a PEM block (a key or a certificate); its content is not shown",
  ]);
  const bin = parseInventory("ansible_inventory: ls\n", "/inv/main.yml", { includes: { "/inv/ls": "\u007fELF\u0002\u0001\u0001\u0000\u0000x" } });
  assert.match(all(bin), /is not an Ansible inventory: it holds binary data/);
  assert.doesNotMatch(all(bin), /ELF/);
});

test("INI lines that cannot be read are pointed at, not quoted (they may hold a password)", () => {
  const r = parseInventory("ansible_inventory: hosts\n", "/inv/main.yml", { includes: { "/inv/hosts": "[lb]\nlb1 ansible_password=one two\nlb2\n[lb:vars]\nsecretword\n" } });
  const out = all(r);
  assert.match(out, /\/inv\/hosts:2:26: error LVS500: expected a key=value host variable assignment here/);
  assert.match(out, /\/inv\/hosts:5:1: error LVS500: expected key=value/);
  assert.doesNotMatch(out, /two|secretword/);
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "lvsctl-leak-"));
}

const VI_FILE = (file: string) => `${BASE}vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    authentication: { auth_type: PASS, auth_pass: { file: ${file} } }\n    virtual_ipaddress: [10.77.0.100/24]\n`;

test("{file: /dev/zero} and {file: FIFO} secrets: a located error at validate, no read", async () => {
  const dir = tmp();
  execFileSync("mkfifo", [join(dir, "pipe")]);
  for (const [file, kind] of [["/dev/zero", "a character device"], ["pipe", "a named pipe \\(FIFO\\)"], [".", "a directory"]] as const) {
    writeFileSync(join(dir, "inv.yml"), VI_FILE(file));
    const r = await loadInventory(join(dir, "inv.yml"), { env: {} });
    assert.equal(r.ok, false);
    assert.match(all(r), new RegExp(`inv\\.yml:13:\\d+: error LVS217: auth_pass of VRRP instance VI_1 comes from file ${file.replace(".", "\\.")}, which cannot be a secret: it is ${kind}, not a regular file`));
  }
  writeFileSync(join(dir, "big"), Buffer.alloc(70 * 1024, 0x61));
  writeFileSync(join(dir, "inv.yml"), VI_FILE("big"));
  assert.match(all(await loadInventory(join(dir, "inv.yml"), { env: {} })), /LVS217: .*it is 71680 bytes, more than the 65536 lvsctl reads for a secret/);
});

test("an inventory or Ansible inventory that is a FIFO or a device: LVS110 with the reason, no hang", async () => {
  const dir = tmp();
  execFileSync("mkfifo", [join(dir, "pipe")]);
  assert.match(all(await loadInventory(join(dir, "pipe"), { env: {} })), /error LVS110: cannot read inventory .*pipe: it is a named pipe \(FIFO\), not a regular file/);
  assert.match(all(await loadInventory("/dev/zero", { env: {} })), /error LVS110: cannot read inventory \/dev\/zero: it is a character device, not a regular file/);
  writeFileSync(join(dir, "main.yml"), "ansible_inventory: pipe\n");
  assert.match(all(await loadInventory(join(dir, "main.yml"), { env: {} })), /main\.yml:1:20: error LVS110: cannot read the Ansible inventory .*pipe: it is a named pipe \(FIFO\), not a regular file/);
  writeFileSync(join(dir, "main.yml"), "ansible_inventory: /dev/zero\n");
  assert.match(all(await loadInventory(join(dir, "main.yml"), { env: {} })), /cannot read the Ansible inventory \/dev\/zero: it is a character device/);
});
