// Debian packages and source tarballs for lab hosts, fetched once on this machine and cached
// under the lab folder (`.lab/cache/`). The lab hosts have no route out of the lab, so whatever
// they install comes from a flat repository written onto their disk (writeFlatRepo).
//
// Binary packages: `apt-get install --download-only` run here against the lab base's OWN dpkg
// status, package lists and sources (never this machine's), so the set is exactly what a fresh
// lab host lacks, at the versions its lists name. Cached per base stamp and package list.
//
// Source: Debian's source package, through a `deb-src` entry for the mirror this machine's apt
// uses (mirror.ts) in a sources file and lists of its own (this machine's apt is left alone), then
// `apt-get source --download-only` (lab-facts.md: the .orig tarball arrives even when the Debian
// patch tarball does not). The tarball is checked against the sha256 its .dsc gives.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { findMirror } from "./mirror.js";
import { labDir, paths } from "./paths.js";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** apt options that keep a run away from this machine's own state and lock, as root without the _apt sandbox. */
const ISOLATED = ["-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "Dir::Etc::SourceParts=/nonexistent"];

function apt(args: string[], cwd?: string): { code: number | null; out: string } {
  const r = spawnSync("apt-get", args, { encoding: "utf8", ...(cwd ? { cwd } : {}), env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

const tail = (s: string) => s.trim().split("\n").slice(-4).join(" / ");

export interface CachedDebs {
  dir: string;
  /** File names of the .debs in `dir`. */
  files: string[];
}

/**
 * The .debs (with their dependencies, no recommends) that `packages` need on a fresh lab host,
 * downloaded once per base and package list into `.lab/cache/debs-KEY/`.
 */
export function baseMissingDebs(packages: string[]): CachedDebs {
  const base = paths.base();
  const key = sha256(JSON.stringify({ base: readFileSync(paths.baseStamp(), "utf8"), packages })).slice(0, 12);
  const dir = join(labDir(), "cache", `debs-${key}`);
  const stamp = join(dir, "complete.json");
  if (existsSync(stamp)) return { dir, files: (JSON.parse(readFileSync(stamp, "utf8")) as { files: string[] }).files };
  const work = join(labDir(), "cache", `debs-${key}.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "archives", "partial"), { recursive: true });
  mkdirSync(join(work, "cache"), { recursive: true });
  const r = apt([
    ...ISOLATED,
    "-o", `Dir::State::status=${join(base, "var/lib/dpkg/status")}`,
    "-o", `Dir::State::Lists=${join(base, "var/lib/apt/lists")}`,
    "-o", `Dir::Etc::SourceList=${join(base, "etc/apt/sources.list")}`,
    "-o", `Dir::Cache=${join(work, "cache")}`,
    "-o", `Dir::Cache::archives=${join(work, "archives")}`,
    "install", "--download-only", "-y", "-q", "--no-install-recommends", "--", ...packages,
  ]);
  if (r.code !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new LvsctlError("LAB_APT_DOWNLOAD", `lab: apt-get install --download-only ${packages.join(" ")} against the lab base failed (${r.code}): ${tail(r.out)}`, {
      hint: "this machine must reach the mirror the lab base was built from; the base's package lists may be too old for it: rebuild the base (scripts/lab.ts base)",
    });
  }
  const files = readdirSync(join(work, "archives")).filter((f) => f.endsWith(".deb")).sort();
  mkdirSync(dir, { recursive: true });
  for (const f of files) renameSync(join(work, "archives", f), join(dir, f));
  writeFileSync(stamp, JSON.stringify({ packages, files }, null, 2) + "\n");
  rmSync(work, { recursive: true, force: true });
  return { dir, files };
}

export interface SourceTarball {
  path: string;
  sha256: string;
  /** The upstream version (`2.2.7` of `keepalived_2.2.7.orig.tar.gz`). */
  version: string;
  /** Whether it was fetched just now. */
  fetched: boolean;
}

/** Pure: the sha256 a .dsc gives for a file (its Checksums-Sha256 field). */
export function dscSha256(dsc: string, file: string): string | undefined {
  const m = /^Checksums-Sha256:\s*\n((?:[ \t].*\n?)+)/m.exec(dsc);
  for (const line of m?.[1]?.split("\n") ?? []) {
    const [sum, , name] = line.trim().split(/\s+/);
    if (name === file && sum && /^[0-9a-f]{64}$/.test(sum)) return sum;
  }
  return undefined;
}

/** Debian's upstream tarball of a source package (`PKG_VERSION.orig.tar.*`), fetched once into `.lab/cache/source-PKG/`. */
export function debianSourceTarball(pkg: string, suite = "bookworm"): SourceTarball {
  const dir = join(labDir(), "cache", `source-${pkg}`);
  const find = (): SourceTarball | undefined => {
    if (!existsSync(dir)) return undefined;
    const files = readdirSync(dir);
    const dsc = files.find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".dsc"));
    const orig = files.find((f) => f.startsWith(`${pkg}_`) && /\.orig\.tar\.(gz|xz|bz2)$/.test(f));
    if (!dsc || !orig) return undefined;
    const want = dscSha256(readFileSync(join(dir, dsc), "utf8"), orig);
    const got = sha256(readFileSync(join(dir, orig)));
    if (want !== got) return undefined;
    return { path: join(dir, orig), sha256: got, version: orig.slice(pkg.length + 1).replace(/\.orig\.tar\.\w+$/, ""), fetched: false };
  };
  const cached = find();
  if (cached) return cached;

  const work = join(labDir(), "cache", `source-${pkg}.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  for (const d of ["lists/partial", "cache", "dl"]) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, "sources.list"), `deb-src ${findMirror(suite)} ${suite} main\n`);
  const opts = [...ISOLATED, "-o", `Dir::Etc::SourceList=${join(work, "sources.list")}`, "-o", `Dir::State::Lists=${join(work, "lists")}`, "-o", `Dir::Cache=${join(work, "cache")}`];
  try {
    const up = apt([...opts, "update", "-q"]);
    if (up.code !== 0) throw new Error(`apt-get update with a deb-src entry for ${suite} failed (${up.code}): ${tail(up.out)}`);
    // The exit code is not read: the Debian patch tarball may be missing on the mirror, the .orig is what counts.
    const src = apt([...opts, "source", "--download-only", "-q", pkg], join(work, "dl"));
    const got = readdirSync(join(work, "dl")).filter((f) => f.endsWith(".dsc") || /\.orig\.tar\.(gz|xz|bz2)$/.test(f));
    if (got.length < 2) throw new Error(`apt-get source --download-only ${pkg} gave no .dsc and .orig tarball (${src.code}): ${tail(src.out)}`);
    mkdirSync(dir, { recursive: true });
    for (const f of got) renameSync(join(work, "dl", f), join(dir, f));
  } catch (e) {
    throw new LvsctlError("LAB_APT_SOURCE", `lab: cannot fetch Debian's ${pkg} source: ${(e as Error).message}`, {
      hint: "this machine must reach its apt mirror (LVSLAB_MIRROR overrides it)",
      cause: e,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const fresh = find();
  if (!fresh) throw new LvsctlError("LAB_APT_SOURCE", `lab: Debian's ${pkg} .orig tarball does not match the sha256 its .dsc gives (in ${dir})`, { hint: `remove ${dir} and run again` });
  return { ...fresh, fetched: true };
}

/**
 * A flat repository (sources.list(5) "deb URI ./") at `repo` inside a host's tree `hostRoot`: the
 * .debs, their Packages stanzas and a Release naming Packages' SHA256. Returns the sources.list
 * line (trusted without a signature: it never leaves the lab).
 */
export function writeFlatRepo(hostRoot: string, repo: string, debs: CachedDebs): string {
  const out = join(hostRoot, repo);
  mkdirSync(out, { recursive: true, mode: 0o755 });
  let packages = "";
  for (const f of debs.files) {
    const data = readFileSync(join(debs.dir, f));
    const fields = spawnSync("dpkg-deb", ["-f", join(debs.dir, f)], { encoding: "utf8" });
    if (fields.status !== 0) throw new Error(`dpkg-deb -f ${f}: ${fields.stderr}`);
    // apt writes an epoch's colon as %3a in file names; a plain name serves just as well.
    const name = f.replace(/%3a/gi, "_");
    writeFileSync(join(out, name), data, { mode: 0o644 });
    packages += `${fields.stdout.trimEnd()}\nFilename: ./${name}\nSize: ${data.length}\nSHA256: ${sha256(data)}\n\n`;
  }
  writeFileSync(join(out, "Packages"), packages, { mode: 0o644 });
  writeFileSync(join(out, "Release"), `Origin: lvslab\nLabel: lvslab\nSuite: lvslab\nCodename: lvslab\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha256(packages)} ${Buffer.byteLength(packages)} Packages\n`, { mode: 0o644 });
  return `deb [trusted=yes] file:${repo} ./\n`;
}
