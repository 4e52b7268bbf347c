import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  checkHostKey,
  entryMatchesHost,
  fingerprintSha256,
  formatKnownHostsLine,
  globMatch,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
} from "../../../src/ssh/known-hosts.js";

const dir = fileURLToPath(new URL("../../fixtures/ssh/", import.meta.url));
const pub = (name: string) => {
  const [type, b64] = readFileSync(dir + name, "utf8").split(" ");
  return { type: type!, blob: Buffer.from(b64!, "base64") };
};
const A = pub("test-only-host-a-ed25519.pub");
const B = pub("test-only-host-b-ed25519.pub");
const E = pub("test-only-host-a-ecdsa.pub");
const R = pub("test-only-host-a-rsa.pub");
const plain = parseKnownHosts(readFileSync(dir + "known_hosts.plain", "utf8"), "known_hosts.plain");
const hashed = parseKnownHosts(readFileSync(dir + "known_hosts.hashed", "utf8"), "known_hosts.hashed");

test("fingerprints are formatted like ssh-keygen -l (values from ssh-keygen)", () => {
  assert.equal(fingerprintSha256(A.blob), "SHA256:3CYd4j+kAjvxgn1nrVJZLWCtb45Jfe1N82jycqj1IbM");
  assert.equal(fingerprintSha256(R.blob), "SHA256:0h2+zh16TGF6xi/JzDYFpPQTtxyzpOa6ISEU3tgWHT4");
  assert.equal(keyTypeOfBlob(E.blob), "ecdsa-sha2-nistp256");
});

test("parser reads entries, markers and reports bad lines without throwing", () => {
  assert.equal(plain.entries.length, 9);
  const revoked = plain.entries.find((e) => e.marker === "revoked");
  assert.equal(revoked?.line, 9);
  const broken = plain.problems.find((p) => p.line === 12);
  assert.ok(broken, "the broken line is a problem");
  assert.ok(plain.problems.some((p) => p.line === 11 && /cert-authority.*not supported/.test(p.message)));
  assert.equal(plain.entries[0]?.comment, "alpha");
  assert.equal(hashed.entries.length, 3);
  assert.equal(hashed.problems.length, 0);
});

test("parser rejects a key whose blob does not match the declared type", () => {
  const line = `h ssh-rsa ${A.blob.toString("base64")}\nh ssh-ed25519 !!notbase64\n|1|abc|def ssh-ed25519 ${A.blob.toString("base64")}`;
  const r = parseKnownHosts(line, "f");
  assert.equal(r.entries.length, 0);
  assert.deepEqual(r.problems.map((p) => p.line), [1, 2, 3]);
});

test("glob matching follows OpenSSH match_pattern", () => {
  assert.ok(globMatch("*.lab", "a.lab"));
  assert.ok(globMatch("node?.lab", "node1.lab"));
  assert.ok(!globMatch("node?.lab", "node10.lab"));
  assert.ok(globMatch("*", ""));
  assert.ok(globMatch("a*b*c", "axxbyyc"));
  assert.ok(!globMatch("a*b*c", "axxbyy"));
  assert.ok(globMatch("[10.0.0.*]:2222", "[10.0.0.7]:2222"));
});

test("plain, port and negated patterns", () => {
  assert.equal(checkHostKey(plain.entries, "alpha.lab", 22, A.type, A.blob).status, "match");
  assert.equal(checkHostKey(plain.entries, "10.1.0.1", 22, A.type, A.blob).status, "match");
  assert.equal(checkHostKey(plain.entries, "ALPHA.lab", 22, A.type, A.blob).status, "match", "case-insensitive");
  // [host]:port entries are separate from the port-22 entry
  assert.equal(checkHostKey(plain.entries, "alpha.lab", 2222, B.type, B.blob).status, "match");
  assert.equal(checkHostKey(plain.entries, "alpha.lab", 2223, B.type, B.blob).status, "unknown");
  assert.equal(checkHostKey(plain.entries, "www.web.lab", 22, A.type, A.blob).status, "match");
  // !db.web.lab vetoes the whole line
  assert.equal(checkHostKey(plain.entries, "db.web.lab", 22, A.type, A.blob).status, "unknown");
  assert.equal(checkHostKey(plain.entries, "node7.lab", 22, B.type, B.blob).status, "match");
});

test("a changed key reports every expected fingerprint with file:line and the offered one", () => {
  const r = checkHostKey(plain.entries, "alpha.lab", 22, B.type, B.blob);
  assert.deepEqual(r, {
    status: "changed",
    expected: [{ file: "known_hosts.plain", line: 2, fingerprint: fingerprintSha256(A.blob) }],
    offered: fingerprintSha256(B.blob),
  });
});

test("another key type is unknown, not changed, and says which types are known", () => {
  const r = checkHostKey(plain.entries, "alpha.lab", 22, E.type, E.blob);
  assert.equal(r.status, "unknown");
  assert.match(r.status === "unknown" ? r.notes.join() : "", /known with other key types \(ssh-ed25519\)/);
});

test("revoked keys are refused even when a plain line lists them", () => {
  const r = checkHostKey(plain.entries, "revoked.lab", 22, B.type, B.blob);
  assert.equal(r.status, "revoked");
});

test("@cert-authority lines never match and are explained", () => {
  const r = checkHostKey(plain.entries, "x.ca.lab", 22, A.type, A.blob);
  assert.equal(r.status, "unknown");
  assert.match(r.status === "unknown" ? r.notes.join() : "", /host certificates are not supported/);
});

test("hashed entries made by ssh-keygen -H match, including [host]:port", () => {
  assert.equal(checkHostKey(hashed.entries, "gamma.lab", 22, A.type, A.blob).status, "match");
  assert.equal(checkHostKey(hashed.entries, "gamma.lab", 2200, B.type, B.blob).status, "match");
  assert.equal(checkHostKey(hashed.entries, "10.1.0.9", 22, E.type, E.blob).status, "match");
  assert.equal(checkHostKey(hashed.entries, "gamma.lab", 2201, B.type, B.blob).status, "unknown");
  assert.equal(checkHostKey(hashed.entries, "gamma.lab", 22, B.type, B.blob).status, "changed");
  assert.ok(!entryMatchesHost(hashed.entries[0]!.hosts, "gamma.lab2"));
});

test("known key types restrict the host key algorithms offered", () => {
  const supported = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  assert.deepEqual(knownKeyTypes(plain.entries, "beta.lab", 22), ["ecdsa-sha2-nistp256", "ssh-rsa"]);
  assert.deepEqual(hostKeyAlgorithmsFor(["ecdsa-sha2-nistp256", "ssh-rsa"], supported), [
    "ecdsa-sha2-nistp256",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
  ]);
  assert.equal(hostKeyAlgorithmsFor(["sk-ssh-ed25519@openssh.com"], supported), undefined);
  assert.equal(hostKeyAlgorithmsFor([], supported), undefined);
});

test("accept-new lines use [host]:port off port 22 and parse back to a match", () => {
  assert.equal(knownHostName("h", 22), "h");
  assert.equal(knownHostName("10.0.0.1", 2222), "[10.0.0.1]:2222");
  const line = formatKnownHostsLine("10.0.0.1", 2222, A.blob);
  assert.equal(line, `[10.0.0.1]:2222 ssh-ed25519 ${A.blob.toString("base64")}`);
  const back = parseKnownHosts(line + "\n", "new");
  assert.equal(checkHostKey(back.entries, "10.0.0.1", 2222, A.type, A.blob).status, "match");
});
