// Import hosts and groups from an Ansible inventory (INI or YAML, with group_vars/ and host_vars/),
// because that is what operators already have. ansible-read.ts reads the files as Ansible does;
// here the result becomes our own inventory's shape (hosts/groups as in schema.ts), so one set of
// rules checks both; each imported field remembers where it came from, so problems point into
// the Ansible files.
import type { SourceLocation } from "../errors/index.js";
import { readAnsibleInventory, rawGroup, readVarsFile, varsFileEntity, type RawVar } from "./ansible-read.js";
import type { Diagnostic, Path } from "./diagnostic.js";

export interface AnsibleImport {
  file: string;
  /** Hosts in our `hosts:` shape (address, port, user, key_file, password, become, jump, vars). */
  hosts: Record<string, Record<string, unknown>>;
  /** Groups in our `groups:` shape (hosts, children, vars, ssh). */
  groups: Record<string, Record<string, unknown>>;
  diagnostics: Diagnostic[];
  has(kind: "hosts" | "groups", name: string): boolean;
  /** Where a field of an imported host or group came from; `rest` is the path inside our shape. */
  at(kind: "hosts" | "groups", name: string, rest: Path, opts?: { key?: boolean }): SourceLocation | undefined;
}

/** Ansible connection variables and the key of our SshSettings they become. */
const SSH_VARS: Record<string, string> = {
  ansible_host: "address",
  ansible_ssh_host: "address",
  ansible_port: "port",
  ansible_ssh_port: "port",
  ansible_user: "user",
  ansible_ssh_user: "user",
  ansible_ssh_private_key_file: "key_file",
  ansible_private_key_file: "key_file",
  ansible_password: "password",
  ansible_ssh_pass: "password",
  ansible_ssh_password: "password",
  ansible_become: "become",
  ansible_become_user: "become.user",
  ansible_become_password: "become.password",
  ansible_become_pass: "become.password",
  ansible_become_method: "become.method",
  ansible_ssh_common_args: "jump",
  ansible_ssh_extra_args: "jump",
  ansible_connection: "connection",
  ansible_ssh_timeout: "connect_timeout",
  ansible_timeout: "connect_timeout",
};

/**
 * Import an Ansible inventory (INI or YAML) and the group_vars/ and host_vars/ files beside it.
 * Each host gets the connection variables Ansible would give it (vars/manager.py with the default
 * VARIABLE_PRECEDENCE: all's inventory vars < other groups' inventory vars < group_vars/all <
 * other groups' group_vars files, groups sorted by depth, ansible_group_priority and name < the
 * host's inventory vars < host_vars/HOST; checked against ansible-inventory), so our
 * hosts carry Ansible's answer and groups carry membership only.
 */
