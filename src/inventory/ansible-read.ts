// Reading Ansible inventories the way ansible-core 2.14 reads them (plugins/inventory/ini.py and
// yaml.py, parsing/utils/addresses.py, plugins/vars/host_group_vars.py): INI and YAML files, host
// ranges, `host:port`, and the group_vars/ and host_vars/ files beside the inventory. The result
// is a format-free model (groups, hosts, located variables) that ansible.ts turns into ours.
// Pure: text in, model out; every value remembers the file:line:col it came from. Linear in the
// size of the input: names are kept in maps and sets, and locations come from the YAML nodes
// met while walking, never from a search by path.
import { isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import type { SourceLocation } from "../errors/index.js";
import type { Diagnostic } from "./diagnostic.js";
import { parseYaml } from "./source.js";

export interface RawVar {
  value: unknown;
  loc: SourceLocation | undefined;
  /** Set when lvsctl cannot know the value (Jinja, ansible-vault); reported once where it is. */
  opaque?: "jinja" | "vault";
}

export interface RawGroup {
  name: string;
  loc: SourceLocation | undefined;
  /** Direct hosts, in the order Ansible adds them. */
  hosts: Set<string>;
  children: Set<string>;
  parents: Set<string>;
  vars: Map<string, RawVar>;
}

export interface RawHost {
  name: string;
  loc: SourceLocation | undefined;
  vars: Map<string, RawVar>;
}

export interface RawInventory {
  groups: Map<string, RawGroup>;
  hosts: Map<string, RawHost>;
  diagnostics: Diagnostic[];
}

export function emptyRaw(): RawInventory {
  return { groups: new Map(), hosts: new Map(), diagnostics: [] };
}

export function rawGroup(inv: RawInventory, name: string, loc: SourceLocation | undefined): RawGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, loc, hosts: new Set(), children: new Set(), parents: new Set(), vars: new Map() };
    inv.groups.set(name, g);
  }
  return g;
}

function rawHost(inv: RawInventory, name: string, loc: SourceLocation | undefined): RawHost {
  let h = inv.hosts.get(name);
  if (!h) {
    h = { name, loc, vars: new Map() };
    inv.hosts.set(name, h);
  }
  return h;
}

/** A variable's value as lvsctl may use it: Jinja and vault values are marked, never guessed. */
export function rawVar(value: unknown, loc: SourceLocation | undefined, tag?: string): RawVar {
  if (tag === "!vault" || (typeof value === "string" && value.startsWith("$ANSIBLE_VAULT;"))) return { value: undefined, loc, opaque: "vault" };
  if (tag !== "!unsafe" && hasJinja(value)) return { value: undefined, loc, opaque: "jinja" };
  return { value, loc };
}

function hasJinja(v: unknown, depth = 0): boolean {
  if (typeof v === "string") return v.includes("{{") || v.includes("{%");
  if (depth > 32 || typeof v !== "object" || v === null) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (hasJinja(x, depth + 1)) return true;
  return false;
}

// --- host patterns -----------------------------------------------------------------------------

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Bounds the expansion of one pattern, so a typo like [1:99999999] fails instead of eating memory. */
export const MAX_RANGE_HOSTS = 1_000_000;

/**
 * `web[01:03]`, `db-[a:c]`, `n[0:10:2]`, several ranges in one name: Ansible's
 * expand_hostname_range (plugins/inventory/__init__.py), errors in its words.
 */
