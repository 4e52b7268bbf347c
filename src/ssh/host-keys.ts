// known_hosts files on the controller: reading them, and appending a key under accept-new.
// The decisions are in known-hosts.ts (pure); this is the thin file I/O around them.
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync, readFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { HostKeyPolicy } from "./types.js";
import { parseKnownHosts, formatKnownHostsLine, type KnownHostEntry, type KnownHostsProblem } from "./known-hosts.js";

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

/** Read every file that exists; a missing file is empty (as for OpenSSH). */
export function loadKnownHosts(files: readonly string[]): KnownHostsDb {
  const db: KnownHostsDb = { entries: [], problems: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      db.problems.push({ file, line: 0, message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    const r = parseKnownHosts(text, file);
    db.entries.push(...r.entries);
    db.problems.push(...r.problems);
  }
  return db;
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