export function importAnsible(text: string, file: string, varsFiles: readonly VarsFile[] = []): AnsibleImport {
  const raw = readAnsibleInventory(text, file);
  const diagnostics: Diagnostic[] = [...raw.diagnostics];
  const groupFiles = new Map<string, Map<string, RawVar>>();
  const hostFiles = new Map<string, Map<string, RawVar>>();
  // Files in path order, as host_group_vars.py loads a directory's files (sorted); later wins.
  for (const f of [...varsFiles].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
    const ent = varsFileEntity(f.rel);
    if (!ent) continue;
    const into = ent.kind === "group" ? groupFiles : hostFiles;
    const read = readVarsFile(f.text, f.path);
    diagnostics.push(...read.diagnostics);
    const m = into.get(ent.name) ?? new Map<string, RawVar>();
    for (const [k, v] of read.vars) m.set(k, v);
    into.set(ent.name, m);
  }

  rawGroup(raw, ALL_GROUP, undefined);
  rawGroup(raw, UNGROUPED, undefined);
  // inventory/data.py reconcile_inventory: groups without a parent hang under all; hosts in no
  // group but all go to ungrouped.
  for (const g of raw.groups.values()) {
    if (g.name !== ALL_GROUP && g.parents.size === 0) {
      g.parents.add(ALL_GROUP);
      raw.groups.get(ALL_GROUP)!.children.add(g.name);
    }
  }
  const directGroups = new Map<string, string[]>();
  for (const g of raw.groups.values()) {
    for (const h of g.hosts) {
      let l = directGroups.get(h);
      if (!l) directGroups.set(h, (l = []));
      l.push(g.name);
    }
  }
  const ungrouped = raw.groups.get(UNGROUPED)!;
  for (const h of raw.hosts.keys()) {
    const gs = (directGroups.get(h) ?? []).filter((g) => g !== ALL_GROUP && g !== UNGROUPED);
    if (gs.length === 0) ungrouped.hosts.add(h);
    else ungrouped.hosts.delete(h);
    directGroups.set(h, [...gs, ...(gs.length === 0 ? [UNGROUPED] : [])]);
  }

  // Depth (inventory/group.py: a child is one deeper than its deepest parent) and priority.
  const depth = new Map<string, number>([[ALL_GROUP, 0]]);
  const depthOf = (g: string, seen: Set<string>): number => {
    const known = depth.get(g);
    if (known !== undefined) return known;
    if (seen.has(g)) return 1; // a loop: reported by the reader
    seen.add(g);
    let d = 1;
    for (const p of raw.groups.get(g)?.parents ?? []) d = Math.max(d, depthOf(p, seen) + 1);
    seen.delete(g);
    depth.set(g, d);
    return d;
  };
  const priority = (g: string) => {
    const v = raw.groups.get(g)?.vars.get("ansible_group_priority")?.value;
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : 1;
    return n;
  };
  const ancestors = new Map<string, string[]>();
  const ancestorsOf = (g: string): string[] => {
    const known = ancestors.get(g);
    if (known) return known;
    ancestors.set(g, []); // loop guard
    const out = new Set<string>();
    for (const p of raw.groups.get(g)?.parents ?? []) {
      if (p === ALL_GROUP) continue;
      out.add(p);
      for (const a of ancestorsOf(p)) out.add(a);
    }
    const l = [...out];
    ancestors.set(g, l);
    return l;
  };

  // The group layers of one set of direct groups, shared by every host with that set.
  const layerCache = new Map<string, Map<string, RawVar>>();
  const groupLayers = (direct: string[]): Map<string, RawVar> => {
    const key = direct.join("\u0000");
    const hit = layerCache.get(key);
    if (hit) return hit;
    const all = new Set<string>();
    for (const g of direct) {
      all.add(g);
      for (const a of ancestorsOf(g)) all.add(a);
    }
    all.delete(ALL_GROUP);
    const sorted = [...all].sort((a, b) => depthOf(a, new Set()) - depthOf(b, new Set()) || priority(a) - priority(b) || (a < b ? -1 : a > b ? 1 : 0));
    const out = new Map<string, RawVar>();
    const put = (m: Map<string, RawVar> | undefined) => {
      if (m) for (const [k, v] of m) out.set(k, v);
    };
    put(raw.groups.get(ALL_GROUP)?.vars);
    for (const g of sorted) put(raw.groups.get(g)?.vars);
    put(groupFiles.get(ALL_GROUP));
    for (const g of sorted) put(groupFiles.get(g));
    layerCache.set(key, out);
    return out;
  };

  const reported = new Set<string>();
  const once = (d: Diagnostic, key: string) => {
    const id = `${d.location ? `${d.location.file}:${d.location.line}:${d.location.col}` : ""}|${key}`;
    if (reported.has(id)) return;
    reported.add(id);
    diagnostics.push(d);
  };

  const hosts: Record<string, Record<string, unknown>> = {};
  const fieldLocs = new Map<string, Map<string, SourceLocation | undefined>>();
  for (const h of raw.hosts.values()) {
    const eff = new Map(groupLayers(directGroups.get(h.name)!));
    for (const [k, v] of h.vars) eff.set(k, v);
    for (const [k, v] of hostFiles.get(h.name) ?? []) eff.set(k, v);
    const locs = new Map<string, SourceLocation | undefined>();
    const out = convert(h.name, eff, locs, once);
    // Ansible connects to the inventory name itself when ansible_host is not given.
    if (out["address"] === undefined && !eff.has("ansible_host") && !eff.has("ansible_ssh_host")) {
      out["address"] = h.name;
      locs.set("address", h.loc);
    }
    hosts[h.name] = out;
    fieldLocs.set(h.name, locs);
  }

  const groups: Record<string, Record<string, unknown>> = {};
  for (const g of raw.groups.values()) {
    if (g.name === ALL_GROUP) continue;
    if (g.name === UNGROUPED && g.hosts.size === 0 && g.children.size === 0) continue;
    const entry: Record<string, unknown> = { hosts: [...g.hosts] };
    if (g.children.size > 0) entry["children"] = [...g.children];
    groups[g.name] = entry;
  }

  return {
    file,
    hosts,
    groups,
    diagnostics,
    has: (kind, name) => (kind === "hosts" ? raw.hosts.has(name) : name !== ALL_GROUP && raw.groups.has(name)),
    at: (kind, name, rest) => {
      if (kind === "groups") return raw.groups.get(name)?.loc;
      const h = raw.hosts.get(name);
      if (!h) return undefined;
      const locs = fieldLocs.get(name);
      // Longest known prefix of `rest`: "vars.x", "become.password", "port", ...
      for (let n = rest.length; n > 0; n--) {
        const loc = locs?.get(rest.slice(0, n).map(String).join("."));
        if (loc) return loc;
      }
      return h.loc;
    },
  };
}

