// Reading an inventory: YAML -> shape (schema.ts) -> cross-document rules (validate.ts) -> the
// resolved cluster (resolve.ts). Every stage reports all it finds; nothing here throws on bad
// input. parseInventory is pure (text in, result out); loadInventory adds the file reads.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { SourceLocation } from "../errors/index.js";
import { FileReadRefused, MAX_INVENTORY_BYTES, readRegularFile, secretFileProblem } from "./files.js";
import { notAnInventory, notTextInventory } from "./foreign.js";
import { importAnsible, type AnsibleImport, type VarsFile } from "./ansible.js";
import { hasErrors, sortDiagnostics, type Diagnostic, type Path } from "./diagnostic.js";
import { issuesToDiagnostics, valueAt } from "./issues.js";
import type { Cluster } from "./model.js";
import { resolve } from "./resolve.js";
import { expandRealServerGroups } from "./rs-groups.js";
import { Group, Host, Inventory, SyncGroup, VirtualService, VrrpInstance } from "./schema.js";
import { parseYaml, type YamlSource } from "./source.js";
import { validate } from "./validate.js";

export type { Diagnostic } from "./diagnostic.js";

export type LoadResult =
  | { ok: true; inventory: Inventory; cluster: Cluster; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

export interface ParseOptions {
  /** For checks of `{env: NAME}` secrets; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Other files the inventory refers to (the Ansible inventory), by the path loadInventory
   * would read: the text, or `{ error }` when it could not be read.
   */
  includes?: Record<string, string | { error: string }>;
  /** Checks `{file: PATH}` secrets exist (loadInventory passes the real file system); unset: not checked. */
  fileExists?: (path: string) => boolean;
  /** Why an existing `{file: PATH}` secret cannot be read (loadInventory: secretFileProblem); unset: not checked. */
  fileProblem?: (path: string) => string | undefined;
}

export interface LoadOptions {
  readFile?: (p: string) => Promise<string>;
  /** Files below a folder, as paths relative to it (group_vars/, host_vars/); default the real file system, none when readFile is injected. */
  listFiles?: (dir: string) => Promise<string[]>;
  env?: NodeJS.ProcessEnv;
  /** Default: the real file system when readFile is not injected, else no check. */
  fileExists?: (path: string) => boolean;
}

/** Where `ansible_inventory: REL` points, relative to the inventory file. */
export function includePath(inventoryFile: string, rel: string): string {
  return isAbsolute(rel) ? rel : join(dirname(inventoryFile), rel);
}

export async function loadInventory(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const read = opts.readFile ?? ((p: string) => readRegularFile(p, MAX_INVENTORY_BYTES));
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: "error",
          code: "LVS110",
          message: `cannot read inventory ${path}: ${errText(err)}`,
          hint: "check the path and that the file is readable",
        },
      ],
    };
  }
  const includes: Record<string, string | { error: string }> = {};
  // A first look for files the inventory includes; parseSource does the real work, on the same
  // parsed document.
  const main = parseYaml(text, path);
  const rel = valueAt(main.data, ["ansible_inventory"]);
  if (typeof rel === "string" && rel.length > 0) {
    const p = includePath(path, rel);
    try {
      includes[p] = await read(p);
    } catch (err) {
      includes[p] = { error: errText(err) };
    }
    // group_vars/ and host_vars/ beside the Ansible inventory, as Ansible's host_group_vars reads them.
    const list = opts.listFiles ?? (opts.readFile ? async () => [] : listFilesUnder);
    for (const sub of ["group_vars", "host_vars"]) {
      const base = join(dirname(p), sub);
      for (const rel of await list(base).catch(() => [] as string[])) {
        const f = join(base, rel);
        try {
          includes[f] = await read(f);
        } catch (err) {
          includes[f] = { error: errText(err) };
        }
      }
    }
  }
  const fileExists = opts.fileExists ?? (opts.readFile ? undefined : (p: string) => existsSync(p));
  const fileProblem = opts.readFile ? undefined : secretFileProblem;
  return parseSource(main, path, { includes, ...(opts.env ? { env: opts.env } : {}), ...(fileExists ? { fileExists } : {}), ...(fileProblem ? { fileProblem } : {}) });
}

export function parseInventory(source: string, file: string, opts: ParseOptions = {}): LoadResult {
  return parseSource(parseYaml(source, file), file, opts);
}