export function expandHostRange(pattern: string): { hosts: string[] } | { error: string } {
  const open = pattern.indexOf("[");
  if (open < 0) return { hosts: [pattern] };
  const close = pattern.indexOf("]", open);
  if (close < 0) return { error: `host range in ${pattern} has no closing ']'` };
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = pattern.slice(open + 1, close).split(":");
  if (bounds.length !== 2 && bounds.length !== 3) return { error: "host range must be begin:end or begin:end:step" };
  const beg = bounds[0] || "0";
  const end = bounds[1]!;
  const stepText = bounds[2] ?? "1";
  if (!end) return { error: "host range must specify end value" };
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1) return { error: `host range step "${stepText}" must be a whole number of at least 1` };
  const step = Number(stepText);
  let fill = (x: string | number) => String(x);
  if (beg[0] === "0" && beg.length > 1) {
    if (beg.length !== end.length) return { error: "host range must specify equal-length begin and end formats" };
    fill = (x) => String(x).padStart(beg.length, "0");
  }
  const seq: string[] = [];
  const bi = beg.length === 1 ? LETTERS.indexOf(beg) : -1;
  const ei = end.length === 1 ? LETTERS.indexOf(end) : -1;
  if (bi >= 0 && ei >= 0) {
    if (bi > ei) return { error: "host range must have begin <= end" };
    for (let i = bi; i <= ei; i += step) seq.push(LETTERS[i]!);
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) return { error: `host range [${bounds.join(":")}] is neither numeric nor single letters` };
    const b = Number(beg);
    const e = Number(end);
    if ((e - b) / step > MAX_RANGE_HOSTS) return { error: `host range [${bounds.join(":")}] has more than ${MAX_RANGE_HOSTS} hosts` };
    for (let i = b; i <= e; i += step) seq.push(fill(i));
  }
  const out: string[] = [];
  for (const s of seq) {
    const name = head + s + tail;
    if (name.includes("[")) {
      const r = expandHostRange(name);
      if ("error" in r) return r;
      out.push(...r.hosts);
      if (out.length > MAX_RANGE_HOSTS) return { error: `host pattern ${pattern} expands to more than ${MAX_RANGE_HOSTS} hosts` };
    } else out.push(name);
  }
  return { hosts: out };
}

/**
 * Split `host:port`, `[v6addr]:port`, a bare IPv6 address (no port) as Ansible's parse_address
 * does for inventory host patterns, ranges allowed.
 */
export function splitHostPort(pattern: string): { host: string; port?: number } | { error: string } {
  const br = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(pattern);
  if (br && br[1]!.includes(":") && !/^\d*:\d+(:\d+)?$/.test(br[1]!)) return portOf(br[1]!, br[2]);
  const hp = /^(.+):(\d+)$/.exec(pattern);
  // A colon outside brackets before the port: an IPv6 address, which carries no port here.
  if (hp && !hp[1]!.replace(/\[[^\]]*\]/g, "").includes(":")) return portOf(hp[1]!, hp[2]);
  return { host: pattern };
}

function portOf(host: string, port: string | undefined): { host: string; port?: number } | { error: string } {
  if (port === undefined) return { host };
  const n = Number(port);
  if (n < 1 || n > 65535) return { error: `port ${port} of ${host} is not 1-65535` };
  return { host, port: n };
}

// --- YAML inventories ------------------------------------------------------------------------