export interface VarsFile {
  /** The path to report in diagnostics. */
  path: string;
  /** The path below the inventory's folder: `group_vars/web.yml`, `host_vars/h1/main.yml`. */
  rel: string;
  text: string;
}

const ALL_GROUP = "all";
const UNGROUPED = "ungrouped";

type Once = (d: Diagnostic, key: string) => void;

/** A host's effective Ansible variables to our host fields; each field remembers its location. */
function convert(name: string, eff: Map<string, RawVar>, locs: Map<string, SourceLocation | undefined>, once: Once): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const vars: Record<string, unknown> = {};
  const become: { on?: RawVar; user?: RawVar; password?: RawVar } = {};
  const warn = (code: string, message: string, hint: string, loc: SourceLocation | undefined, key: string) =>
    once({ severity: "warning", code, message, hint, ...(loc ? { location: loc } : {}) }, key);
  for (const [k, lv] of eff) {
    const target = SSH_VARS[k];
    if (!target && k.startsWith("ansible_")) continue; // python interpreter, facts caching...: not ours
    if (lv.opaque) {
      // Never guessed: the field stays unset (the lvsctl inventory or lvsctl's default applies).
      warn(
        "LVS501",
        lv.opaque === "vault"
          ? `${k} is encrypted with ansible-vault, which lvsctl does not decrypt; it is not used${target ? ` for ${name} and the other hosts it applies to` : ""}`
          : `${k} is a Jinja template, which lvsctl does not evaluate; it is not used${target ? ` for ${name} and the other hosts it applies to` : ""}`,
        target ? `set ${target.replace(".", ": ")} for these hosts in the lvsctl inventory (a secret as {env: NAME}, {file: PATH} or {prompt: TEXT})` : "give lvsctl a literal value, or leave the variable to Ansible",
        lv.loc,
        k,
      );
      continue;
    }
    if (!target) {
      vars[k] = lv.value;
      locs.set(`vars.${k}`, lv.loc);
      continue;
    }
    switch (target) {
      case "address":
        out["address"] = typeof lv.value === "number" ? String(lv.value) : lv.value;
        locs.set("address", lv.loc);
        break;
      case "port":
      case "connect_timeout":
        out[target] = typeof lv.value === "string" && /^\d+$/.test(lv.value.trim()) ? Number(lv.value) : lv.value;
        locs.set(target, lv.loc);
        break;
      case "user":
      case "key_file":
      case "password":
        out[target] = lv.value;
        locs.set(target, lv.loc);
        break;
      case "become":
        become.on = lv;
        break;
      case "become.user":
        become.user = lv;
        break;
      case "become.password":
        become.password = lv;
        break;
      case "become.method":
        if (lv.value !== "sudo") warn("LVS502", `${k}: ${String(lv.value)} is not supported; lvsctl becomes root with sudo`, "use sudo on this host, or remove the setting", lv.loc, k);
        break;
      case "connection":
        if (lv.value !== "ssh" && lv.value !== "smart" && lv.value !== "paramiko") {
          warn("LVS502", `${k}: ${String(lv.value)} is ignored; lvsctl always connects over SSH`, "make sure the host is reachable over SSH", lv.loc, k);
        }
        break;
      case "jump": {
        if (typeof lv.value !== "string") {
          once({ severity: "error", code: "LVS501", message: `${k} of ${name} must be a string of ssh arguments`, hint: 'for example "-o ProxyJump=user@bastion:22"', ...(lv.loc ? { location: lv.loc } : {}) }, k);
          break;
        }
        const j = parseSshArgs(lv.value);
        if (j.ignored.length > 0) {
          warn("LVS502", `${k} of ${name}: ${j.ignored.join(" ")} ignored; only ProxyJump (-J) is understood`, "express other settings in the lvsctl inventory, or remove them", lv.loc, k);
        }
        if (j.jump.length > 0) {
          out["jump"] = j.jump;
          locs.set("jump", lv.loc);
        }
        break;
      }
    }
  }
  if (become.on) {
    const on = asBool(become.on.value);
    if (on === undefined) {
      out["become"] = become.on.value; // let the schema say what is wrong, located here
      locs.set("become", become.on.loc);
    } else if (on) {
      const b: Record<string, unknown> = {};
      if (become.user) {
        b["user"] = become.user.value;
        locs.set("become.user", become.user.loc);
      }
      if (become.password) {
        b["password"] = become.password.value;
        locs.set("become.password", become.password.loc);
      }
      out["become"] = Object.keys(b).length > 0 ? b : true;
      locs.set("become", become.on.loc);
    } else {
      out["become"] = false;
      locs.set("become", become.on.loc);
    }
  } else if (become.password || become.user) {
    const lv = (become.password ?? become.user)!;
    warn("LVS502", `become user/password for ${name} without ansible_become: true; ignored`, "set ansible_become: true, or become: in the lvsctl inventory", lv.loc, "become");
  }
  if (Object.keys(vars).length > 0) out["vars"] = vars;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Ansible booleans: yes/no/true/false/on/off/1/0 in any case. */
