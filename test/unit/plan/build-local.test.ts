// The build operation's shell steps run for real on this machine, in a temp directory: a tiny
// autotools-shaped tarball (./configure records its options, make builds, make install copies
// them under --prefix). Proves the quoting and the order of the steps, that the stamp stops a
// second build, that other options build beside the first and flip the link, and that going back
// is a flip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync, lstatSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildPaths, planBuild, STAMP_FILE, type BuildDesired } from "../../../src/plan/ops/build.js";
import { renderCommand } from "../../../src/ssh/types.js";
import { baseFacts } from "../../fixtures/plan/facts.js";

/** Facts for the build as the fact script would read them here: the stamps and the link. */
function localFacts(d: BuildDesired) {
  const p = buildPaths(d);
  const contents: Record<string, Buffer> = {};
  for (const f of [p.stamp, `${p.link}/${STAMP_FILE}`]) if (existsSync(f)) contents[f] = readFileSync(f);
  let target: string | undefined;
  try {
    target = lstatSync(p.link).isSymbolicLink() ? readlinkSync(p.link) : undefined;
  } catch {
    target = undefined;
  }
  return baseFacts({ contents, symlinks: target !== undefined ? { [p.link]: target } : {}, exists: existsSync(p.link) || target !== undefined ? [p.link] : [] });
}

/** Run a plan's steps for real on this machine; returns the describe of each step run. */
function apply(d: BuildDesired): string[] {
  const plan = planBuild(localFacts(d), d);
  for (const s of plan.steps) {
    if (s.kind === "put") {
      mkdirSync(dirname(s.path), { recursive: true });
      writeFileSync(s.path, s.content);
      continue;
    }
    const r = "argv" in s.cmd ? spawnSync(s.cmd.argv[0]!, s.cmd.argv.slice(1), { encoding: "utf8" }) : spawnSync("sh", ["-c", renderCommand(s.cmd)], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `${s.describe}: ${r.stderr}`);
  }
  return plan.steps.map((s) => s.describe);
}

test("build: unpack, configure into a versioned directory, make, make install, stamp, flip the link; then nothing; other options beside; back is a flip; a third build removes all but it and the one before", (t) => {
  for (const tool of ["make", "tar"]) if (spawnSync(tool, ["--version"]).status !== 0) return t.skip(`needs ${tool}`);
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-build-"));
  try {
    // The source tree, packed the way release tarballs are (one top folder).
    const src = join(dir, "pkg", "demo-1.0");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "configure"), `#!/bin/sh\nprintf '%s\\n' "$@" > configure.args\nfor a in "$@"; do case "$a" in --prefix=*) echo "PREFIX=\${a#--prefix=}" > config.mk;; esac; done\n`);
    chmodSync(join(src, "configure"), 0o755);
    writeFileSync(join(src, "Makefile"), "include config.mk\nall:\n\techo built > demo.bin\ninstall: all\n\tmkdir -p \"$(PREFIX)/bin\" && cp configure.args \"$(PREFIX)/bin/demo\"\n");
    const tarball = join(dir, "demo-1.0.tar.gz");
    assert.equal(spawnSync("tar", ["-czf", tarball, "-C", join(dir, "pkg"), "demo-1.0"]).status, 0);

    const a: BuildDesired = {
      name: "demo",
      version: "1.0",
      tarball: readFileSync(tarball),
      prefix: join(dir, "prefix with space"),
      sysconfdir: join(dir, "etc"),
      configureOptions: ["--with-thing=a b", "--disable-x"],
      workdir: join(dir, "work"),
    };
    const pa = buildPaths(a);
    const ran = apply(a);
    assert.ok(ran.includes("make install"));
    // The binary through the link is the one built with a's options.
    assert.deepEqual(readFileSync(join(pa.link, "bin", "demo"), "utf8").trim().split("\n"), [`--prefix=${pa.dir}`, `--sysconfdir=${a.sysconfdir}`, "--with-thing=a b", "--disable-x"]);
    assert.equal(readlinkSync(pa.link), pa.dirName);
    assert.equal(JSON.parse(readFileSync(pa.stamp, "utf8")).key, pa.dirName.slice(-12));
    assert.equal(planBuild(localFacts(a), a).status, "ok", "a second run builds nothing");

    // Another option: a second directory beside the first, the link flips to it.
    const b: BuildDesired = { ...a, configureOptions: ["--disable-x"] };
    const pb = buildPaths(b);
    assert.ok(apply(b).includes("make install"));
    assert.ok(existsSync(pa.stamp) && existsSync(pb.stamp), "both builds stay");
    assert.equal(readlinkSync(pb.link), pb.dirName);
    assert.match(readFileSync(join(pb.link, "bin", "demo"), "utf8"), /^--disable-x$/m);
    assert.doesNotMatch(readFileSync(join(pb.link, "bin", "demo"), "utf8"), /with-thing/);

    // Back to a's options: a flip, no build; b stays (the build active before).
    assert.deepEqual(apply(a), [`ln -sfn ${pa.dirName} ${pa.link}.lvsctl-tmp`, `make ${pa.dirName} the active build (${pa.link})`, `remove older demo builds than ${pa.dirName} and ${pb.dirName}`]);
    assert.equal(readlinkSync(pa.link), pa.dirName);
    assert.match(readFileSync(join(pa.link, "bin", "demo"), "utf8"), /with-thing=a b/);
    assert.equal(planBuild(localFacts(a), a).status, "ok");
    assert.ok(existsSync(pa.stamp) && existsSync(pb.stamp), "both builds stay");

    // A third build: it and a (active before it) stay, b is removed; a directory without lvsctl's
    // stamp and one of another name are left alone.
    mkdirSync(join(a.prefix, "demo-by-hand"), { recursive: true });
    mkdirSync(join(a.prefix, "other-1.0-abc"), { recursive: true });
    writeFileSync(join(a.prefix, "other-1.0-abc", STAMP_FILE), "{}");
    const c: BuildDesired = { ...a, configureOptions: ["--enable-y"] };
    const pc = buildPaths(c);
    const plan = planBuild(localFacts(c), c);
    assert.match(plan.reason, new RegExp(`; ${pa.dirName} stays as the rollback target, older builds are removed$`));
    assert.ok(apply(c).includes("make install"));
    assert.equal(readlinkSync(pc.link), pc.dirName);
    assert.ok(existsSync(pc.stamp) && existsSync(pa.stamp), "the active build and the one before it stay");
    assert.equal(existsSync(pb.dir), false, "the older build is removed");
    assert.ok(existsSync(join(a.prefix, "demo-by-hand")) && existsSync(join(a.prefix, "other-1.0-abc")), "what lvsctl did not build is left alone");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