export function readYamlInventory(text: string, file: string): RawInventory {
  const inv = emptyRaw();
  const src = parseYaml(text, file);
  inv.diagnostics.push(...yamlDiagnostics(src.diagnostics));
  if (src.broken) return inv;
  const pos = src.locate;
  const top = src.doc.contents as Node | null;
  const err = (n: Node | null | undefined, message: string, hint: string, severity: Diagnostic["severity"] = "error") => {
    const location = n?.range ? pos(n.range[0]) : undefined;
    inv.diagnostics.push({ severity, code: severity === "error" ? "LVS500" : "LVS502", message, hint, ...(location ? { location } : {}) });
  };
  if (top === null || (isScalar(top) && top.value === null)) {
    inv.diagnostics.push({ severity: "warning", code: "LVS500", message: `the Ansible inventory ${file} is empty`, hint: "it should start with `all:`" });
    return inv;
  }
  if (!isMap(top)) {
    err(top, "an Ansible YAML inventory must be a mapping of groups (usually `all:`)", "see Ansible's inventory guide for the layout");
    return inv;
  }
  const keyLoc = (p: Pair) => ((p.key as Node | null)?.range ? pos((p.key as Node).range![0]) : undefined);
  const keyText = (p: Pair) => (isScalar(p.key) ? String(p.key.value) : String(p.key));
  const toJS = (n: unknown) => (n === null || n === undefined ? null : isScalar(n) ? n.value : (n as Node).toJS(src.doc, { maxAliasCount: 1000 }));

  const visitGroup = (name: string, node: Node | null, loc: SourceLocation | undefined, path: Set<string>): void => {
    const g = rawGroup(inv, name, loc);
    if (node === null || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) {
      err(node, `group ${name} must be a mapping with hosts:, children: or vars:`, "for an empty group write `name: {}`");
      return;
    }
    for (const pair of node.items) {
      const key = keyText(pair);
      let value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (key !== "vars" && key !== "children" && key !== "hosts") {
        err(pair.key as Node, `key "${key}" in Ansible group ${name} is skipped, as Ansible skips it`, "an Ansible group has only hosts:, children: and vars:", "warning");
        continue;
      }
      // Ansible accepts `hosts: name` for a single entry.
      if (isScalar(value) && typeof value.value === "string") {
        const entry = value.value;
        const where = value.range ? pos(value.range[0]) : undefined;
        if (key === "hosts") addHosts(entry, where, null, g);
        else if (key === "children") child(entry, where, null);
        continue;
      }
      if (!isMap(value)) {
        err(value, `${key} of group ${name} must be a mapping${key === "hosts" ? " of host names (a list is not Ansible's YAML format)" : ""}`, key === "hosts" ? "write each host as `name:` on its own line, with its vars below it" : key === "vars" ? "write `vars:` followed by `name: value` lines" : "write each child group as `name:` on its own line");
        continue;
      }
      for (const p of value.items) {
        const k = keyText(p);
        const v = p.value as Node | null;
        if (key === "vars") setVar(g.vars, k, v, p);
        else if (key === "hosts") addHosts(k, keyLoc(p), v, g);
        else child(k, keyLoc(p), v);
      }
    }
    function child(c: string, where: SourceLocation | undefined, v: Node | null): void {
      if (path.has(c)) {
        inv.diagnostics.push({ severity: "error", code: "LVS500", message: `group ${c} contains itself (through children)`, hint: "remove the loop", ...(where ? { location: where } : {}) });
        return;
      }
      path.add(c);
      visitGroup(c, v, where, path);
      path.delete(c);
      g.children.add(c);
      inv.groups.get(c)!.parents.add(g.name);
    }
  };

  function setVar(into: Map<string, RawVar>, k: string, v: Node | null, p: Pair): void {
    const n = v ?? (p.key as Node);
    const loc = n?.range ? pos(n.range[0]) : undefined;
    into.set(k, rawVar(toJS(v), loc, v && "tag" in v ? (v as { tag?: string }).tag : undefined));
  }

  function addHosts(pattern: string, where: SourceLocation | undefined, v: Node | null, g: RawGroup): void {
    const names = hostNames(pattern, where, inv.diagnostics);
    if (!names) return;
    if (v !== null && !(isScalar(v) && v.value === null) && !isMap(v)) {
      err(v, `host ${pattern} must be followed by a mapping of its vars (or nothing)`, "write `ansible_host: 10.0.0.1` and so on below the host name");
      return;
    }
    for (const h of names.hosts) {
      const host = rawHost(inv, h, where);
      g.hosts.add(h);
      if (names.port !== undefined) host.vars.set("ansible_port", { value: names.port, loc: where });
      if (isMap(v)) for (const p of v.items) setVar(host.vars, keyText(p), p.value as Node | null, p);
    }
  }

  for (const pair of top.items) {
    const name = keyText(pair);
    const v = pair.value as Node | null;
    if (v !== null && !isMap(v) && !(isScalar(v) && v.value === null)) {
      err(v, `top-level key ${name} of an Ansible inventory must be a group (a mapping)`, "put hosts under `all:` / `hosts:`, or a group under `all:` / `children:`");
      continue;
    }
    visitGroup(name, v, keyLoc(pair), new Set([name]));
  }
  return inv;
}

