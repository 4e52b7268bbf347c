// lvsd_bundle: the daemon as built on the controller (scripts/build-lvsd.mjs: lvsd.cjs,
// lvsd-vrrp.cjs and the native addon lvsd_socket.node) kept in the director's install_dir, and
// the two things it needs there that an upload cannot give: a Node runtime new enough for the
// bundle, and the machine the addon was compiled for. A director needs no compiler, so the addon
// is never built there: a director of another architecture is refused, not half-installed.
import type { HostFacts } from "../facts.js";
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

export interface LvsdBundleDesired {
  /** install_dir. */
  dest: string;
  files: DirFile[];
  /** The runtime the unit starts lvsd with (director.lvsd.node). */
  node: string;
  /** The machine the addon is compiled for, in `uname -m` spelling (elfMachine). */
  arch: string;
}

/**
 * ELF e_machine values (the System V gABI, <elf.h> EM_*) -> the `uname -m` a Linux kernel of that
 * machine reports. 32-bit ARM and x86 kernels report several spellings: machineFamily folds them.
 */
const EM: Record<number, string> = { 3: "i686", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64", 22: "s390x", 21: "ppc64", 8: "mips" };

/** The machine a native binary is built for, from its ELF header; undefined when it is not ELF. Pure. */
export function elfMachine(binary: Buffer): string | undefined {
  if (binary.length < 20 || binary.readUInt32BE(0) !== 0x7f454c46) return undefined;
  // e_ident[EI_DATA]: 1 little-endian, 2 big-endian; e_machine is the half-word at offset 18.
  const le = binary[5] === 1;
  const m = le ? binary.readUInt16LE(18) : binary.readUInt16BE(18);
  const name = EM[m] ?? `ELF machine ${m}`;
  // ppc64 little-endian is what uname calls ppc64le.
  return name === "ppc64" && le ? "ppc64le" : name;
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
