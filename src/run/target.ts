// From an inventory host to what the SSH connector needs. Secrets are resolved here, at the last
// moment, through the caller's resolver (which also remembers them for masking output).
import type { ResolvedHost } from "../inventory/model.js";
import type { SecretRef } from "../inventory/schema.js";
import { Secret } from "../errors/index.js";
import type { ConnectTarget } from "../ssh/types.js";

export type ResolveSecret = (ref: SecretRef) => string;

export function connectTarget(host: ResolvedHost, resolveSecret: ResolveSecret): ConnectTarget {
  const t: ConnectTarget = {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    jump: host.jump.map((j) => ({
      name: j.name,
      address: j.address,
      port: j.port,
      user: j.user,
      connectTimeoutMs: host.connectTimeoutSec * 1000,
      ...(j.keyFile ? { keyFile: j.keyFile } : {}),
      ...(j.agent ? { agent: j.agent } : {}),
      ...(j.password !== undefined ? { password: new Secret(resolveSecret(j.password)) } : {}),
    })),
    connectTimeoutMs: host.connectTimeoutSec * 1000,
  };
  if (host.keyFile) t.keyFile = host.keyFile;
  if (host.agent) t.agent = host.agent;
  if (host.password !== undefined) t.password = new Secret(resolveSecret(host.password));
  if (host.become) t.become = { user: host.become.user, ...(host.become.password !== undefined ? { password: new Secret(resolveSecret(host.become.password)) } : {}) };
  return t;
}

/** Commands need sudo when the host says `become`, and the login user is not already root. */
export function needsBecome(host: ResolvedHost): boolean {
  return host.become !== undefined && !(host.user === "root" && host.become.user === "root");
}