/** parseInventory on a document already parsed (loadInventory parses once for both). */
function parseSource(main: YamlSource, file: string, opts: ParseOptions): LoadResult {
  const env = opts.env ?? process.env;
  const diagnostics: Diagnostic[] = [...main.diagnostics];
  const fail = (): LoadResult => ({ ok: false, diagnostics: sortDiagnostics(diagnostics, file) });
  if (main.broken) return fail();

  const data = main.data;
  if (data === null || data === undefined) {
    diagnostics.push({ severity: "error", code: "LVS109", message: "the inventory is empty", hint: "start with `hosts:` and `groups:` (see inventory/dr.yml)" });
    return fail();
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    const loc = main.at([]);
    diagnostics.push({
      severity: "error",
      code: "LVS109",
      message: `the inventory must be a mapping of keys (hosts:, groups:, ...), not ${Array.isArray(data) ? "a list" : "a single value"}`,
      hint: "see inventory/dr.yml for the layout",
      ...(loc ? { location: loc } : {}),
    });
    return fail();
  }
  const input: Record<string, unknown> = { ...(data as Record<string, unknown>) };

  // --- Ansible import: hosts and groups merged under ours ---
  let ansible: AnsibleImport | undefined;
  const rel = input["ansible_inventory"];
  if (typeof rel === "string" && rel.length > 0) {
    const p = includePath(file, rel);
    const got = opts.includes?.[p];
    const here = main.at(["ansible_inventory"]);
    if (got === undefined || typeof got !== "string") {
      diagnostics.push({
        severity: "error",
        code: "LVS110",
        message: `cannot read the Ansible inventory ${p}${got ? `: ${got.error}` : ""}`,
        hint: "the path is relative to this inventory file",
        ...(here ? { location: here } : {}),
      });
    } else {
      const vf: VarsFile[] = [];
      const dir = dirname(p);
      for (const [f, t] of Object.entries(opts.includes ?? {})) {
        const r = relative(dir, f).split(sep).join("/");
        if (!r.startsWith("group_vars/") && !r.startsWith("host_vars/")) continue;
        if (typeof t === "string") vf.push({ path: f, rel: r, text: t });
        else diagnostics.push({ severity: "error", code: "LVS110", message: `cannot read the Ansible vars file ${f}: ${t.error}`, hint: "make it readable, or move it out of group_vars/ and host_vars/" });
      }
      const refused = notTextInventory(got, p);
      const imported = refused ? undefined : importAnsible(got, p, vf);
      const foreign =
        refused ??
        (imported &&
          notAnInventory(p, {
            hosts: Object.keys(imported.hosts),
            groups: Object.keys(imported.groups),
            where: (kind, name) => imported.at(kind, name, [], { key: true }),
          }));
      if (foreign) {
        diagnostics.push(foreign);
      } else if (imported) {
        ansible = imported;
        diagnostics.push(...ansible.diagnostics);
        input["hosts"] = mergeNamed(ansible.hosts, input["hosts"], true);
        input["groups"] = mergeNamed(ansible.groups, input["groups"], false);
      }
    }
  }

  // Paths under hosts.X / groups.X that our file does not have come from the Ansible file.
  const at = (path: Path, o?: { key?: boolean }): SourceLocation | undefined => {
    const [kind, name] = path;
    if (ansible && (kind === "hosts" || kind === "groups") && typeof name === "string") {
      const ours = main.has([kind, name]);
      const theirs = ansible.has(kind, name);
      if (theirs && (!ours || (path.length > 2 && !main.has(path.slice(0, 3))))) {
        const loc = ansible.at(kind, name, path.slice(2), o);
        if (loc) return loc;
      }
    }
    return main.at(path, o);
  };

  // --- shape ---
  const parsed = Inventory.safeParse(input);
  let inventory: Inventory | undefined;
  let remap: (p: Path) => Path = (p) => p;
  const rejected = new Set<string>();
  if (parsed.success) {
    inventory = parsed.data;
  } else {
    diagnostics.push(...issuesToDiagnostics(parsed.error.issues, {
        schema: Inventory as never,
        data: input,
        at,
      }));
    for (const i of parsed.error.issues) rejected.add(JSON.stringify(i.path));
    // Salvage the parts that are fine, so the cross-document rules still run on them.
    const s = salvage(repair(input));
    const again = Inventory.safeParse(s.input);
    if (again.success) {
      inventory = again.data;
      remap = (p) => {
        const [k, i, ...rest] = p;
        if (typeof k !== "string" || typeof i !== "number") return p;
        const orig = s.indexMap.get(k)?.[i];
        return orig !== undefined ? [k, orig, ...rest] : p;
      };
    }
  }

  // --- real servers by group, then the cross-document rules ---
  if (inventory) {
    const expanded = expandRealServerGroups(inventory);
    for (const g of expanded.problems) {
      const loc = at(remap(g.path));
      diagnostics.push({ severity: "error", code: g.code, message: g.message, hint: g.hint, ...(loc ? { location: loc } : {}) });
    }
    inventory = expanded.inventory;
    const back = (p: Path) => remap(expanded.pathBack(p));
    const raw = input as { hosts?: unknown; groups?: unknown };
    diagnostics.push(
      ...validate(inventory, {
        at: (p, o) => at(back(p), o),
        has: (p) => main.has(back(p)),
        rejected: (p) => rejected.has(JSON.stringify(back(p))),
        baseDir: dirname(file),
        ...(opts.fileExists ? { fileExists: opts.fileExists } : {}),
        ...(opts.fileProblem ? { fileProblem: opts.fileProblem } : {}),
        env,
        knownHosts: namesOf(raw.hosts),
        knownGroups: namesOf(raw.groups),
      }),
    );
  }
  if (!inventory || hasErrors(diagnostics)) return fail();

  let cluster: Cluster;
  try {
    cluster = resolve(inventory, file, { env });
  } catch (err) {
    // resolve() is total over validated inventories; reaching this is a bug of ours.
    diagnostics.push({ severity: "error", code: "LVS108", message: `internal error while resolving the inventory: ${errText(err)}`, hint: "please report this with the inventory" });
    return fail();
  }
  return { ok: true, inventory, cluster, diagnostics: sortDiagnostics(diagnostics, file) };
}

