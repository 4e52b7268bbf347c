// build from source (keepalived): unpack the release tarball, ./configure with the given options
// (always --prefix and --sysconfdir), make -j$(nproc), make install. Keyed by a stamp file holding
// sha256(version + options + tarball sha256): nothing is rebuilt while those stay the same, and a
// build that failed half-way leaves no stamp, so the next run builds again.
import type { HostFacts } from "../facts.js";
import { sh } from "../../command/index.js";
import { parentDir, sha256 } from "./file.js";
import { change, ok, shellStep, type OpPlan, type Operation, type Step } from "./types.js";

export interface BuildDesired {
  /** Short name used for the work directory and the stamp, e.g. "keepalived". */
  name: string;
  version: string;
  /** The tarball's bytes (read on the controller before planning). */
  tarball: Buffer;
  prefix: string;
  sysconfdir: string;
  configureOptions: string[];
  /** Default /usr/local/src/lvsctl-<name>. */
  workdir?: string;
  /** Default /var/lib/lvsctl/build-<name>.stamp. */
  stamp?: string;
}

export function buildKey(d: BuildDesired): string {
  return sha256(JSON.stringify({ version: d.version, prefix: d.prefix, sysconfdir: d.sysconfdir, options: d.configureOptions, tarball: sha256(d.tarball) }));
}

const paths = (d: BuildDesired) => ({
  workdir: d.workdir ?? `/usr/local/src/lvsctl-${d.name}`,
  stamp: d.stamp ?? `/var/lib/lvsctl/build-${d.name}.stamp`,
});

/** The configure flags, --prefix and --sysconfdir first, as the tarball's INSTALL describes. */
export function configureArgs(d: BuildDesired): string[] {
  return [`--prefix=${d.prefix}`, `--sysconfdir=${d.sysconfdir}`, ...d.configureOptions];
}

export function planBuild(facts: HostFacts, d: BuildDesired): OpPlan {
  const { workdir, stamp } = paths(d);
  const key = buildKey(d);
  const have = facts.contents[stamp]?.toString("utf8").trim();
  if (have === key) return ok(`${d.name} ${d.version} already built with these options`);
  const src = `${workdir}/src`;
  const tar = `${workdir}/${d.name}-${d.version}.tar`;
  const stampDir = parentDir(stamp);
  const steps: Step[] = [
    shellStep(sh`mkdir -p ${workdir} ${stampDir} && rm -f ${stamp}`, `prepare ${workdir}`),
    { kind: "put", path: tar, content: d.tarball, mode: 0o644, describe: `upload the ${d.name} ${d.version} tarball` },
    // GNU tar detects the compression (gz, xz, bz2) itself.
    shellStep(sh`rm -rf ${src} && mkdir -p ${src} && tar -xf ${tar} -C ${src} --strip-components=1`, "unpack"),
    shellStep(sh`cd ${src} && ./configure ${configureArgs(d)}`, `./configure ${configureArgs(d).join(" ")}`, { timeoutMs: 20 * 60_000 }),
    shellStep(sh`cd ${src} && make -j"$(nproc)"`, "make -j$(nproc)", { timeoutMs: 60 * 60_000 }),
    shellStep(sh`cd ${src} && make install`, "make install", { timeoutMs: 20 * 60_000 }),
    { kind: "put", path: stamp, content: key + "\n", mode: 0o644, describe: `stamp ${stamp}` },
  ];
  return change(have === undefined ? "not built by lvsctl yet" : "version, options or tarball changed", steps);
}

export const buildOp: Operation<BuildDesired> = {
  name: "build",
  needs: (d) => ({ contents: [paths(d).stamp] }),
  plan: planBuild,
};
