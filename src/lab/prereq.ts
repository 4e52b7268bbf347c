// Why the lab cannot run here, if it cannot: for t.skip() messages that name what to install.
import { accessSync, constants } from "node:fs";

const TOOLS: readonly [binary: string, debianPackage: string][] = [
  ["systemd-nspawn", "systemd-container"],
  ["debootstrap", "debootstrap"],
  ["ssh", "openssh-client"],
  ["ssh-keygen", "openssh-client"],
  ["ip", "iproute2"],
  ["nsenter", "util-linux"],
  ["mount", "mount"],
];

function onPath(binary: string): boolean {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      accessSync(`${dir}/${binary}`, constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** undefined when the lab can run; otherwise the reason, naming the Debian package to install. */
export function labPrerequisites(): string | undefined {
  if (process.platform !== "linux") return "needs Linux (network namespaces, systemd-nspawn)";
  if (process.getuid?.() !== 0) return "needs root: the lab creates network namespaces, overlay mounts and systemd-nspawn containers";
  const missing = TOOLS.filter(([b]) => !onPath(b));
  if (missing.length > 0) return `needs ${missing.map(([b, p]) => `${b} (Debian package ${p})`).join(", ")}; see scripts/install-deps.sh`;
  return undefined;
}
