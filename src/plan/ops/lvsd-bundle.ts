// lvsd_bundle: the daemon as built on the controller (scripts/build-lvsd.mjs: lvsd.cjs,
// lvsd-vrrp.cjs and the native addon lvsd_socket.node) kept in the director's install_dir, and
// the two things it needs there that an upload cannot give: a Node runtime new enough for the
// bundle, and the machine the addon was compiled for. A director needs no compiler, so the addon
// is never built there: a director of another architecture is refused, not half-installed.
import type { HostFacts } from "../facts.js";
import { addonAbiVersion, elfMachine } from "./elf.js";
import { PlanError } from "./errors.js";
import { planUploadDir, uploadDirDest, type DirFile } from "./upload-dir.js";
import type { OpPlan, Operation, PlanContext } from "./types.js";

/** scripts/build-lvsd.mjs bundles for `target: "node18"` (Debian 12's packaged Node). */
export const LVSD_MIN_NODE_MAJOR = 18;
/** The default runtime: Debian's nodejs package (director.lvsd.node). */
export const DISTRO_NODE = "/usr/bin/node";
/** The files the bundle is made of; the addon sits beside the bundle and is loaded by path. */
export const LVSD_BUNDLE_FILES = ["lvsd.cjs", "lvsd-vrrp.cjs", "lvsd_socket.node"] as const;
export const LVSD_ADDON = "lvsd_socket.node";
/**
 * Written by scripts/build-lvsd.mjs beside the bundle: `{"addonAbiVersion": N}`, N the addon ABI
 * the bundled lvsd expects (src/daemon/native/abi.ts, the module the bundle is built from).
 */
export const LVSD_BUNDLE_MANIFEST = "lvsd-bundle.json";

export { elfMachine };

export interface BundleAbiProblem {
  message: string;
  hint: string;
}

/**
 * Pure: why the bundle's lvsd would refuse its addon (lvsd checks the addon's exported abiVersion
 * when it loads it, and exits; systemd starts it again at once, so a director would crash-loop
 * without its VIPs), or undefined when the two agree. `manifest` is lvsd-bundle.json's text
 * (undefined when missing), `addon` the file's bytes; `rebuild` says how to rebuild this bundle.
 * The addon's number comes from its ELF note, read without loading it (it may be another machine's).
 */
export function bundleAbiProblem(dir: string, manifest: string | undefined, addon: Buffer, rebuild: string): BundleAbiProblem | undefined {
  const file = `${dir}/${LVSD_ADDON}`;
  let expected: unknown;
  try {
    expected = manifest === undefined ? undefined : (JSON.parse(manifest) as { addonAbiVersion?: unknown }).addonAbiVersion;
  } catch {
    expected = undefined;
  }
  if (typeof expected !== "number") {
    return {
      message: `lvsd's bundle in ${dir} has ${manifest === undefined ? "no" : "an unreadable"} ${LVSD_BUNDLE_MANIFEST} (the addon ABI version its lvsd expects): it was built by an older scripts/build-lvsd.mjs, so whether its lvsd can load ${LVSD_ADDON} is unknown; one that cannot exits at start and crash-loops on the directors`,
      hint: rebuild,
    };
  }
  const found = addonAbiVersion(addon);
  if (found === undefined) {
    return {
      message: `${file} carries no ABI version note (it was built before the addon recorded one, or is not lvsd's addon); the bundle's lvsd expects ABI version ${expected}, and refuses an addon of another version at start, then crash-loops on the directors`,
      hint: rebuild,
    };
  }
  if (found !== expected) {
    return {
      message: `${file} has ABI version ${found}, and the bundle's lvsd expects ${expected}: lvsd would refuse to load it at start and crash-loop on every director (systemd restarts it at once), holding no VIP`,
      hint: rebuild,
    };
  }
  return undefined;
}

export interface LvsdBundleDesired {
  /** install_dir. */
  dest: string;
  files: DirFile[];
  /** The runtime the unit starts lvsd with (director.lvsd.node). */
  node: string;
  /** The machine the addon is compiled for, in `uname -m` spelling (elfMachine). */
  arch: string;
}

/** `uname -m` spellings of one machine family as one word: i386..i686 -> i686, armv6l/armv7l -> arm. */
export function machineFamily(uname: string): string {
  if (/^i[3-6]86$/.test(uname)) return "i686";
  if (/^arm(v\d+\w*)?$/.test(uname)) return "arm";
  return uname;
}

/** "18.19.0" -> 18; undefined when it is not a version. */
function major(version: string): number | undefined {
  const m = /^(\d+)\./.exec(version);
  return m ? Number(m[1]) : undefined;
}

export function planLvsdBundle(facts: HostFacts, d: LvsdBundleDesired, ctx: PlanContext): OpPlan {
  const warnings: string[] = [];
  if (facts.arch !== undefined && machineFamily(facts.arch) !== machineFamily(d.arch)) {
    throw new PlanError(
      `lvsd's native addon (${LVSD_ADDON}) is built for ${d.arch} on this controller, but this director is ${facts.arch}: it cannot load it`,
      `run deploy from a ${facts.arch} controller (the addon is compiled where deploy runs, with \`npm run build:native\`; directors need no compiler), or use backend keepalived on this director`,
    );
  }
  const version = facts.nodes?.[d.node];
  const hint = `set director.lvsd.node to a Node ${LVSD_MIN_NODE_MAJOR} or newer on the directors (for example a release unpacked under /opt), or upgrade the distribution's nodejs package`;
  if (version === undefined) {
    // Under --check the packages play has not installed nodejs yet: say so, do not fail.
    if (ctx.check && d.node === DISTRO_NODE) warnings.push(`no Node runtime at ${d.node} yet (the nodejs package is installed by the play before this one)`);
    else
      throw new PlanError(
        `lvsd needs a Node runtime at ${d.node} (director.lvsd.node), and \`${d.node} --version\` gave nothing there`,
        d.node === DISTRO_NODE ? `install the distribution's nodejs package (deploy does so in its first director play), or ${hint}` : `install Node ${LVSD_MIN_NODE_MAJOR} or newer there, or point director.lvsd.node at the one the director has`,
      );
  } else {
    const m = major(version);
    if (m === undefined || m < LVSD_MIN_NODE_MAJOR) {
      throw new PlanError(`lvsd needs Node ${LVSD_MIN_NODE_MAJOR} or newer; ${d.node} on this director is ${version}`, hint);
    }
  }
  const p = planUploadDir(facts, { dest: d.dest, files: d.files, owner: "root", group: "root" });
  const runtime = version !== undefined ? `node ${version} at ${d.node}, ${facts.arch ?? "machine unknown"}` : "";
  const reason = [p.reason, runtime].filter(Boolean).join("; ");
  return { ...p, reason, ...(warnings.length ? { warnings: [...(p.warnings ?? []), ...warnings] } : {}) };
}

export const lvsdBundleOp: Operation<LvsdBundleDesired> = {
  name: "lvsd_bundle",
  needs: (d) => ({ manifests: [uploadDirDest(d.dest)], nodes: [d.node] }),
  plan: planLvsdBundle,
};
