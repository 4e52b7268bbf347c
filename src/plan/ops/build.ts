// build from source (keepalived): builds sit side by side, one directory per version and options,
// and a symlink names the active one (what the unit runs), so a rollback is a flip, not a rebuild.
//
//   <prefix>/<name>                        -> <name>-<version>-<key>   (the active build, relative)
//   <prefix>/<name>-<version>-<key>/       ./configure --prefix=<that directory> --sysconfdir=<sysconfdir>
//   <prefix>/<name>-<version>-<key>/.lvsctl-build   the stamp: what the directory was built from
//
// <key> is the first 12 hex digits of sha256(version, sysconfdir, configure options, tarball
// sha256): a change of any of those is a new directory. The stamp is written last, after `make
// install`: a build that failed half-way leaves no stamp, and the next run builds that directory
// again from scratch. A directory with its stamp is never built again; making it active is a flip
// of the symlink (`ln -sfn` to a temporary name, then `mv -T` over the link: rename(2) is atomic,
// so the link always names a complete build). After a flip, the builds kept are the new active one
// and the one active before it (the rollback target); older build directories of this name (those
// with a stamp: lvsctl's own) are removed. A build that is neither is only ever a flip away from
// being built again.
import type { HostFacts } from "../facts.js";
import { sh } from "../../command/index.js";
import { PlanError } from "./errors.js";
import { sha256 } from "./file.js";
import { change, execStep, ok, shellStep, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface BuildDesired {
  /** Short name for the link, the build directories and the work directory, e.g. "keepalived". */
  name: string;
  version: string;
  /**
   * The tarball's bytes (read on the controller before planning). Absent only under --check when
   * the controller has not fetched it yet: then `tarballSha256` (the inventory's) names the build,
   * and without it the plan can only say a build would follow the download.
   */
  tarball?: Buffer;
  tarballSha256?: string;
  /** The folder holding the builds and the active link (default /usr/local). */
  prefix: string;
  /** Shared by every build: the config stays where it is across builds. */
  sysconfdir: string;
  configureOptions: string[];
  /** Where the tarball is unpacked and built. Default /usr/local/src/lvsctl-<name>. */
  workdir?: string;
}

/** What a build directory was built from (the stamp's content, one JSON object). */
export interface BuildStamp {
  name: string;
  version: string;
  sysconfdir: string;
  configureOptions: string[];
  tarballSha256: string;
  key: string;
}

export const STAMP_FILE = ".lvsctl-build";

export function buildStamp(d: BuildDesired): BuildStamp {
  const tarballSha256 = d.tarball !== undefined ? sha256(d.tarball) : (d.tarballSha256 ?? "");
  const key = sha256(JSON.stringify({ version: d.version, sysconfdir: d.sysconfdir, options: d.configureOptions, tarball: tarballSha256 })).slice(0, 12);
  return { name: d.name, version: d.version, sysconfdir: d.sysconfdir, configureOptions: d.configureOptions, tarballSha256, key };
}

/** The key naming a build's directory (12 hex digits). */
export function buildKey(d: BuildDesired): string {
  return buildStamp(d).key;
}

const strip = (p: string) => p.replace(/\/+$/, "") || "/";

/** Where a build lives: its directory (by name and absolute), the active link, the stamp. */
export function buildPaths(d: BuildDesired): { dirName: string; dir: string; link: string; stamp: string; workdir: string } {
  const prefix = strip(d.prefix);
  const dirName = `${d.name}-${d.version}-${buildKey(d)}`;
  const dir = `${prefix === "/" ? "" : prefix}/${dirName}`;
  return { dirName, dir, link: `${prefix === "/" ? "" : prefix}/${d.name}`, stamp: `${dir}/${STAMP_FILE}`, workdir: d.workdir ?? `/usr/local/src/lvsctl-${d.name}` };
}

/** The active link of a build: the path the unit runs through (`<prefix>/<name>`). */
export function activeLink(prefix: string, name: string): string {
  const p = strip(prefix);
  return `${p === "/" ? "" : p}/${name}`;
}

/** The configure flags, --prefix (the build's own directory) and --sysconfdir first, as the tarball's INSTALL describes. */
export function configureArgs(d: BuildDesired): string[] {
  return [`--prefix=${buildPaths(d).dir}`, `--sysconfdir=${d.sysconfdir}`, ...d.configureOptions];
}

function parseStamp(b: Buffer | undefined): Partial<BuildStamp> | undefined {
  if (b === undefined) return undefined;
  try {
    const v = JSON.parse(b.toString("utf8")) as unknown;
    return v && typeof v === "object" ? (v as Partial<BuildStamp>) : {};
  } catch {
    return {};
  }
}

/** What differs between the active build's stamp and the wanted one, in words ("version 2.2.7 -> 2.2.8"). */
export function stampDiff(have: Partial<BuildStamp>, want: BuildStamp): string[] {
  const out: string[] = [];
  if (have.version !== want.version) out.push(`version ${have.version ?? "?"} -> ${want.version}`);
  if (JSON.stringify(have.configureOptions) !== JSON.stringify(want.configureOptions))
    out.push(`configure options [${(have.configureOptions ?? []).join(" ")}] -> [${want.configureOptions.join(" ")}]`);
  if (have.sysconfdir !== want.sysconfdir) out.push(`sysconfdir ${have.sysconfdir ?? "?"} -> ${want.sysconfdir}`);
  if (have.tarballSha256 !== want.tarballSha256) out.push(`tarball sha256 ${(have.tarballSha256 ?? "?").slice(0, 12)} -> ${want.tarballSha256.slice(0, 12)}`);
  return out;
}

/** The two steps that make `target` (a directory name beside the link) the active build, atomically. */
function flipSteps(link: string, target: string): Step[] {
  const tmp = `${link}.lvsctl-tmp`;
  return [execStep(["ln", "-sfn", target, tmp], `ln -sfn ${target} ${tmp}`), execStep(["mv", "-Tf", tmp, link], `make ${target} the active build (${link})`)];
}

/**
 * After a flip to `target`: remove the stamped build directories of this name other than `target`
 * and `previous` (the build active before it), printing each one removed.
 */
function pruneStep(prefix: string, name: string, target: string, previous: string | undefined): Step {
  const keep = previous !== undefined && previous !== target ? [target, previous] : [target];
  const dir = strip(prefix);
  // The glob is the shell's, the names compared are quoted words; only a directory holding
  // lvsctl's stamp is removed.
  return shellStep(
    sh`cd ${dir} && for d in ${name}-*/; do d=\${d%/}; keep=; for k in ${keep}; do [ "$d" = "$k" ] && keep=1; done; if [ -z "$keep" ] && [ -f "$d"/${STAMP_FILE} ]; then rm -rf -- "$d" && echo "removed $d"; fi; done; true`,
    `remove older ${name} builds than ${keep.join(" and ")}`,
  );
}

export function planBuild(facts: HostFacts, d: BuildDesired, ctx: Partial<PlanContext> = {}): OpPlan {
  if (d.tarball === undefined) {
    if (!ctx.check) throw new PlanError(`${d.name} ${d.version}: the tarball is not on the controller`, "deploy fetches it before planning; this is a bug if it happens outside --check");
    if (!d.tarballSha256)
      return change(`the ${d.name} tarball is not on this controller yet (--check downloads nothing): deploy fetches it, then builds ${d.name} ${d.version} in a directory named after its sha256 (give sha256: in the inventory to have --check tell whether that build exists)`, []);
  }
  const p = buildPaths(d);
  const want = buildStamp(d);
  const target = facts.symlinks[p.link];
  if (target === undefined && facts.exists.includes(p.link))
    throw new PlanError(
      `${p.link} exists and is not a symlink: lvsctl keeps the active ${d.name} build there as a symlink to a build directory beside it`,
      `move ${p.link} away (an install made by hand?) and run again, or set another director.keepalived.prefix`,
    );
  const active = target === p.dirName || target === p.dir;
  const built = parseStamp(facts.contents[p.stamp])?.key === want.key;
  const activeStamp = parseStamp(facts.contents[`${p.link}/${STAMP_FILE}`]);
  const was = target === undefined ? "no active build" : `active: ${target}`;
  const why = activeStamp && target !== undefined ? `${stampDiff(activeStamp, want).join(", ") || "same inputs"} (${was})` : was;
  if (built && active) return ok(`${d.name} ${d.version} built with these options and active (${p.dirName})`);
  // The build active now, by its directory's name (the link is relative; an absolute one is read too).
  const previous = target === undefined ? undefined : target.replace(/\/+$/, "").replace(/^.*\//, "");
  const prune = pruneStep(d.prefix, d.name, p.dirName, previous);
  const keeps = `; ${previous !== undefined && previous !== p.dirName ? `${previous} stays as the rollback target, ` : ""}older builds are removed`;
  if (built) return change(`${p.dirName} is built already: no rebuild, only the link flips; ${why}${keeps}`, [...flipSteps(p.link, p.dirName), prune]);

  const src = `${p.workdir}/src`;
  const tar = `${p.workdir}/${d.name}-${d.version}.tar`;
  const steps: Step[] = [
    // A directory without its stamp is a build that stopped half-way: start it again from nothing.
    shellStep(sh`rm -rf ${p.dir} && mkdir -p ${p.workdir}`, `prepare ${p.workdir}, clear ${p.dir}`),
    // No bytes only under --check, where nothing is uploaded.
    { kind: "put", path: tar, content: d.tarball ?? Buffer.alloc(0), mode: 0o644, describe: `upload the ${d.name} ${d.version} tarball` },
    // GNU tar detects the compression (gz, xz, bz2) itself.
    shellStep(sh`rm -rf ${src} && mkdir -p ${src} && tar -xf ${tar} -C ${src} --strip-components=1`, "unpack"),
    shellStep(sh`cd ${src} && ./configure ${configureArgs(d)}`, `./configure ${configureArgs(d).join(" ")}`, { timeoutMs: 20 * 60_000 }),
    shellStep(sh`cd ${src} && make -j"$(nproc)"`, "make -j$(nproc)", { timeoutMs: 60 * 60_000 }),
    shellStep(sh`cd ${src} && make install`, "make install", { timeoutMs: 20 * 60_000 }),
    { kind: "put", path: p.stamp, content: JSON.stringify(want) + "\n", mode: 0o644, describe: `stamp ${p.stamp}` },
    ...flipSteps(p.link, p.dirName),
    prune,
  ];
  const reason = `${facts.contents[p.stamp] !== undefined ? `${p.dirName} has a stamp of other inputs: building it again` : `building ${p.dirName}; ${why}`}${keeps}`;
  return change(reason, steps);
}

export const buildOp: Operation<BuildDesired> = {
  name: "build",
  needs: (d) => {
    const p = buildPaths(d);
    return { contents: [p.stamp, `${p.link}/${STAMP_FILE}`], symlinks: [p.link], exists: [p.link] };
  },
  plan: planBuild,
};
