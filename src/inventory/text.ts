// What an inventory value may hold in each file lvsctl writes: the one place for these rules.
// validate.ts applies them to every string field of the schema (located, file:line:col); the
// renderers assert the same rules before a value goes into a file (src/render/guard.ts), so
// nothing reaches a director that validate did not check.
//
// Each string field of schema.ts declares its kind with `text(kind, schema)`; a field without one
// gets the strictest kind ("word"), and test/unit/inventory/text.test.ts fails until it is given
// one. The kinds, by the formats their values reach:
//
//   every kind         no control character (C0, DEL, C1, U+2028/U+2029, bidi overrides): a
//                      newline would start a new directive, unit line or sysctl line.
//   keepalived.conf    keepalived 2.2.7 (lib/parser.c) reads a file in chunks of MAXBUF - 1 =
//                      1023 bytes (fgets): the rest of a longer line is read as a line of its own.
//                      Outside double quotes `#` and `!` start a comment and `{` `}` split the
//                      line into blocks; inside, there is no escape for `"`, and `\"` hides the
//                      closing quote from decomment(). `$_NAME` / `${_NAME}` are expanded in
//                      every line, quoted or not (its built-in definitions: _PWD, _INSTANCE,
//                      _RANDOM, _HASH, _BANG). A line that starts with `@`, `~` or `$` is a
//                      config-id filter, a sequence or a definition.
//   systemd units      one directive per line; `%` starts a specifier and `$` a variable in
//                      Exec lines; paths are written bare.
//   sysctl.d           `key = value` per line; the value is trimmed; keys by pattern (sysctls.ts).
//   interface names    the kernel's dev_valid_name(): 1-15 bytes (IFNAMSIZ 16 with the NUL), not
//                      "." or "..", no '/', ':' or blank; lvsctl writes them bare into
//                      keepalived.conf and sysctl keys, so it keeps to letters, digits, _ . -
//   shell / argv       paths are absolute, normalised, without blanks or shell metacharacters;
//                      a plain word never starts with '-', which a command would take as an option.
//   lvsd.json          JSON.stringify escapes everything; the rules above are what it needs too.
import { posix } from "node:path";
import { z } from "zod";
import type { Code } from "./codes.js";
import { sysctlKeyProblem } from "./sysctls.js";

export type TextKind =
  /** One line of free text that reaches no config file (prompt texts, local paths, configure options). */
  | "line"
  /** An SSH or sudo password: one line, and never echoed in a message. */
  | "secret"
  /** A VRRP auth_pass: a secret written into keepalived.conf (quoted when needed). */
  | "authPass"
  /** One plain word: a user, an address, a host or group reference, a version. */
  | "word"
  /** Host and group names: LVS215 (validate.ts) states their rule; nothing more here. */
  | "name"
  /** A keepalived.conf value written as one word, double-quoted when it has blanks (router_id, virtualhost, url path). */
  | "kaText"
  /** A keepalived.conf value written bare, maybe several words (smtp_server, instance names). */
  | "kaBare"
  /** A label: a keepalived.conf comment, lvsd.json, logs (virtual_servers[].name). */
  | "kaComment"
  /** A command line run by keepalived and lvsd: double-quoted in keepalived.conf, split into argv. */
  | "script"
  /** A Linux network interface name. */
  | "interface"
  /** An address label (IFA_LABEL), written bare into keepalived.conf. */
  | "ipLabel"
  /** keepalived's virtual_ipaddress line: ADDRESS[/PREFIX] [dev IFACE] [label NAME]. */
  | "vip"
  /** An absolute path on the directors, written bare into units and commands. */
  | "path"
  | "sysctlKey"
  | "sysctlValue";

export interface TextProblem {
  code: Code;
  /** What is wrong, without the field's path (the caller puts it in front). */
  message: string;
  hint: string;
}

/** keepalived's fgets(buf, MAXBUF) reads at most MAXBUF - 1 bytes of a line (lib/parser.h MAXBUF 1024). */
export const KEEPALIVED_LINE_MAX = 1023;
/** Room for the keyword, indentation and quotes lvsctl writes before a value (the longest is under 40 bytes). */
const KEEPALIVED_PREFIX_ROOM = 63;
/** The most a value may take in keepalived.conf, in UTF-8 bytes. */
export const KEEPALIVED_VALUE_MAX = KEEPALIVED_LINE_MAX - KEEPALIVED_PREFIX_ROOM;
/** IFNAMSIZ (linux/if.h) is 16 with the terminating NUL. */
export const IFNAME_MAX = 15;
/** Paths on the directors: well under PATH_MAX, and short enough for every line they reach. */
export const PATH_MAX_BYTES = 256;

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, bidi embeddings/overrides/isolates.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const NAMED: Record<string, string> = { "\n": "a newline", "\r": "a carriage return", "\u0000": "a NUL byte", "\t": "a tab", "\u001b": "an escape character" };
const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

