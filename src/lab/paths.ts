// Where the lab keeps its files: `.lab/` under the project root (git-ignored).
//   .lab/base/            the debootstrapped Debian 12 tree (lowerdir of every overlay)
//   .lab/base.json        what the base was built with (its completion stamp)
//   .lab/keys/id_ed25519  the client key root, deploy and pwuser accept
//   .lab/run/slot-N.json  who owns lab slot N (pid, or persistent for the CLI)
//   .lab/sN/              one running lab: state.json, known_hosts, ssh_config, hosts/NAME/{upper,work,root}, logs/
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** The project root: this file lives in src/lab/ (run from source) or dist/src/lab/ (compiled). LVSLAB_DIR moves the working folder. */
export const projectRoot = ((): string => {
  const source = resolve(fileURLToPath(new URL("../..", import.meta.url)));
  return existsSync(join(source, "package.json")) ? source : resolve(source, "..");
})();

export function labDir(): string {
  return process.env.LVSLAB_DIR ? resolve(process.env.LVSLAB_DIR) : join(projectRoot, ".lab");
}

export const paths = {
  base: () => join(labDir(), "base"),
  baseStamp: () => join(labDir(), "base.json"),
  baseLock: () => join(labDir(), "base.lock"),
  baseLog: () => join(labDir(), "base-build.log"),
  keys: () => join(labDir(), "keys"),
  keyFile: () => join(labDir(), "keys", "id_ed25519"),
  run: () => join(labDir(), "run"),
  slotFile: (slot: number) => join(labDir(), "run", `slot-${slot}.json`),
  slotDir: (slot: number) => join(labDir(), `s${slot}`),
};