/** A host pattern's names and port, or undefined after reporting why it cannot be read. */
function hostNames(pattern: string, where: SourceLocation | undefined, diagnostics: Diagnostic[]): { hosts: string[]; port?: number } | undefined {
  const fail = (message: string) => {
    diagnostics.push({ severity: "error", code: "LVS500", message: `host pattern ${pattern}: ${message}`, hint: "write ranges as name[01:50], name[a:f] or name[1:50:2], and a port as name:2222", ...(where ? { location: where } : {}) });
    return undefined;
  };
  const hp = splitHostPort(pattern.trim());
  if ("error" in hp) return fail(hp.error);
  const r = expandHostRange(hp.host);
  if ("error" in r) return fail(r.error);
  return { hosts: r.hosts, ...(hp.port !== undefined ? { port: hp.port } : {}) };
}

/** `!vault` and `!unsafe` are Ansible's tags, not unknown ones. */
function yamlDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.filter((d) => !/^Unresolved tag: !(vault|unsafe)\b/.test(d.message));
}

// --- INI inventories -------------------------------------------------------------------------

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

export function readIniInventory(text: string, file: string): RawInventory {
  const inv = emptyRaw();
  const lines = text.split("\n");
  let group = rawGroup(inv, "ungrouped", undefined);
  let state = "hosts";
  // Groups named in [x:vars] or [x:children] before they are defined (ini.py's pending_declarations).
  const pending = new Map<string, { loc: SourceLocation; state: string; parent?: string }>();
  const declared = new Set<string>(["ungrouped", "all"]);
  const fail = (loc: SourceLocation, message: string, hint: string) => inv.diagnostics.push({ severity: "error", code: "LVS500", message, hint, location: loc });

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    const line = raw.trim();
    const col = raw.length - raw.trimStart().length + 1;
    const loc: SourceLocation = { file, line: i + 1, col };
    if (!line || line[0] === "#" || line[0] === ";") continue;
    const m = SECTION.exec(line);
    if (m) {
      const name = m[1]!;
      state = m[2] ?? "hosts";
      if (state !== "hosts" && state !== "children" && state !== "vars") {
        fail(loc, `section [${name}:${state}] has an unknown type: ${state}`, "sections are [group], [group:vars] or [group:children]");
        state = "skip";
        continue;
      }
      group = rawGroup(inv, name, loc);
      if (state === "vars") {
        if (!declared.has(name) && !pending.has(name)) pending.set(name, { loc, state });
      } else {
        declared.add(name);
        pending.delete(name);
      }
      continue;
    }
    if (line.startsWith("[") && line.endsWith("]")) {
      fail(loc, "invalid section header", "a section header has no spaces: [group], [group:vars] or [group:children]");
      state = "skip";
      continue;
    }
    if (state === "skip") continue;
    if (state === "hosts") {
      const words = shlexSplit(raw);
      if ("error" in words) {
        fail(loc, `cannot read the host line: ${words.error}`, "check the quotes on this line");
        continue;
      }
      if (words.length === 0) continue;
      const [pattern, ...rest] = words;
      const where: SourceLocation = { file, line: i + 1, col: pattern!.col };
      if (pattern!.text.trim().endsWith(":")) {
        fail(where, `host pattern ${pattern!.text} ends in ':', which Ansible reserves for a port`, "remove the ':' or add the port");
        continue;
      }
      const names = hostNames(pattern!.text, where, inv.diagnostics);
      if (!names) continue;
      const vars: [string, RawVar][] = [];
      let bad = false;
      for (const w of rest) {
        const eq = w.text.indexOf("=");
        const wloc: SourceLocation = { file, line: i + 1, col: w.col };
        if (eq < 0) {
          fail(wloc, "expected a key=value host variable assignment here (this word has no '='; it is not shown, as it may be part of a secret)", "host variables on an INI line are written name=value");
          bad = true;
          break;
        }
        vars.push([w.text.slice(0, eq), rawVar(iniValue(w.text.slice(eq + 1)), { file, line: i + 1, col: w.col + eq + 1 })]);
      }
      if (bad) continue;
      for (const h of names.hosts) {
        const host = rawHost(inv, h, where);
        group.hosts.add(h);
        if (names.port !== undefined) host.vars.set("ansible_port", { value: names.port, loc: where });
        for (const [k, v] of vars) host.vars.set(k, v);
      }
    } else if (state === "vars") {
      const eq = line.indexOf("=");
      if (eq < 0) {
        fail(loc, "expected key=value (this line has no '='; it is not shown, as it may hold a secret)", "group variables in a [group:vars] section are written name=value");
        continue;
      }
      const k = line.slice(0, eq).trim();
      const vtext = line.slice(eq + 1).trim();
      group.vars.set(k, rawVar(iniValue(vtext), { file, line: i + 1, col: raw.indexOf("=") + 2 + (raw.slice(raw.indexOf("=") + 1).length - raw.slice(raw.indexOf("=") + 1).trimStart().length) }));
    } else {
      const gm = GROUP_NAME.exec(line);
      if (!gm) {
        fail(loc, "expected a group name (one word)", "a [group:children] section lists one group name per line");
        continue;
      }
      const c = gm[1]!;
      if (!declared.has(c) && !pending.has(c)) pending.set(c, { loc, state: "children", parent: group.name });
      rawGroup(inv, c, loc);
      group.children.add(c);
      inv.groups.get(c)!.parents.add(group.name);
    }
  }
  for (const [name, p] of pending) {
    if (p.state === "vars") fail(p.loc, `section [${name}:vars] is for a group that is never defined`, `add a [${name}] section, or remove this one (Ansible refuses the file)`);
    else fail(p.loc, `section [${p.parent}:children] includes the undefined group ${name}`, `add a [${name}] section (it may be empty), as Ansible requires`);
  }
  // A cycle through children: Ansible refuses it when adding the child.
  for (const g of inv.groups.values()) {
    if (reaches(inv, g.name, g.name)) {
      fail(g.loc ?? { file, line: 1, col: 1 }, `group ${g.name} contains itself (through children)`, "remove the loop");
      break;
    }
  }
  return inv;
}

