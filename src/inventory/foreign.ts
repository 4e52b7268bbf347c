// Files the inventory points at that may not be inventories at all (`ansible_inventory:
// /etc/shadow`, a private key by mistake). lvsctl may be run by someone who can read files the
// inventory's author cannot, so such a file is reported by place and reason, never by content:
// its lines must not come back as "host name ... cannot be used" errors.
import type { SourceLocation } from "../errors/index.js";
import type { Diagnostic } from "./diagnostic.js";
import { NAME_PATTERN } from "./limits.js";

/** The names the Ansible reader found in the file, and where. */
export interface ImportedNames {
  hosts: Iterable<string>;
  groups: Iterable<string>;
  where: (kind: "hosts" | "groups", name: string) => SourceLocation | undefined;
}

/** Sniffs that need no reading at all: binary data and key material. */
export function notTextInventory(text: string, file: string): Diagnostic | undefined {
  const refuse = (offset: number, why: string): Diagnostic => ({
    severity: "error",
    code: "LVS500",
    message: `${file} is not an Ansible inventory: ${why}; its content is not shown`,
    hint: "point ansible_inventory: at the Ansible inventory file (INI or YAML)",
    location: locate(text, file, offset),
  });
  const nul = text.search(/[\u0000\uFFFD]/);
  if (nul >= 0) return refuse(nul, "it holds binary data");
  const pem = text.search(/-----BEGIN [A-Z0-9 ]+-----/);
  if (pem >= 0) return refuse(pem, "it holds a PEM block (a key or a certificate)");
  return undefined;
}

/**
 * A file whose names are mostly unusable (half or more: /etc/passwd, /etc/shadow, a config file
 * read as INI) is not an inventory: one error at the first bad name, and nothing of it is used.
 * The reader's own messages quote no line, so a file that passes here shows no content either.
 */
export function notAnInventory(file: string, got: ImportedNames): Diagnostic | undefined {
  const bad: (SourceLocation | undefined)[] = [];
  let total = 0;
  for (const kind of ["hosts", "groups"] as const) {
    for (const n of kind === "hosts" ? got.hosts : got.groups) {
      if (kind === "groups" && (n === "all" || n === "ungrouped")) continue;
      total++;
      if (!NAME_PATTERN.test(n)) bad.push(got.where(kind, n));
    }
  }
  if (bad.length === 0 || bad.length * 2 < total) return undefined;
  const first = bad.filter((l): l is SourceLocation => l !== undefined).sort((a, b) => a.line - b.line || a.col - b.col)[0];
  return {
    severity: "error",
    code: "LVS500",
    message: `${file} does not read as an Ansible inventory: ${bad.length} of its ${total} host and group names are not names; its content is not shown`,
    hint: "point ansible_inventory: at the Ansible inventory file (INI or YAML); check it with ansible-inventory -i FILE --list",
    ...(first ? { location: first } : {}),
  };
}

function locate(text: string, file: string, offset: number): SourceLocation {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { file, line, col: offset - start + 1 };
}