/** Every file below dir (relative paths, `/`-separated), skipping hidden entries as Ansible does. */
async function listFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r, depth + 1);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk("", 0);
  return out;
}

function errText(err: unknown): string {
  if (err instanceof FileReadRefused) return err.message;
  if (err && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    const code = (err as { code: string }).code;
    if (code === "ENOENT") return "no such file";
    if (code === "EACCES") return "permission denied";
    if (code === "EISDIR") return "is a directory";
    if (code === "ENXIO") return "it is a socket or a device, not a regular file";
  }
  return err instanceof Error ? err.message : String(err);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function namesOf(v: unknown): Set<string> {
  return new Set(isRecord(v) ? Object.keys(v) : []);
}

/**
 * Imported entries under ours: our keys win field by field; for hosts, `vars` merge key by key.
 * A non-mapping of ours is left for the schema to report.
 */
function mergeNamed(imported: Record<string, Record<string, unknown>>, ours: unknown, mergeVars: boolean): unknown {
  if (ours !== undefined && ours !== null && !isRecord(ours)) return ours;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(imported)) out[k] = v;
  for (const [k, v] of Object.entries(ours ?? {})) {
    const base = out[k];
    if (isRecord(base) && isRecord(v)) {
      const merged: Record<string, unknown> = { ...base, ...v };
      if (isRecord(base["vars"]) && isRecord(v["vars"])) merged["vars"] = { ...base["vars"], ...v["vars"] };
      if (!mergeVars && isRecord(base["ssh"]) && isRecord(v["ssh"])) merged["ssh"] = { ...base["ssh"], ...v["ssh"] };
      out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  return out;
}

// --- salvage ---------------------------------------------------------------------------------

/**
 * Drop what the schema rejects, key by key: unknown keys, values of the wrong type or range
 * (defaults then apply), hosts and groups that lack a required key. Never removes list elements
 * (that would shift the indices locations depend on); salvage() handles those.
 */
function repair(input: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredCloneSafe(input);
  if (!isRecord(copy)) return input;
  for (let round = 0; round < 6; round++) {
    const r = Inventory.safeParse(copy);
    if (r.success) break;
    let changed = false;
    for (const issue of r.error.issues) {
      const path = issue.path as (string | number)[];
      if (issue.code === "unrecognized_keys") {
        const obj = valueAt(copy, path);
        if (isRecord(obj)) for (const k of issue.keys) changed = delete obj[k] || changed;
        continue;
      }
      // The deepest object property on the path whose value exists; never a list element, never
      // a whole top-level key.
      for (let n = path.length; n > 1; n--) {
        const key = path[n - 1];
        const parent = valueAt(copy, path.slice(0, n - 1));
        if (typeof key !== "string" || !isRecord(parent)) continue;
        if (Object.prototype.hasOwnProperty.call(parent, key)) {
          delete parent[key];
          changed = true;
          break;
        }
      }
    }
    if (!changed) break;
  }
  return copy as Record<string, unknown>;
}

function structuredCloneSafe(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

type Safe = { safeParse(v: unknown): { success: boolean } };
const ARRAYS: Record<string, Safe> = { vrrp_instances: VrrpInstance, vrrp_sync_groups: SyncGroup, virtual_servers: VirtualService };
const RECORDS: Record<string, Safe> = { hosts: Host, groups: Group };

/**
 * Keep what is valid: entries of hosts/groups and elements of the top-level lists that pass on
 * their own, other top-level keys when they pass. indexMap maps a kept element's new index to
 * its index in the file, so locations stay right.
 */
function salvage(input: Record<string, unknown>): { input: Record<string, unknown>; indexMap: Map<string, number[]> } {
  const out: Record<string, unknown> = {};
  const indexMap = new Map<string, number[]>();
  const shape = Inventory.shape as Record<string, Safe>;
  for (const [k, v] of Object.entries(input)) {
    const field = shape[k];
    if (!field) continue;
    if (RECORDS[k]) {
      if (!isRecord(v)) continue;
      const kept: Record<string, unknown> = {};
      for (const [name, entry] of Object.entries(v)) if (RECORDS[k]!.safeParse(entry).success) kept[name] = entry;
      out[k] = kept;
    } else if (ARRAYS[k]) {
      if (!Array.isArray(v)) continue;
      const kept: unknown[] = [];
      const map: number[] = [];
      v.forEach((el, i) => {
        if (ARRAYS[k]!.safeParse(el).success) {
          kept.push(el);
          map.push(i);
        }
      });
      out[k] = kept;
      indexMap.set(k, map);
    } else if (field.safeParse(v).success) {
      out[k] = v;
    }
  }
  return { input: out, indexMap };
}