function reaches(inv: RawInventory, from: string, target: string): boolean {
  const seen = new Set<string>();
  const stack = [...(inv.groups.get(from)?.children ?? [])];
  while (stack.length > 0) {
    const c = stack.pop()!;
    if (c === target) return true;
    if (seen.has(c)) continue;
    seen.add(c);
    for (const x of inv.groups.get(c)?.children ?? []) stack.push(x);
  }
  return false;
}

/**
 * ini.py's _parse_value: Python's ast.literal_eval where it succeeds (numbers, True/False/None,
 * quoted strings, lists and dicts of those), else the text itself.
 */
export function iniValue(v: string): unknown {
  const s = v.trim();
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (s === "True") return true;
  if (s === "False") return false;
  if (s === "None") return null;
  const q = /^(['"])(.*)\1$/s.exec(s);
  if (q && !q[2]!.includes(q[1]!)) return q[2];
  if ((s.startsWith("[") && s.endsWith("]")) || (s.startsWith("{") && s.endsWith("}"))) {
    // Python literals are close to JSON once quotes and constants are JSON's.
    try {
      return JSON.parse(s.replace(/'/g, '"').replace(/\bTrue\b/g, "true").replace(/\bFalse\b/g, "false").replace(/\bNone\b/g, "null"));
    } catch {
      return s;
    }
  }
  return v;
}

interface Word {
  text: string;
  col: number;
}

/** Python's shlex.split(line, comments=True) (POSIX mode), with each word's column. */
export function shlexSplit(line: string): Word[] | { error: string } {
  const out: Word[] = [];
  let cur = "";
  let start = -1;
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else cur += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === "\\")) cur += line[++i];
      else cur += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) out.push({ text: cur, col: start + 1 });
      cur = "";
      inWord = false;
      continue;
    }
    if (ch === "#") break;
    if (!inWord) {
      inWord = true;
      start = i;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "\\") {
      if (i + 1 >= line.length) return { error: "No escaped character" };
      cur += line[++i];
    } else cur += ch;
  }
  if (quote) return { error: "No closing quotation" };
  if (inWord) out.push({ text: cur, col: start + 1 });
  return out;
}

