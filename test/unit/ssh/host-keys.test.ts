import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultKnownHostsFiles, loadKnownHosts, recordHostKey } from "../../../src/ssh/host-keys.js";
import { checkHostKey } from "../../../src/ssh/known-hosts.js";

const fixtures = fileURLToPath(new URL("../../fixtures/ssh/", import.meta.url));
const blob = (name: string) => Buffer.from(readFileSync(fixtures + name, "utf8").split(" ")[1]!, "base64");

test("default files are the user's (written) then the global one", () => {
  assert.deepEqual(defaultKnownHostsFiles("/home/u"), ["/home/u/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]);
});

test("recording creates dir 0700 and file 0600, appends after a line without newline, reports file:line", () => {
  const home = mkdtempSync(join(tmpdir(), "lvsctl-kh-"));
  try {
    const file = join(home, ".ssh", "known_hosts");
    const a = blob("test-only-host-a-ed25519.pub");
    const e1 = recordHostKey(file, "10.0.0.1", 2222, a);
    assert.equal(e1.line, 1);
    assert.equal(statSync(join(home, ".ssh")).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeFileSync(file, readFileSync(file, "utf8") + "# no newline at end");
    const e2 = recordHostKey(file, "h2", 22, blob("test-only-host-b-ed25519.pub"));
    assert.equal(e2.line, 3);
    const db = loadKnownHosts([file, join(home, "missing")]);
    assert.equal(db.problems.length, 0);
    assert.equal(checkHostKey(db.entries, "10.0.0.1", 2222, "ssh-ed25519", a).status, "match");
    const lines = readFileSync(file, "utf8").split("\n");
    assert.match(lines[0]!, /^\[10\.0\.0\.1\]:2222 ssh-ed25519 /);
    assert.match(lines[2]!, /^h2 ssh-ed25519 /);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
