// The fact script run by a real /bin/sh on this machine (read-only: it only reads /etc, /proc and
// asks `ip`), then parsed: proves the script and the parsers agree on real output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { factScript, mergeRequests, parseFacts } from "../../../src/plan/facts.js";
import { argv } from "../../../src/command/index.js";

test("the fact script runs under sh and parses (this machine)", (t) => {
  if (spawnSync("ip", ["-V"]).status !== 0) return t.skip("needs iproute2's ip command");
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-facts-"));
  try {
    writeFileSync(join(dir, "a file"), "hello\n");
    symlinkSync("a file", join(dir, "link"));
    const req = mergeRequests({
      sysctls: ["net.ipv4.conf.*.arp_ignore", "net.ipv4.ip_forward"],
      sha256: [join(dir, "a file"), join(dir, "missing")],
      stats: [join(dir, "a file")],
      contents: [join(dir, "a file")],
      symlinks: [join(dir, "link"), join(dir, "a file"), join(dir, "missing")],
      manifests: [dir],
      exists: [dir, join(dir, "missing")],
      routeTo: ["127.0.0.1"],
      guards: [argv("true"), argv("false")],
    });
    const r = spawnSync("sh", ["-c", factScript(req).shell], { encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const f = parseFacts(r.stdout, req);
    assert.notEqual(f.os.id, "");
    assert.ok(f.links.some((l) => l.name === "lo"));
    assert.ok(f.addresses.some((a) => a.dev === "lo"));
    assert.ok("net.ipv4.conf.lo.arp_ignore" in f.sysctls);
    assert.equal(f.sha256[join(dir, "a file")], "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    assert.equal(f.sha256[join(dir, "missing")], undefined);
    assert.equal(f.contents[join(dir, "a file")]!.toString(), "hello\n");
    assert.deepEqual(f.symlinks, { [join(dir, "link")]: "a file" }, "only symlinks, their target as written");
    assert.deepEqual(Object.keys(f.manifests[dir]!), ["a file"], "find -type f: the link is not a file");
    assert.deepEqual(f.exists, [dir]);
    assert.equal(f.routes["127.0.0.1"]!.type, "local");
    assert.deepEqual(f.guards, { true: 0, false: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
