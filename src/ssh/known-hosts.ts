// OpenSSH known_hosts: a pure parser, matcher and verifier (no file or socket I/O here; see
// host-keys.ts for reading and appending files). Format and matching rules from sshd(8)
// "SSH_KNOWN_HOSTS FILE FORMAT" and OpenSSH's match.c / hostfile.c.
import { createHash, createHmac } from "node:crypto";

/** `*` and `?` globs, `!` negation; a hashed entry names exactly one host. */
export type HostPatterns =
  | { kind: "patterns"; patterns: { negated: boolean; glob: string }[] }
  | { kind: "hashed"; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  file: string;
  line: number; // 1-based
  /** sshd(8): `@cert-authority` or `@revoked`. */
  marker: "cert-authority" | "revoked" | undefined;
  hosts: HostPatterns;
  keyType: string;
  keyBlob: Buffer;
  comment: string | undefined;
}

export interface KnownHostsProblem {
  file: string;
  /** 1-based; 0 when the whole file could not be read. */
  line: number;
  /**
   * Why, in words that never quote the line beyond its key type: a known_hosts file may hold
   * anything (a pasted private key, a password), and problems are printed and sent as events.
   */
  message: string;
}

/** A key type as OpenSSH names them (ssh-ed25519, ecdsa-sha2-nistp256, sk-...@openssh.com): safe to show. */
function shownKeyType(t: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9@._+-]{0,63}$/.test(t) ? t : "the named";
}

/** `|1|` = HASH_MAGIC in OpenSSH hostfile.h: base64(salt)|base64(HMAC-SHA1(salt, host)). */
const HASH_MAGIC = "|1|";
/** SHA-1 output size; OpenSSH rejects hashed entries whose salt or hash is not 20 bytes. */
const SHA1_LEN = 20;

/**
 * Parse one known_hosts file. Lines that cannot be read are reported as problems, never thrown,
 * so one bad line does not hide the rest (OpenSSH skips them too).
 */
export function parseKnownHosts(text: string, file: string): { entries: KnownHostEntry[]; problems: KnownHostsProblem[] } {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").replace(/\r$/, "").trim();
    const line = i + 1;
    if (raw === "" || raw.startsWith("#")) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0]?.startsWith("@")) {
      const m = fields.shift();
      if (m === "@cert-authority") marker = "cert-authority";
      else if (m === "@revoked") marker = "revoked";
      else {
        problems.push({ file, line, message: "it starts with a marker other than @cert-authority or @revoked; the line is skipped" });
        continue;
      }
    }
    const [hostField, keyType, b64, ...rest] = fields;
    if (hostField === undefined || keyType === undefined || b64 === undefined) {
      problems.push({ file, line, message: "it is not `[@marker] hosts keytype base64-key [comment]` (too few fields); the line is skipped" });
      continue;
    }
    const keyBlob = decodeBase64Strict(b64);
    if (keyBlob === undefined || keyTypeOfBlob(keyBlob) !== keyType) {
      problems.push({ file, line, message: `its key is not valid base64 of a ${shownKeyType(keyType)} key; the line is skipped` });
      continue;
    }
    const hosts = parseHostField(hostField);
    if (typeof hosts === "string") {
      problems.push({ file, line, message: `${hosts}; the line is skipped` });
      continue;
    }
    if (marker === "cert-authority") {
      problems.push({
        file,
        line,
        message: "@cert-authority entries (host certificates) are not supported by lvsctl and are ignored",
      });
    }
    entries.push({ file, line, marker, hosts, keyType, keyBlob, comment: rest.length > 0 ? rest.join(" ") : undefined });
  }
  return { entries, problems };
}

function parseHostField(field: string): HostPatterns | string {
  if (field.startsWith(HASH_MAGIC)) {
    const parts = field.slice(HASH_MAGIC.length).split("|");
    const salt = parts.length === 2 ? decodeBase64Strict(parts[0] ?? "") : undefined;
    const hash = parts.length === 2 ? decodeBase64Strict(parts[1] ?? "") : undefined;
    if (!salt || !hash || salt.length !== SHA1_LEN || hash.length !== SHA1_LEN) return "malformed hashed host entry";
    return { kind: "hashed", salt, hash };
  }
  const patterns = field
    .split(",")
    .filter((p) => p !== "")
    .map((p) => (p.startsWith("!") ? { negated: true, glob: p.slice(1) } : { negated: false, glob: p }));
  if (patterns.length === 0) return "empty host pattern";
  return { kind: "patterns", patterns };
}