function controlProblem(v: string, where: string, secret: boolean): TextProblem | undefined {
  const m = CONTROL.exec(v);
  if (!m) return undefined;
  const c = m[0];
  const what = `${NAMED[c] ?? "a control character"} (${hex(c)})`;
  return {
    code: "LVS120",
    message: secret ? `holds ${what}` : `holds ${what} at character ${m.index + 1}; in ${where} it would start a new line or end the value`,
    hint: c === "\n" || c === "\r" ? "write the value on one line (a YAML block scalar `|` or `>` keeps newlines; use a plain or quoted string)" : "remove the control character",
  };
}

function keepalivedProblem(v: string, opts: { quoted: boolean; secret?: boolean }): TextProblem | undefined {
  const say = (what: string, hint: string): TextProblem => ({ code: "LVS121", message: `${what}, which keepalived.conf would read as syntax`, hint });
  const expansion = /\$\{?_/.exec(v);
  if (expansion) return say(opts.secret ? "holds `$_`" : `holds "${expansion[0]}" at character ${expansion.index + 1}`, "keepalived expands $_NAME and ${_NAME} (its definitions _PWD, _INSTANCE, _RANDOM, _HASH, _BANG) anywhere in a line; write the text without `$_`");
  if (v.includes('"')) return say("holds a double quote", "keepalived.conf has no escape for a double quote; use single quotes, or move the command into a script file");
  if (v.endsWith("\\")) return say("ends with a backslash", "a backslash before the closing quote hides it from keepalived's parser; remove it");
  if (!opts.quoted) {
    const m = /[#!{}'\\$]/.exec(v);
    if (m) return say(`holds ${JSON.stringify(m[0])} at character ${m.index + 1}`, "keepalived reads # and ! as the start of a comment and { } as block braces; use letters, digits and . _ - : / @");
    if (/^[@~]/.test(v)) return say(`starts with ${JSON.stringify(v[0])}`, "keepalived reads a line starting with @ or ~ as a config-id filter or a sequence; start with a letter or digit");
  }
  if (bytes(v) > KEEPALIVED_VALUE_MAX) {
    return {
      code: "LVS122",
      message: `is ${bytes(v)} bytes, too long for one keepalived.conf line: keepalived reads lines of at most ${KEEPALIVED_LINE_MAX} bytes and takes the rest as a line of its own`,
      hint: `shorten it to at most ${KEEPALIVED_VALUE_MAX} bytes`,
    };
  }
  return undefined;
}

/** The kernel's dev_valid_name() (net/core/dev.c), then the characters lvsctl writes bare. */
export function interfaceProblem(v: string, opts: { glob?: boolean } = {}): TextProblem | undefined {
  const say = (message: string, hint = "use letters, digits, '_', '.' and '-', at most 15 characters (eth0, ens3, bond0.100)"): TextProblem => ({ code: "LVS123", message, hint });
  if (opts.glob && v === "*") return undefined;
  if (v.length === 0) return say("is empty; an interface needs a name");
  if (bytes(v) > IFNAME_MAX) return say(`is ${bytes(v)} bytes; the kernel allows interface names of at most ${IFNAME_MAX} (IFNAMSIZ)`);
  if (v === "." || v === "..") return say(`is "${v}", which the kernel refuses as an interface name`);
  const kernel = /[/:\s]/.exec(v);
  if (kernel) return say(`holds ${JSON.stringify(kernel[0])}, which the kernel refuses in an interface name`);
  const other = /[^A-Za-z0-9_.-]/.exec(v);
  if (other) {
    const ka = "#!{}\"'".includes(other[0]) ? ": keepalived.conf would read it as syntax (a comment, a block or a quote)" : ": lvsctl writes interface names bare into keepalived.conf and sysctl keys";
    return say(`holds ${JSON.stringify(other[0])} at character ${other.index + 1}${ka}`);
  }
  if (v.startsWith("-")) return say("starts with '-', which a command would take as an option");
  return undefined;
}

function labelProblem(v: string): TextProblem | undefined {
  if (bytes(v) > IFNAME_MAX) return { code: "LVS123", message: `is ${bytes(v)} bytes; an address label is at most ${IFNAME_MAX} (IFNAMSIZ)`, hint: "by convention DEV:NAME, e.g. eth0:vip" };
  const m = /[^A-Za-z0-9_.:-]/.exec(v);
  if (m || v.startsWith("-") || v === "") return { code: "LVS123", message: m ? `holds ${JSON.stringify(m[0])} at character ${m.index + 1}; lvsctl writes address labels bare into keepalived.conf` : "is not an address label", hint: "use letters, digits, '_', '.', '-' and ':', e.g. eth0:vip" };
  return undefined;
}

/** An absolute, normalised path of plain characters: safe bare in units, commands and keepalived.conf. */
export function pathProblem(v: string, what = "a path"): TextProblem | undefined {
  const say = (message: string, hint: string): TextProblem => ({ code: "LVS124", message, hint });
  if (!v.startsWith("/")) return say(`is not an absolute path (${what} on the directors)`, "write it from the root, e.g. /usr/local");
  const normal = posix.normalize(v);
  if (normal !== v) return say(`is not a normalised path (it has ".", ".." or "//")`, `write the path without them, e.g. ${JSON.stringify(normal)}`);
  const m = /[^A-Za-z0-9._+\/-]/.exec(v);
  if (m) return say(`holds ${JSON.stringify(m[0])} at character ${m.index + 1}; lvsctl writes paths bare into systemd units and commands run as root`, "use letters, digits and . _ - + / (no blanks, quotes, %, $, ; or other shell characters)");
  if (bytes(v) > PATH_MAX_BYTES) return say(`is ${bytes(v)} bytes long`, `keep paths on the directors under ${PATH_MAX_BYTES} bytes`);
  return undefined;
}

/**
 * Splits a script line the way keepalived does before exec (lib/parser.c
 * alloc_strvec_quoted_escaped): on blanks, with single or double quotes grouping words and a
 * backslash escaping the next character outside single quotes. lvsd runs the same argv.
 */
export function splitScript(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i]!;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Where each kind's values go, for messages. */
const WHERE: Record<TextKind, string> = {
  line: "lvsctl's output",
  secret: "the login",
  authPass: "keepalived.conf",
  word: "commands and configs",
  name: "file names",
  kaText: "keepalived.conf",
  kaBare: "keepalived.conf",
  kaComment: "keepalived.conf and lvsd.json",
  script: "keepalived.conf and lvsd.json",
  interface: "keepalived.conf and lvsd.json",
  ipLabel: "keepalived.conf",
  vip: "keepalived.conf",
  path: "systemd units and commands",
  sysctlKey: "a sysctl.d file",
  sysctlValue: "a sysctl.d file",
};

/** What is wrong with `v` as a value of this kind, or undefined. Secrets are never quoted back. */
export function textProblem(kind: TextKind, v: string): TextProblem | undefined {
  const secret = kind === "secret" || kind === "authPass";
  const c = controlProblem(v, WHERE[kind], secret);
  if (c) return c;
  switch (kind) {
    case "line":
    case "secret":
    case "name":
      return undefined;
    case "authPass":
      return keepalivedProblem(v, { quoted: true, secret: true });
    case "word":
      if (/\s/.test(v)) return { code: "LVS126", message: "holds a blank, where one word is needed", hint: "remove the blanks" };
      if (v.startsWith("-")) return { code: "LVS126", message: "starts with '-', which a command would take as an option", hint: "remove the leading '-'" };
      return undefined;
    case "kaText":
      return keepalivedProblem(v, { quoted: true });
    case "kaBare":
      return keepalivedProblem(v, { quoted: false });
    case "kaComment":
      return bytes(v) > KEEPALIVED_VALUE_MAX ? keepalivedProblem(v, { quoted: true }) : undefined;
    case "script": {
      const k = keepalivedProblem(v, { quoted: true });
      if (k) return k;
      const program = splitScript(v)[0];
      if (program === undefined) return { code: "LVS124", message: "is an empty command", hint: "give the absolute path of a program, then its arguments" };
      const p = pathProblem(program, "the program to run");
      return p ? { ...p, message: `runs ${JSON.stringify(program)}, which ${p.message}` } : undefined;
    }
    case "interface":
      return interfaceProblem(v);
    case "ipLabel":
      return labelProblem(v);
    case "vip": {
      const words = v.trim().split(/\s+/);
      for (let i = 1; i + 1 < words.length; i += 2) {
        const p = words[i] === "dev" ? interfaceProblem(words[i + 1]!) : words[i] === "label" ? labelProblem(words[i + 1]!) : undefined;
        if (p) return { ...p, message: `${words[i]} ${JSON.stringify(words[i + 1])} ${p.message}` };
      }
      return keepalivedProblem(v, { quoted: false });
    }
    case "path":
      return pathProblem(v);
    case "sysctlKey": {
      // sysctl.d splits a line at its first '=': a key holding one would end there.
      const problem = v.includes("=") ? "it holds '=', where a sysctl.d line ends the key" : sysctlKeyProblem(v);
      return problem ? { code: "LVS125", message: `${JSON.stringify(v.length > 80 ? v.slice(0, 80) + "..." : v)} is not a sysctl key: ${problem}`, hint: "write it as sysctl(8) shows it, e.g. net.ipv4.vs.conntrack" } : undefined;
    }
    case "sysctlValue":
      if (v.trim() !== v || v === "") return { code: "LVS125", message: v === "" ? "is empty" : "starts or ends with blanks, which sysctl.d drops", hint: "give the value without surrounding blanks" };
      if (/^[#;]/.test(v)) return { code: "LVS125", message: "starts with a comment character", hint: "sysctl values are numbers or words" };
      return undefined;
  }
}

// --- the schema's side ------------------------------------------------------------------------

/** Each string field's kind, registered where schema.ts declares the field. */
export const textKinds = z.registry<{ text: TextKind }>();

/** Declares the kind of a string schema (the last call before .optional()/.default()). */
export function text<T extends z.ZodType>(kind: TextKind, schema: T): T {
  textKinds.add(schema as z.ZodType, { text: kind });
  return schema;
}

/** Where string fields sit in the schema: a trie over object keys and `*` for list items and mapping values. */
export interface TextField {
  /** The kind of a string at this place; "format" when zod itself checks it (an IP, an e-mail). */
  kind?: TextKind | "format" | undefined;
  /** For a mapping: the kind of its keys. */
  keyKind?: TextKind | undefined;
  children: Map<string, TextField>;
}

type Def = { type: string; [k: string]: unknown };
type AnyZod = { _zod: { def: Def } };

/** The trie of string fields of a zod schema; a string without a registered kind is "word" and `unkinded` lists it. */
export function textFields(schema: z.ZodType, unkinded: string[] = []): TextField {
  const root: TextField = { children: new Map() };
  const visit = (s: AnyZod, node: TextField, path: string): void => {
    const def = s._zod.def;
    const registered = textKinds.get(s as unknown as z.ZodType)?.text;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
        return visit(def["innerType"] as AnyZod, node, path);
      case "pipe":
        return visit(def["in"] as AnyZod, node, path);
      case "string": {
        const kind = registered ?? (def["format"] ? "format" : undefined);
        if (kind === undefined) unkinded.push(path);
        const k = kind ?? "word";
        if (node.kind !== undefined && node.kind !== k) throw new Error(`${path}: string kinds ${node.kind} and ${k} meet at one place`);
        node.kind = k;
        return;
      }
      case "union":
        for (const o of def["options"] as AnyZod[]) visit(o, node, path);
        return;
      case "object":
        for (const [k, v] of Object.entries(def["shape"] as Record<string, AnyZod>)) {
          const child = node.children.get(k) ?? { children: new Map() };
          node.children.set(k, child);
          visit(v, child, `${path}.${k}`);
        }
        return;
      case "array": {
        const child = node.children.get("*") ?? { children: new Map() };
        node.children.set("*", child);
        return visit(def["element"] as AnyZod, child, `${path}[]`);
      }
      case "record": {
        const key = def["keyType"] as AnyZod;
        const keyKind = textKinds.get(key as unknown as z.ZodType)?.text;
        if (keyKind === undefined) unkinded.push(`${path} (keys)`);
        node.keyKind = keyKind ?? "word";
        const child = node.children.get("*") ?? { children: new Map() };
        node.children.set("*", child);
        return visit(def["valueType"] as AnyZod, child, `${path}.*`);
      }
      default:
        return; // numbers, booleans, enums, literals, unknown (vars)
    }
  };
  visit(schema as unknown as AnyZod, root, "");
  return root;
}

/**
 * Every string in `data` (validated by the schema the trie came from) with its kind and path:
 * linear in the size of the data.
 */
export function walkText(data: unknown, trie: TextField, visit: (path: (string | number)[], kind: TextKind, value: string, key: boolean) => void): void {
  const go = (v: unknown, node: TextField, path: (string | number)[]): void => {
    if (typeof v === "string") {
      if (node.kind !== undefined && node.kind !== "format") visit(path, node.kind, v, false);
      return;
    }
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      const child = node.children.get("*");
      if (child) v.forEach((x, i) => go(x, child, [...path, i]));
      return;
    }
    const rec = v as Record<string, unknown>;
    const any = node.children.get("*");
    const isRecord = node.keyKind !== undefined;
    for (const k of Object.keys(rec)) {
      if (isRecord && node.keyKind !== "name") visit([...path, k], node.keyKind!, k, true);
      const child = isRecord ? any : node.children.get(k);
      if (child) go(rec[k], child, [...path, k]);
    }
  };
  go(data, trie, []);
}
