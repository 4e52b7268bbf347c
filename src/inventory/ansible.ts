// Import hosts and groups from an Ansible YAML inventory (the `all:` / `children:` / `hosts:` /
// `vars:` layout), because that is what operators already have. The result is in our own
// inventory's shape (hosts/groups as in schema.ts), so one set of rules checks both; each
// imported field remembers where it came from, so problems point into the Ansible file.
import type { SourceLocation } from "../errors/index.js";
import type { Diagnostic, Path } from "./diagnostic.js";
import { parseYaml } from "./source.js";

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

interface Located {
  value: unknown;
  loc: SourceLocation | undefined;
}

interface Entity {
  loc: SourceLocation | undefined;
  vars: Map<string, Located>;
}

const GROUP_KEYS = new Set(["hosts", "children", "vars"]);

export function importAnsible(text: string, file: string): AnsibleImport {
  const src = parseYaml(text, file);
  const diagnostics: Diagnostic[] = [...src.diagnostics];
  const hostEntities = new Map<string, Entity>();
  const groupEntities = new Map<string, Entity & { hosts: string[]; children: string[] }>();
  const fieldLocs = { hosts: new Map<string, Map<string, SourceLocation | undefined>>(), groups: new Map<string, Map<string, SourceLocation | undefined>>() };

  const diag = (severity: Diagnostic["severity"], code: string, message: string, hint: string, path: Path, key = false) => {
    const location = src.at(path, { key });
    diagnostics.push({ severity, code, message, hint, ...(location ? { location } : {}) });
  };

  const result = (): AnsibleImport => {
    const hosts: Record<string, Record<string, unknown>> = {};
    const groups: Record<string, Record<string, unknown>> = {};
    for (const [name, e] of hostEntities) {
      const locs = new Map<string, SourceLocation | undefined>();
      hosts[name] = convert(name, e, "host", locs);
      // Ansible connects to the inventory name itself when ansible_host is not given.
      if (hosts[name]!["address"] === undefined) {
        hosts[name]!["address"] = name;
        locs.set("address", e.loc);
      }
      fieldLocs.hosts.set(name, locs);
    }
    for (const [name, e] of groupEntities) {
      const locs = new Map<string, SourceLocation | undefined>();
      const ssh = convert(name, e, "group", locs);
      const { vars, ...sshOnly } = ssh;
      const g: Record<string, unknown> = { hosts: e.hosts };
      if (e.children.length > 0) g["children"] = e.children;
      if (vars !== undefined) g["vars"] = vars;
      if (Object.keys(sshOnly).length > 0) {
        g["ssh"] = sshOnly;
        for (const k of Object.keys(sshOnly)) locs.set(`ssh.${k}`, locs.get(k));
      }
      groups[name] = g;
      fieldLocs.groups.set(name, locs);
    }
    return {
      file,
      hosts,
      groups,
      diagnostics,
      has: (kind, name) => (kind === "hosts" ? hostEntities.has(name) : groupEntities.has(name)),
      at: (kind, name, rest) => {
        const ent = kind === "hosts" ? hostEntities.get(name) : groupEntities.get(name);
        if (!ent) return undefined;
        const locs = fieldLocs[kind].get(name);
        // Longest known prefix of `rest`: "vars.x", "become.password", "ssh.port", ...
        for (let n = rest.length; n > 0; n--) {
          const key = rest.slice(0, n).map(String).join(".");
          const loc = locs?.get(key);
          if (loc) return loc;
        }
        return ent.loc;
      },
    };
  };

  // Map an entity's Ansible vars to our fields; remember each field's location.
  function convert(name: string, e: Entity, kind: "host" | "group", locs: Map<string, SourceLocation | undefined>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const vars: Record<string, unknown> = {};
    const become: { on?: Located; user?: Located; password?: Located } = {};
    for (const [k, lv] of e.vars) {
      const target = SSH_VARS[k];
      if (typeof lv.value === "string" && lv.value.includes("{{")) {
        diagnostics.push(warn("LVS501", `${k} of ${name} is a Jinja template, which lvsctl does not evaluate; it is ignored`, "set the value in the lvsctl inventory instead", lv.loc));
        continue;
      }
      if (!target) {
        if (k.startsWith("ansible_")) continue; // python interpreter, facts caching...: not ours
        vars[k] = lv.value;
        locs.set(`vars.${k}`, lv.loc);
        continue;
      }
      switch (target) {
        case "address":
          if (kind === "group") {
            diagnostics.push(warn("LVS502", `${k} in the vars of group ${name} is ignored: an address belongs to one host`, "move it to the host", lv.loc));
            break;
          }
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
          if (lv.value !== "sudo") diagnostics.push(warn("LVS502", `${k}: ${String(lv.value)} is not supported; lvsctl becomes root with sudo`, "use sudo on this host, or remove the setting", lv.loc));
          break;
        case "connection":
          if (lv.value !== "ssh" && lv.value !== "smart" && lv.value !== "paramiko") {
            diagnostics.push(warn("LVS502", `${k}: ${String(lv.value)} is ignored; lvsctl always connects over SSH`, "make sure the host is reachable over SSH", lv.loc));
          }
          break;
        case "jump": {
          if (typeof lv.value !== "string") {
            diagnostics.push({ severity: "error", code: "LVS501", message: `${k} of ${name} must be a string of ssh arguments`, hint: 'for example "-o ProxyJump=user@bastion:22"', ...(lv.loc ? { location: lv.loc } : {}) });
            break;
          }
          const j = parseSshArgs(lv.value);
          if (j.ignored.length > 0) {
            diagnostics.push(warn("LVS502", `${k} of ${name}: ${j.ignored.join(" ")} ignored; only ProxyJump (-J) is understood`, "express other settings in the lvsctl inventory, or remove them", lv.loc));
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
      diagnostics.push(warn("LVS502", `become user/password for ${name} without ansible_become: true; ignored`, "set ansible_become: true, or become: in the lvsctl inventory", lv.loc));
    }
    if (Object.keys(vars).length > 0) out["vars"] = vars;
    return out;
  }

  function warn(code: string, message: string, hint: string, loc: SourceLocation | undefined): Diagnostic {
    return { severity: "warning", code, message, hint, ...(loc ? { location: loc } : {}) };
  }

  if (src.broken) return result();
  const top = src.data;
  if (top === null || top === undefined) {
    diagnostics.push({ severity: "warning", code: "LVS500", message: `the Ansible inventory ${file} is empty`, hint: "it should start with `all:`" });
    return result();
  }
  if (!isRecord(top)) {
    diag("error", "LVS500", "an Ansible YAML inventory must be a mapping of groups (usually `all:`)", "for an INI inventory, convert it first: ansible-inventory -i FILE --list --yaml", []);
    return result();
  }

  // Walk groups depth-first; a group may appear several times (Ansible merges them).
  const visitGroup = (name: string, node: unknown, path: Path, seen: Set<string>) => {
    const ent = groupEntities.get(name) ?? { loc: src.at(path, { key: true }), vars: new Map<string, Located>(), hosts: [] as string[], children: [] as string[] };
    groupEntities.set(name, ent);
    if (node === null || node === undefined) return;
    if (!isRecord(node)) {
      diag("error", "LVS500", `group ${name} must be a mapping with hosts:, children: or vars:`, "for an empty group write `name: {}`", path);
      return;
    }
    for (const k of Object.keys(node)) {
      if (!GROUP_KEYS.has(k)) diag("error", "LVS500", `unknown key "${k}" in Ansible group ${name}`, "an Ansible group has only hosts:, children: and vars:", [...path, k], true);
    }
    const vars = node["vars"];
    if (vars !== undefined && vars !== null) {
      if (!isRecord(vars)) diag("error", "LVS500", `vars of group ${name} must be a mapping`, "write `vars:` followed by `name: value` lines", [...path, "vars"]);
      else for (const [k, v] of Object.entries(vars)) ent.vars.set(k, { value: v, loc: src.at([...path, "vars", k]) });
    }
    const hosts = node["hosts"];
    if (hosts !== undefined && hosts !== null) {
      if (!isRecord(hosts)) {
        diag("error", "LVS500", `hosts of group ${name} must be a mapping of host names (a list is not Ansible's YAML format)`, "write each host as `name:` on its own line, with its vars below it", [...path, "hosts"]);
      } else {
        for (const [h, hv] of Object.entries(hosts)) {
          const hpath = [...path, "hosts", h];
          if (/\[[^\]]*:[^\]]*\]/.test(h)) {
            diag("warning", "LVS501", `host pattern ${h} (a range) is not expanded by lvsctl; it is ignored`, "list the hosts one by one", hpath, true);
            continue;
          }
          if (!ent.hosts.includes(h)) ent.hosts.push(h);
          const he: Entity = hostEntities.get(h) ?? { loc: src.at(hpath, { key: true }), vars: new Map<string, Located>() };
          hostEntities.set(h, he);
          if (hv === null || hv === undefined) continue;
          if (!isRecord(hv)) {
            diag("error", "LVS500", `host ${h} must be followed by a mapping of its vars (or nothing)`, "write `ansible_host: 10.0.0.1` and so on below the host name", hpath);
            continue;
          }
          for (const [k, v] of Object.entries(hv)) he.vars.set(k, { value: v, loc: src.at([...hpath, k]) });
        }
      }
    }
    const children = node["children"];
    if (children !== undefined && children !== null) {
      if (!isRecord(children)) {
        diag("error", "LVS500", `children of group ${name} must be a mapping of group names`, "write each child group as `name:` on its own line", [...path, "children"]);
      } else {
        for (const [c, cv] of Object.entries(children)) {
          if (!ent.children.includes(c)) ent.children.push(c);
          if (seen.has(c)) {
            diag("error", "LVS500", `group ${c} contains itself (through children)`, "remove the loop", [...path, "children", c], true);
            continue;
          }
          seen.add(c);
          visitGroup(c, cv, [...path, "children", c], seen);
          seen.delete(c);
        }
      }
    }
  };
  for (const [name, node] of Object.entries(top)) visitGroup(name, node, [name], new Set([name]));
  return result();
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