function decodeBase64Strict(s: string): Buffer | undefined {
  if (s === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, "base64");
  return b.length > 0 ? b : undefined;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise (sshd(8)). */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH match_pattern(): `*` any run, `?` one character, whole-string match. */
export function globMatch(glob: string, s: string): boolean {
  // Iterative wildcard match with backtracking to the last `*`.
  let gi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const g = glob[gi];
    if (g === "?" || (g !== undefined && g !== "*" && g === s[si])) {
      gi++;
      si++;
    } else if (g === "*") {
      star = gi++;
      mark = si;
    } else if (star >= 0) {
      gi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (glob[gi] === "*") gi++;
  return gi === glob.length;
}

/**
 * Does this entry name the host? For pattern lists OpenSSH's match_hostname(): a matching negated
 * pattern vetoes the whole line; otherwise any matching positive pattern matches. Host names are
 * compared lowercased (OpenSSH lowercases the name it looks up).
 */
export function entryMatchesHost(hosts: HostPatterns, lookupName: string): boolean {
  const name = lookupName.toLowerCase();
  if (hosts.kind === "hashed") {
    const h = createHmac("sha1", hosts.salt).update(name).digest();
    return h.equals(hosts.hash);
  }
  let positive = false;
  for (const p of hosts.patterns) {
    if (globMatch(p.glob.toLowerCase(), name)) {
      if (p.negated) return false;
      positive = true;
    }
  }
  return positive;
}

/** OpenSSH's default fingerprint: `SHA256:` + base64 of SHA-256(blob) without `=` padding. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "");
}

/** The key type is the first SSH string in the public key blob (RFC 4253 section 6.6). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString("latin1");
}

export interface HostKeyLocation {
  file: string;
  line: number;
  fingerprint: string;
}

export type HostKeyCheck =
  | { status: "match"; at: HostKeyLocation }
  | { status: "unknown"; notes: string[] }
  | { status: "changed"; expected: HostKeyLocation[]; offered: string }
  | { status: "revoked"; at: HostKeyLocation; offered: string };

/**
 * Verify a host key the way OpenSSH's check_host_key() does for one name: a revoked key is
 * refused; a key equal to a known one for this host and type matches; a different key of a type
 * already known for this host is a changed key; anything else is unknown.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyCheck {
  const name = knownHostName(host, port);
  const offered = fingerprintSha256(keyBlob);
  const forHost = entries.filter((e) => entryMatchesHost(e.hosts, name));
  const at = (e: KnownHostEntry): HostKeyLocation => ({ file: e.file, line: e.line, fingerprint: fingerprintSha256(e.keyBlob) });
  const revoked = forHost.find((e) => e.marker === "revoked" && e.keyBlob.equals(keyBlob));
  if (revoked) return { status: "revoked", at: at(revoked), offered };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyType === keyType && e.keyBlob.equals(keyBlob));
  if (same) return { status: "match", at: at(same) };
  const sameType = plain.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) return { status: "changed", expected: sameType.map(at), offered };
  const notes: string[] = [];
  const otherTypes = [...new Set(plain.map((e) => e.keyType))];
  if (otherTypes.length > 0) notes.push(`${name} is known with other key types (${otherTypes.join(", ")}), not ${keyType}`);
  if (forHost.some((e) => e.marker === "cert-authority")) {
    notes.push(`a @cert-authority line names ${name}, but host certificates are not supported by lvsctl`);
  }
  return { status: "unknown", notes };
}

/** Key types recorded for a host (plain entries only), in file order. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const types = entries.filter((e) => e.marker === undefined && entryMatchesHost(e.hosts, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * Host key algorithms to offer for the known key types, so the server presents a key we can
 * compare instead of one of another type (which would look unknown). RSA keys (type `ssh-rsa`)
 * sign with rsa-sha2-512/256 (RFC 8332) or legacy ssh-rsa. Returns undefined when nothing known
 * is supported, so the caller keeps the library's default list.
 */
export function hostKeyAlgorithmsFor(keyTypes: readonly string[], supported: readonly string[]): string[] | undefined {
  const wanted = new Set<string>();
  for (const t of keyTypes) {
    if (t === "ssh-rsa") ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"].forEach((a) => wanted.add(a));
    else wanted.add(t);
  }
  const algos = supported.filter((a) => wanted.has(a));
  return algos.length > 0 ? algos : undefined;
}

/** A line to append for accept-new: `host keytype base64` (`[host]:port` off port 22). */
export function formatKnownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  const type = keyTypeOfBlob(keyBlob);
  if (type === undefined) throw new Error("not an SSH public key blob");
  return `${knownHostName(host, port)} ${type} ${keyBlob.toString("base64")}`;
}