function asBool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim().toLowerCase();
  if (["yes", "true", "on", "1", "y"].includes(s)) return true;
  if (["no", "false", "off", "0", "n"].includes(s)) return false;
  return undefined;
}

/**
 * The ProxyJump hops from ssh arguments (`-J a,b`, `-o ProxyJump=a`, `-o "ProxyJump a"`), and
 * what was not understood. Hops are `[user@]host[:port]`.
 */
export function parseSshArgs(args: string): { jump: string[]; ignored: string[] } {
  const words = splitShellWords(args);
  const jump: string[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let value: string | undefined;
    if (w === "-J") value = words[++i];
    else if (w.startsWith("-J")) value = w.slice(2);
    else if (w === "-o" || w.startsWith("-o")) {
      const opt = w === "-o" ? words[++i] : w.slice(2);
      const m = opt ? /^ProxyJump\s*[= ]\s*(.+)$/i.exec(opt) : null;
      if (m) value = m[1];
      else ignored.push(`-o ${opt ?? ""}`.trim());
      if (!m) continue;
    } else {
      ignored.push(w);
      continue;
    }
    if (!value || value.toLowerCase() === "none") continue;
    for (const hop of value.split(",")) if (hop.trim()) jump.push(hop.trim().replace(/^ssh:\/\//, ""));
  }
  return { jump, ignored };
}

function splitShellWords(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let any = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += ch;
    }
  }
  if (cur || any) out.push(cur);
  return out;
}

