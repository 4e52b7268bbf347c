// known_hosts files on the controller: reading them, and appending a key under accept-new.
// The decisions are in known-hosts.ts (pure); this is the thin file I/O around them.
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync, readFileSync, existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { HostKeyPolicy } from "./types.js";
import { parseKnownHosts, formatKnownHostsLine, type KnownHostEntry, type KnownHostsProblem } from "./known-hosts.js";
import { fileKind } from "../inventory/files.js";

/** OpenSSH's defaults (ssh_config(5) UserKnownHostsFile, GlobalKnownHostsFile); the first is written. */
export function defaultKnownHostsFiles(home: string = homedir()): string[] {
  return [join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"];
}

export function defaultHostKeyPolicy(acceptNew: boolean, home?: string): HostKeyPolicy {
  return { knownHostsFiles: defaultKnownHostsFiles(home), acceptNew };
}

export interface KnownHostsDb {
  entries: KnownHostEntry[];
  problems: KnownHostsProblem[];
}

/** Far above any real known_hosts (about 100 bytes a line); a bigger "file" is not one. */
export const MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024;

/**
 * Read every file that exists; a missing file is empty (as for OpenSSH), and one problem when the
 * user named it (`named`: a typo in --known-hosts would otherwise make every host unknown without
 * a word). A file that cannot be read, or is not a regular file (a directory, a FIFO that would
 * block, a device), is one problem at line 0; each line that does not parse is one problem at its
 * line. Never throws.
 */
export function loadKnownHosts(files: readonly string[], opts: { named?: boolean; acceptNew?: boolean } = {}): KnownHostsDb {
  const db: KnownHostsDb = { entries: [], problems: [] };
  for (const file of files) {
    let text: string;
    try {
      const st = statSync(file);
      if (!st.isFile()) {
        db.problems.push({ file, line: 0, message: `it is ${fileKind(st)}, not a file; its host keys are not used` });
        continue;
      }
      if (st.size > MAX_KNOWN_HOSTS_BYTES) {
        db.problems.push({ file, line: 0, message: `it is ${st.size} bytes, more than a known_hosts file holds (${MAX_KNOWN_HOSTS_BYTES}); it is not read` });
        continue;
      }
      text = readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        if (opts.named && !opts.acceptNew) db.problems.push({ file, line: 0, message: "it does not exist; no host key can be verified against it (check the path, or add --accept-new-host-keys to create it with the keys first seen)" });
        continue;
      }
      db.problems.push({ file, line: 0, message: `it cannot be read (${readError(code, e)}); its host keys are not used` });
      continue;
    }
    const r = parseKnownHosts(text, file);
    db.entries.push(...r.entries);
    db.problems.push(...r.problems);
  }
  return db;
}

/** One line for a problem: `FILE:LINE: why` (no line for a whole file). */
export function formatKnownHostsProblem(p: KnownHostsProblem): string {
  return `known_hosts ${p.file}${p.line > 0 ? `:${p.line}` : ""}: ${p.message}`;
}

function readError(code: string | undefined, e: unknown): string {
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of its path is not a directory";
    case "ELOOP":
      return "too many symbolic links";
    default:
      return code ?? String((e as Error)?.message ?? e);
  }
}


/**
 * Append `host keytype base64` to the file (its directory created 0700, the file 0600 as
 * OpenSSH does). Returns the entry as parsed back, with its line number. Throws the fs error.
 */
export function recordHostKey(file: string, host: string, port: number, keyBlob: Buffer): KnownHostEntry {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const created = !existsSync(file);
  if (created) closeSync(openSync(file, "a", 0o600));
  let prefix = "";
  let lineNo = 1;
  if (!created) {
    const old = readFileSync(file, "utf8");
    if (old.length > 0 && !old.endsWith("\n")) prefix = "\n";
    lineNo = old.split("\n").length + (prefix ? 1 : 0);
    if (old.length === 0) lineNo = 1;
  }
  const line = formatKnownHostsLine(host, port, keyBlob);
  // One write with O_APPEND: concurrent appends from several hosts' handshakes do not interleave.
  appendFileSync(file, prefix + line + "\n", { mode: 0o600 });
  if (created) chmodSync(file, 0o600);
  const parsed = parseKnownHosts(line, file).entries[0];
  if (!parsed) throw new Error("internal: the appended known_hosts line does not parse");
  return { ...parsed, line: lineNo };
}