// --- group_vars/ and host_vars/ --------------------------------------------------------------

/** host_group_vars.py's extensions: the bare name, .yml, .yaml, .json. */
const VARS_EXT = /(\.ya?ml|\.json)?$/;

/**
 * Which entity a file under group_vars/ or host_vars/ is for, given its path below the
 * inventory's folder (`group_vars/web.yml`, `group_vars/web/main.yml`, `host_vars/h1`); undefined
 * for files Ansible does not read (hidden, other extensions, deeper than a directory of files...).
 */
export function varsFileEntity(rel: string): { kind: "group" | "host"; name: string } | undefined {
  const parts = rel.split("/");
  const kind = parts[0] === "group_vars" ? "group" : parts[0] === "host_vars" ? "host" : undefined;
  if (!kind || parts.length < 2) return undefined;
  if (parts.slice(1).some((p) => p.startsWith(".") || p === "")) return undefined;
  const last = parts[parts.length - 1]!;
  if (parts.length === 2) return { kind, name: last.replace(VARS_EXT, "") || last };
  // A directory named after the entity: its files with a YAML/JSON extension or none, by path.
  if (!VARS_EXT.exec(last)![1] && last.includes(".")) return undefined;
  return { kind, name: parts[1]! };
}

export function readVarsFile(text: string, file: string): { vars: Map<string, RawVar>; diagnostics: Diagnostic[] } {
  const vars = new Map<string, RawVar>();
  const diagnostics: Diagnostic[] = [];
  if (text.startsWith("$ANSIBLE_VAULT;")) {
    diagnostics.push({ severity: "warning", code: "LVS501", message: `${file} is encrypted with ansible-vault, which lvsctl does not decrypt; its variables are not used`, hint: "keep connection settings lvsctl needs out of vault files, or set them in the lvsctl inventory", location: { file, line: 1, col: 1 } });
    return { vars, diagnostics };
  }
  const src = parseYaml(text, file);
  diagnostics.push(...yamlDiagnostics(src.diagnostics));
  if (src.broken) return { vars, diagnostics };
  const top = src.doc.contents as Node | null;
  if (top === null || (isScalar(top) && top.value === null)) return { vars, diagnostics };
  if (!isMap(top)) {
    diagnostics.push({ severity: "error", code: "LVS500", message: `${file} must be a mapping of variables`, hint: "write `name: value` lines", ...(top.range ? { location: src.locate(top.range[0]) } : {}) });
    return { vars, diagnostics };
  }
  for (const p of top.items) {
    const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
    const v = p.value as Node | null;
    const n = v ?? (p.key as Node);
    const value = v === null ? null : isScalar(v) ? v.value : isSeq(v) || isMap(v) ? v.toJS(src.doc, { maxAliasCount: 1000 }) : (v as Node).toJS(src.doc);
    vars.set(k, rawVar(value, n?.range ? src.locate(n.range[0]) : undefined, v && "tag" in v ? (v as { tag?: string }).tag : undefined));
  }
  return { vars, diagnostics };
}

/**
 * Which reader Ansible would use: the YAML plugin for .yml/.yaml/.json and for files without an
 * extension that parse as a YAML mapping; INI otherwise (ansible.cfg's default enable_plugins
 * order: ... yaml, ini).
 */
export function readAnsibleInventory(text: string, file: string): RawInventory {
  const ext = /\.([^./]+)$/.exec(file)?.[1]?.toLowerCase();
  if (ext === "yml" || ext === "yaml" || ext === "json") return readYamlInventory(text, file);
  if (ext === undefined) {
    const y = parseYaml(text, file);
    if (!y.broken && isMap(y.doc.contents)) return readYamlInventory(text, file);
  }
  return readIniInventory(text, file);
}
