// The build operation's shell steps run for real on this machine, in a temp directory: a tiny
// autotools-shaped tarball (./configure records its options, make builds, make install copies
// under --prefix). Proves the quoting and the order of the steps, then that the stamp stops a
// second build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planBuild, type BuildDesired } from "../../../src/plan/ops/build.js";
import { renderCommand } from "../../../src/ssh/types.js";
import { baseFacts } from "../../fixtures/plan/facts.js";

test("build: unpack, configure with the options, make, make install, stamp; then nothing to do", (t) => {
  for (const tool of ["make", "tar"]) if (spawnSync(tool, ["--version"]).status !== 0) return t.skip(`needs ${tool}`);
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-build-"));
  try {
    // The source tree, packed the way release tarballs are (one top folder).
    const src = join(dir, "pkg", "demo-1.0");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "configure"), `#!/bin/sh\nprintf '%s\\n' "$@" > configure.args\nfor a in "$@"; do case "$a" in --prefix=*) echo "PREFIX=\${a#--prefix=}" > config.mk;; esac; done\n`);
    chmodSync(join(src, "configure"), 0o755);
    writeFileSync(join(src, "Makefile"), "include config.mk\nall:\n\techo built > demo.bin\ninstall: all\n\tmkdir -p \"$(PREFIX)/bin\" && cp demo.bin \"$(PREFIX)/bin/demo\"\n");
    const tarball = join(dir, "demo-1.0.tar.gz");
    assert.equal(spawnSync("tar", ["-czf", tarball, "-C", join(dir, "pkg"), "demo-1.0"]).status, 0);

    const d: BuildDesired = {
      name: "demo",
      version: "1.0",
      tarball: readFileSync(tarball),
      prefix: join(dir, "prefix with space"),
      sysconfdir: join(dir, "etc"),
      configureOptions: ["--with-thing=a b", "--disable-x"],
      workdir: join(dir, "work"),
      stamp: join(dir, "state", "build-demo.stamp"),
    };
    const plan = planBuild(baseFacts(), d);
    assert.equal(plan.status, "change");
    for (const s of plan.steps) {
      if (s.kind === "put") {
        writeFileSync(s.path, s.content);
        continue;
      }
      const r = spawnSync("sh", ["-c", renderCommand(s.cmd)], { encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, `${s.describe}: ${r.stderr}`);
    }
    assert.equal(readFileSync(join(d.prefix, "bin", "demo"), "utf8"), "built\n");
    assert.deepEqual(readFileSync(join(d.workdir!, "src", "configure.args"), "utf8").trim().split("\n"), [
      `--prefix=${d.prefix}`,
      `--sysconfdir=${d.sysconfdir}`,
      "--with-thing=a b",
      "--disable-x",
    ]);
    assert.ok(existsSync(d.stamp!));
    const again = planBuild(baseFacts({ contents: { [d.stamp!]: readFileSync(d.stamp!) } }), d);
    assert.equal(again.status, "ok");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
