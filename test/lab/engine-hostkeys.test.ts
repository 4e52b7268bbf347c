// Host key verification end to end through the CLI on lab hosts: a host whose key changed is
// refused with the expected and the offered fingerprints shown while the other hosts finish; an
// unknown host fails without --accept-new-host-keys and is recorded with it (a copy of the lab's
// known_hosts, so the lab's own file stays intact).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { fingerprintSha256 } from "../../src/ssh/known-hosts.js";
import { CHANGED_ON_FRESH_HOST, countStatus, describeRun, ofType, runCli, tempDir, writeLabInventory } from "./helpers/index.js";

const why = labPrerequisites();

/** `TYPE -> SHA256:...` of known_hosts lines whose first field names `host`. */
function fingerprints(lines: string[], host: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const [names = "", type = "", b64 = ""] = l.trim().split(/\s+/);
    if (names.split(",").includes(host) && b64) out.set(type, fingerprintSha256(Buffer.from(b64, "base64")));
  }
  return out;
}

describe("engine: host keys", { skip: why ?? false, timeout: 240_000 }, () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    lab = await Lab.up({ hosts: ["d1", "r1", "r2", "r3"] });
    dir = tempDir("lvsctl-hostkeys-");
  });
  after(async () => {
    await lab?.down();
  });

  test("a changed host key stops that host with both fingerprints; the others finish", async () => {
    const known = join(dir, "known_hosts.mismatch");
    copyFileSync(lab.knownHostsFile, known);
    const inv = writeLabInventory(lab, { directors: ["d1"], realservers: ["r1", "r2", "r3"] });
    const oldFp = fingerprints(readFileSync(known, "utf8").split("\n"), "r2");
    const { knownHostsLines } = await lab.rekey("r2");
    const newFp = fingerprints(knownHostsLines, "r2");
    assert.ok(oldFp.size > 0 && newFp.size > 0);

    const r = await runCli(["bootstrap", inv, "--known-hosts", known, "--json"]);
    assert.notEqual(r.code, 0, "the exit code says something went wrong");
    assert.equal(r.code, 3, describeRun(r));
    const un = ofType(r.events, "host.unreachable");
    assert.deepEqual(un.map((e) => e.host), ["r2"], describeRun(r));
    const msg = un[0]!.error + " " + (un[0]!.hint ?? "");
    assert.match(msg, /HOST KEY CHANGED/);
    // The offered key is one of r2's new keys, the expected one the old key of the same type.
    const type = [...newFp.keys()].find((t) => msg.includes(newFp.get(t)!));
    assert.ok(type, `the offered fingerprint (one of ${[...newFp.values()].join(", ")}) is shown: ${msg}`);
    assert.ok(msg.includes(oldFp.get(type)!), `the expected fingerprint ${oldFp.get(type)} is shown: ${msg}`);
    assert.equal(readFileSync(known, "utf8"), readFileSync(lab.knownHostsFile, "utf8"), "the changed key was not recorded");
    for (const h of ["r1", "r3"]) {
      assert.equal(countStatus(r.events, h).changed, CHANGED_ON_FRESH_HOST.length, `${h} finished its work`);
      assert.equal(countStatus(r.events, h).failed, 0);
    }
    assert.equal(countStatus(r.events, "r2").changed + countStatus(r.events, "r2").ok, 0, "nothing ran on r2");

    // Even --accept-new-host-keys never accepts a changed key.
    const again = await runCli(["bootstrap", inv, "--known-hosts", known, "--json", "--accept-new-host-keys", "--limit", "r2"]);
    assert.equal(again.code, 3, describeRun(again));
    assert.match(ofType(again.events, "host.unreachable")[0]?.error ?? "", /HOST KEY CHANGED/);
  });

  test("an unknown host fails without --accept-new-host-keys and is recorded with it", async () => {
    const known = join(dir, "known_hosts.unknown");
    const r3 = lab.host("r3");
    const lines = readFileSync(lab.knownHostsFile, "utf8").split("\n").filter((l) => l.trim() !== "");
    const without = lines.filter((l) => !l.split(/\s+/)[0]!.split(",").includes(r3.address));
    assert.ok(without.length < lines.length, "r3 had entries to remove");
    writeFileSync(known, without.join("\n") + "\n");
    const inv = writeLabInventory(lab, { directors: ["d1"], realservers: ["r1", "r3"] });

    const refused = await runCli(["bootstrap", inv, "--known-hosts", known, "--json"]);
    assert.equal(refused.code, 3, describeRun(refused));
    const un = ofType(refused.events, "host.unreachable");
    assert.deepEqual(un.map((e) => e.host), ["r3"]);
    assert.match(un[0]!.error, /not in .*refusing to connect/);
    assert.equal(readFileSync(known, "utf8"), without.join("\n") + "\n", "nothing was recorded without the flag");

    const accepted = await runCli(["bootstrap", inv, "--known-hosts", known, "--json", "--accept-new-host-keys"]);
    assert.equal(accepted.code, 0, describeRun(accepted));
    const after = readFileSync(known, "utf8").split("\n").filter((l) => l.trim() !== "");
    const added = after.slice(without.length);
    assert.equal(added.length, 1, `one line recorded: ${added.join(" | ")}`);
    assert.equal(after.slice(0, without.length).join("\n"), without.join("\n"), "existing lines untouched");
    // The recorded key is one of r3's real keys (the lab's file lists them all).
    const real = fingerprints(lines, r3.address);
    const rec = added[0]!.trim().split(/\s+/);
    assert.equal(fingerprintSha256(Buffer.from(rec[2]!, "base64")), real.get(rec[1]!), `recorded key of type ${rec[1]} is r3's`);

    const third = await runCli(["bootstrap", inv, "--known-hosts", known, "--json"]);
    assert.equal(third.code, 0, `without the flag now that the key is known: ${describeRun(third)}`);
    assert.equal(countStatus(third.events).changed, 0, "and it converged");
  });
});
