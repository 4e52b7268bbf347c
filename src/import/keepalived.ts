// From keepalived.conf files (one per director) to one lvsctl inventory: the inverse of
// src/render/keepalived.ts. Each file is read (conf.ts), mapped directive by directive into what
// the inventory can say, and the directors are merged into one cluster: an instance's priority,
// state, interface and unicast peers per director, everything else once.
//
// Nothing is dropped silently: a directive is either carried over or reported with its file:line
// and why (not supported yet, obsolete, or not valid). Values lvsctl would default differently
// from keepalived are written out, with a comment.
//
// Pure: the files come in as text, includes through ReadOptions.readInclude.
import { isIP } from "node:net";
import { basename } from "node:path";
import { z } from "zod";
import { NAME_PATTERN } from "../inventory/limits.js";
import { Schedulers } from "../inventory/schema.js";
import { defaultPriority, instanceMembers, buildTopology, canonicalIp, serviceName, VRRP_OWNER_PRIORITY } from "../inventory/topology.js";
import type { Inventory, VrrpInstance } from "../inventory/schema.js";
import { readConf, type ConfProblem, type Directive, type ReadOptions, type Word } from "./conf.js";

export interface DirectorFile {
  /** The path as the user gave it (shown in warnings and comments). */
  file: string;
  text: string;
}

export type WarningKind = "unsupported" | "obsolete" | "invalid" | "changed" | "conflict";

/** A directive not carried over as written: `file:line: directive: why`. */
export interface ImportWarning {
  file: string;
  line: number;
  directive: string;
  why: string;
  kind: WarningKind;
}

export interface ImportedDirector {
  name: string;
  file: string;
  /** Where the name came from. */
  namedBy: "router_id" | "file name";
}

/** A note for the YAML writer: a comment on the value at `path`. */
export interface PathNote {
  path: (string | number)[];
  text: string;
}

export interface ImportResult {
  /** The inventory document as plain data, keys in the order they are written. */
  inventory: Record<string, unknown>;
  directors: ImportedDirector[];
  warnings: ImportWarning[];
  /** Problems that stop the import (braces that do not pair up): nothing useful can be written. */
  errors: ImportWarning[];
  notes: PathNote[];
  /** auth_pass values by the environment variable the inventory names: for the caller to export, never to print. */
  secrets: Record<string, string>;
}

// --- small readers ---------------------------------------------------------------------------

const KEEPALIVED_PRIORITY = 100; // keepalived.conf(5): priority default
const KEEPALIVED_LB_KIND = "NAT"; // keepalived's default forwarding method (check_data.c: IP_VS_CONN_F_MASQ)
const KEEPALIVED_LB_ALGO = "wlc"; // keepalived.conf(5): lb_algo default (IPVS_DEF_SCHED)
const LVSCTL_LB_KIND = "DR"; // schema.ts default
/** keepalived uses the first 8 bytes of auth_pass (RFC 2338 section 5.3.6.1, vrrp_parser.c). */
const AUTH_PASS_BYTES = 8;

interface Ctx {
  warn(d: Directive | Word | { file: string; line: number }, directive: string, why: string, kind?: WarningKind): void;
}

function where(d: Directive): string {
  return `${d.file}:${d.line}`;
}

function words(d: Directive): string {
  return [d.name, ...d.args.map((a) => (a.quoted ? `"${a.text}"` : a.text))].join(" ");
}

function intArg(ctx: Ctx, d: Directive, min: number, max: number, i = 0): number | undefined {
  const t = d.args[i]?.text;
  if (t === undefined || !/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    ctx.warn(d, words(d), t === undefined ? "has no value; skipped" : `"${t}" is not a whole number from ${min} to ${max}; skipped`, "invalid");
    return undefined;
  }
  return Number(t);
}

function numArg(ctx: Ctx, d: Directive, min: number, max: number): number | undefined {
  const t = d.args[0]?.text;
  if (t === undefined || !/^\d+(\.\d+)?$/.test(t) || Number(t) < min || Number(t) > max) {
    ctx.warn(d, words(d), t === undefined ? "has no value; skipped" : `"${t}" is not a number from ${min} to ${max}; skipped`, "invalid");
    return undefined;
  }
  return Number(t);
}

function wordArg(ctx: Ctx, d: Directive): string | undefined {
  const t = d.args[0]?.text;
  if (t === undefined || t === "") {
    ctx.warn(d, d.name, "has no value; skipped", "invalid");
    return undefined;
  }
  if (d.args.length > 1) ctx.warn(d, words(d), `only "${t}" is read; the words after it are ignored`, "invalid");
  return t;
}

function ipArg(ctx: Ctx, d: Directive, i = 0): string | undefined {
  const t = d.args[i]?.text;
  if (t === undefined || isIP(t) === 0) {
    ctx.warn(d, words(d), t === undefined ? "has no address; skipped" : `"${t}" is not an IP address; skipped`, "invalid");
    return undefined;
  }
  return t;
}

/** A script line: a quoted string as it is, bare words joined by one blank (keepalived reads both). */
function scriptArg(ctx: Ctx, d: Directive): string | undefined {
  if (d.args.length === 0) {
    ctx.warn(d, d.name, "names no script; skipped", "invalid");
    return undefined;
  }
  return d.args.map((a) => a.text).join(" ");
}

function flag(ctx: Ctx, d: Directive): true {
  if (d.args.length > 0) ctx.warn(d, words(d), `${d.name} takes no value; the words after it are ignored`, "invalid");
  return true;
}

/** keepalived's `<BOOL>` (parser.c check_true_false); no word at all is true. */
function boolArg(ctx: Ctx, d: Directive): boolean | undefined {
  const t = d.args[0]?.text.toLowerCase();
  if (t === undefined) return true;
  if (["true", "on", "yes"].includes(t)) return true;
  if (["false", "off", "no"].includes(t)) return false;
  ctx.warn(d, words(d), `"${d.args[0]!.text}" is not true/false (on/off, yes/no); skipped`, "invalid");
  return undefined;
}

/**
 * global_defs `lvs_sync_daemon IF [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`,
 * with keepalived's older positional `IF INSTANCE [SYNC_ID]` (global_parser.c lvs_syncd_handler).
 */
function readSyncDaemon(ctx: Ctx, d: Directive): Record<string, unknown> | undefined {
  const iface = d.args[0]?.text;
  if (iface === undefined) {
    ctx.warn(d, d.name, "names no interface (keepalived ignores it too); skipped", "invalid");
    return undefined;
  }
  const out: Record<string, unknown> = { interface: iface };
  const ranges: Record<string, [number, number]> = { id: [0, 255], maxlen: [1, 65535 - 20 - 8], port: [1, 65535], ttl: [1, 255] };
  for (let i = 1; i < d.args.length; i++) {
    const k = d.args[i]!.text;
    const v = d.args[i + 1]?.text;
    if (k === "inst" && v !== undefined) out.instance = v;
    else if (ranges[k] && v !== undefined) {
      const [min, max] = ranges[k]!;
      if (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max) out[k] = Number(v);
      else ctx.warn(d, `${d.name} ... ${k} ${v}`, `"${v}" is not a whole number from ${min} to ${max} (keepalived ignores it too); left out`, "invalid");
    } else if (k === "group" && v !== undefined) {
      if (isIP(v) !== 0) out.group = v;
      else ctx.warn(d, `${d.name} ... group ${v}`, `"${v}" is not an IP address (keepalived ignores it too); left out`, "invalid");
    } else if (i === 1) {
      out.instance = k;
      continue;
    } else if (i === 2 && /^\d+$/.test(k) && Number(k) <= 255) {
      out.id = Number(k);
      continue;
    } else {
      ctx.warn(d, `${d.name} ... ${k}`, "is not an option of lvs_sync_daemon (keepalived ignores it too); left out", "invalid");
      continue;
    }
    i++;
  }
  if (out.instance === undefined) {
    ctx.warn(d, words(d), "names no VRRP instance to follow; lvsctl needs one (master where it is MASTER, backup elsewhere), so connection sync is not carried over", "unsupported");
    return undefined;
  }
  // Keys in the schema's order.
  const o: Record<string, unknown> = {};
  for (const k of ["interface", "instance", "id", "maxlen", "port", "ttl", "group"]) if (out[k] !== undefined) o[k] = out[k];
  return o;
}

/** Obsolete keywords keepalived itself deprecated, and what became of them. */
const OBSOLETE: Record<string, string> = {
  nat_mask: "obsolete: it only ever applied to Linux 2.2's IPVS and was removed in keepalived 1.2.20 (keepalived 2.x stops on it); skipped",
  debug: "obsolete (keepalived ignores it)",
  dont_track_primary: "obsolete in keepalived 2.x (track_interface decides); skipped",
  global_tracking: "obsolete in keepalived 2.x; skipped",
};

function unsupported(ctx: Ctx, d: Directive, where_: string): void {
  const why = OBSOLETE[d.name];
  const block = d.block ? ` (with its block of ${countLines(d)} lines)` : "";
  if (why) ctx.warn(d, words(d), `${why}${block}`, "obsolete");
  else ctx.warn(d, words(d), `not supported yet in ${where_}; skipped${block}`, "unsupported");
}

/** `TUN type gue port 6080 csum`, keepalived 2.2's words after lvs_method TUN (check_parser.c
 * svr_forwarding_handler); undefined (with a warning) where keepalived would stop on them too. */
function tunnelWords(ctx: Ctx, d: Directive): { type: string; port?: number; checksum?: string } | undefined {
  let type = "ipip";
  let port: number | undefined;
  let checksum: string | undefined;
  const a = d.args.map((x) => x.text);
  for (let i = 1; i < a.length; i++) {
    if (a[i] === "type" && ["ipip", "gue", "gre"].includes(a[i + 1] ?? "")) type = a[++i]!;
    else if (a[i] === "port" && /^\d+$/.test(a[i + 1] ?? "") && Number(a[i + 1]) >= 1 && Number(a[i + 1]) <= 65535) port = Number(a[++i]);
    else if (["nocsum", "csum", "remcsum"].includes(a[i]!)) checksum = a[i];
    else {
      ctx.warn(d, words(d), `"${a[i]}" is not a tunnel option keepalived knows (type ipip|gue|gre, port N, nocsum|csum|remcsum); skipped`, "invalid");
      return undefined;
    }
  }
  if ((type === "gue") !== (port !== undefined) || (type === "ipip" && checksum !== undefined && checksum !== "nocsum") || (type === "gre" && checksum === "remcsum")) {
    ctx.warn(d, words(d), "a tunnel keepalived refuses (gue needs a port and only gue takes one; ipip has no checksum; gre no remcsum); skipped", "invalid");
    return undefined;
  }
  return { type, ...(port !== undefined ? { port } : {}), ...(checksum !== undefined && checksum !== "nocsum" ? { checksum } : {}) };
}

function countLines(d: Directive): number {
  let n = 0;
  for (const c of d.block ?? []) n += 1 + (c.block ? countLines(c) : 0);
  return n;
}

// --- one director's file -----------------------------------------------------------------------

interface GlobalConf {
  routerId?: { value: string; d: Directive };
  data: Record<string, unknown>;
  scriptSecurity?: Directive;
}

interface InstanceConf {
  d: Directive;
  name: string;
  /** Everything but the per-director fields, in inventory keys. */
  common: Record<string, unknown>;
  priority: number;
  state: "MASTER" | "BACKUP";
  stateGiven: boolean;
  interface?: string;
  unicastSrcIp?: string;
  unicastPeers: string[];
  vipDevs: { vip: string; dev?: string; label?: string; prefix?: string }[];
  excludedVipDevs: { vip: string; dev?: string; label?: string; prefix?: string }[];
  authPass?: string;
  /** keepalived 1.x's per-instance spelling of global_defs lvs_sync_daemon. */
  lvsSyncInterface?: { value: string; d: Directive };
}

interface SyncConf {
  d: Directive;
  name: string;
  group: string[];
  notify: Record<string, string>;
  smtpAlert?: boolean;
}

interface ServiceConf {
  d: Directive;
  key: string;
  service: Record<string, unknown>;
  /** Real server addresses, in order, for the hosts the inventory gets. */
  realServers: string[];
  /** No lb_kind in the file: keepalived's NAT is written out. */
  kindDefaulted: boolean;
}

interface DirectorConf {
  file: string;
  global: GlobalConf;
  instances: InstanceConf[];
  syncGroups: SyncConf[];
  services: ServiceConf[];
}

const emailSchema = z.email();

function readGlobal(ctx: Ctx, block: Directive[], g: GlobalConf): void {
  for (const d of block) {
    switch (d.name) {
      case "router_id":
      case "lvs_id": {
        const v = wordArg(ctx, d);
        if (v !== undefined) g.routerId = { value: v, d };
        if (d.name === "lvs_id") ctx.warn(d, words(d), "obsolete name of router_id; read as router_id", "obsolete");
        break;
      }
      case "notification_email": {
        const list: string[] = [];
        for (const e of d.block ?? []) {
          for (const w of [e.name, ...e.args.map((a) => a.text)]) {
            if (emailSchema.safeParse(w).success) list.push(w);
            else ctx.warn(e, w, "is not an e-mail address lvsctl accepts (user@domain); skipped", "invalid");
          }
        }
        if (list.length > 0) g.data.notification_email = list;
        break;
      }
      case "notification_email_from": {
        const v = wordArg(ctx, d);
        if (v !== undefined && emailSchema.safeParse(v).success) g.data.notification_email_from = v;
        else if (v !== undefined) ctx.warn(d, words(d), "is not an e-mail address lvsctl accepts (user@domain); skipped", "invalid");
        break;
      }
      case "smtp_server":
        if (d.args.length === 0) ctx.warn(d, d.name, "has no value; skipped", "invalid");
        else g.data.smtp_server = d.args.map((a) => a.text).join(" ");
        break;
      case "smtp_connect_timeout": {
        const v = intArg(ctx, d, 1, 86_400);
        if (v !== undefined) g.data.smtp_connect_timeout = v;
        break;
      }
      case "vrrp_strict":
        g.data.vrrp_strict = flag(ctx, d);
        break;
      case "smtp_alert": {
        const v = boolArg(ctx, d);
        if (v !== undefined) g.data.smtp_alert = v;
        break;
      }
      case "lvs_sync_daemon": {
        const v = readSyncDaemon(ctx, d);
        if (v !== undefined) g.data.lvs_sync_daemon = v;
        break;
      }
      case "enable_script_security":
        g.scriptSecurity = d;
        break;
      case "script_user":
        if (d.args[0]?.text !== "root" || d.args.length > 1) unsupported(ctx, d, "global_defs (lvsctl runs scripts as root)");
        break;
      default:
        unsupported(ctx, d, "global_defs");
    }
  }
}

const NOTIFY_KEYS: Record<string, string> = { notify_master: "notify_master", notify_backup: "notify_backup", notify_fault: "notify_fault", notify_stop: "notify_stop", notify: "notify" };

function readVips(ctx: Ctx, d: Directive, out: InstanceConf["vipDevs"]): void {
  for (const item of d.block ?? []) {
    const [addr, prefix, extra] = item.name.split("/");
    const family = isIP(addr ?? "");
    if (family === 0 || extra !== undefined || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) {
      ctx.warn(item, words(item), "is not ADDRESS or ADDRESS/PREFIX; skipped", "invalid");
      continue;
    }
    const v: InstanceConf["vipDevs"][number] = { vip: addr!, ...(prefix !== undefined ? { prefix } : {}) };
    for (let i = 0; i < item.args.length; i++) {
      const k = item.args[i]!.text;
      const val = item.args[i + 1]?.text;
      if ((k === "dev" || k === "label") && val !== undefined) {
        v[k] = val;
        i++;
      } else {
        // brd, scope, peer, home, -nodad, noprefixroute, autojoin, track_group ...
        const takesValue = ["brd", "broadcast", "scope", "peer", "track_group"].includes(k) && val !== undefined;
        ctx.warn(item, `${item.name} ... ${k}${takesValue ? ` ${val}` : ""}`, `"${k}" on a VIP is not supported yet; the VIP is kept without it`, "unsupported");
        if (takesValue) i++;
      }
    }
    out.push(v);
  }
}

function readInstance(ctx: Ctx, d: Directive): InstanceConf | undefined {
  const name = d.args[0]?.text;
  if (!name || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    ctx.warn(d, words(d), "an instance needs a name of letters, digits, '_', '.', '-'; the instance is skipped", "invalid");
    return undefined;
  }
  const inst: InstanceConf = { d, name, common: {}, priority: KEEPALIVED_PRIORITY, state: "BACKUP", stateGiven: false, unicastPeers: [], vipDevs: [], excludedVipDevs: [] };
  const c = inst.common;
  let nopreempt: Directive | undefined;
  for (const x of d.block ?? []) {
    switch (x.name) {
      case "state": {
        const v = wordArg(ctx, x);
        if (v === "MASTER" || v === "BACKUP") {
          inst.state = v;
          inst.stateGiven = true;
        } else if (v !== undefined) ctx.warn(x, words(x), "state is MASTER or BACKUP; skipped (keepalived starts BACKUP)", "invalid");
        break;
      }
      case "interface":
        inst.interface = wordArg(ctx, x);
        break;
      case "virtual_router_id": {
        const v = intArg(ctx, x, 1, 255);
        if (v !== undefined) c.virtual_router_id = v;
        break;
      }
      case "priority": {
        const v = intArg(ctx, x, 1, 255);
        if (v !== undefined) inst.priority = v;
        break;
      }
      case "advert_int": {
        const v = numArg(ctx, x, 0.01, 255);
        if (v !== undefined) c.advert_int = v;
        break;
      }
      case "version": {
        const v = intArg(ctx, x, 2, 3);
        if (v !== undefined) c.version = v;
        break;
      }
      case "authentication": {
        let type: string | undefined;
        let pass: string | undefined;
        for (const a of x.block ?? []) {
          if (a.name === "auth_type") type = a.args[0]?.text;
          else if (a.name === "auth_pass") pass = a.args.map((w) => w.text).join(" ");
          else unsupported(ctx, a, "authentication");
        }
        if (type !== "PASS") {
          ctx.warn(x, `authentication auth_type ${type ?? "(none)"}`, type === "AH" ? "obsolete: IPSEC-AH was removed from VRRP (RFC 3768) and lvsctl supports only PASS; the instance is imported without authentication" : "lvsctl supports auth_type PASS only; the instance is imported without authentication", type === "AH" ? "obsolete" : "unsupported");
        } else if (!pass) {
          ctx.warn(x, "authentication", "auth_pass is missing; the instance is imported without authentication", "invalid");
        } else {
          if (Buffer.byteLength(pass) > AUTH_PASS_BYTES) {
            ctx.warn(x, "authentication auth_pass", `is longer than ${AUTH_PASS_BYTES} bytes; keepalived uses only the first ${AUTH_PASS_BYTES}, and so does the import`, "changed");
            pass = Buffer.from(pass).subarray(0, AUTH_PASS_BYTES).toString();
          }
          inst.authPass = pass;
        }
        break;
      }
      // keepalived reads both into one source address (vrrp_parser.c vrrp_srcip_handler).
      case "unicast_src_ip":
      case "mcast_src_ip":
        inst.unicastSrcIp = ipArg(ctx, x);
        break;
      case "virtual_ipaddress_excluded":
        readVips(ctx, x, inst.excludedVipDevs);
        break;
      case "smtp_alert": {
        const v = boolArg(ctx, x);
        if (v !== undefined) c.smtp_alert = v;
        break;
      }
      case "lvs_sync_daemon_interface": {
        const v = wordArg(ctx, x);
        if (v !== undefined) {
          inst.lvsSyncInterface = { value: v, d: x };
          ctx.warn(x, words(x), `keepalived 1.x's spelling (keepalived 2.x warns that it is deprecated); carried over as global_defs lvs_sync_daemon ${v} ${name}`, "obsolete");
        }
        break;
      }
      case "unicast_peer":
        for (const p of x.block ?? []) {
          if (isIP(p.name) === 0) ctx.warn(p, words(p), "is not an IP address; skipped", "invalid");
          else {
            if (p.args.length > 0) ctx.warn(p, words(p), "per-peer settings (min_ttl, max_ttl) are not supported yet; the peer is kept without them", "unsupported");
            inst.unicastPeers.push(p.name);
          }
        }
        break;
      case "virtual_ipaddress":
        readVips(ctx, x, inst.vipDevs);
        break;
      case "nopreempt":
        c.nopreempt = flag(ctx, x);
        nopreempt = x;
        break;
      case "preempt_delay": {
        const v = numArg(ctx, x, 0, 1000);
        if (v !== undefined) c.preempt_delay = v;
        break;
      }
      case "track_interface": {
        const list: string[] = [];
        for (const t of x.block ?? []) {
          if (t.args.length > 0) ctx.warn(t, words(t), "a tracked interface's weight is not supported yet; tracked without it (FAULT when down)", "unsupported");
          list.push(t.name);
        }
        if (list.length > 0) c.track_interface = list;
        break;
      }
      case "garp_master_delay":
      case "garp_master_refresh": {
        const v = intArg(ctx, x, 0, 86_400);
        if (v !== undefined) c[x.name] = v;
        break;
      }
      case "garp_master_repeat": {
        const v = intArg(ctx, x, 1, 1_000_000);
        if (v !== undefined) c[x.name] = v;
        break;
      }
      default:
        if (NOTIFY_KEYS[x.name]) {
          const v = scriptArg(ctx, x);
          if (v !== undefined) c[NOTIFY_KEYS[x.name]!] = v;
        } else unsupported(ctx, x, "vrrp_instance");
    }
  }
  if (inst.interface === undefined) {
    ctx.warn(d, `vrrp_instance ${name}`, "has no interface (keepalived refuses it too); the instance is skipped", "invalid");
    return undefined;
  }
  if (c.virtual_router_id === undefined) {
    ctx.warn(d, `vrrp_instance ${name}`, "has no virtual_router_id (keepalived refuses it too); the instance is skipped", "invalid");
    return undefined;
  }
  if (inst.vipDevs.length === 0) {
    ctx.warn(d, `vrrp_instance ${name}`, "has no virtual_ipaddress lvsctl can carry over; lvsctl needs at least one, so the instance is skipped", "unsupported");
    return undefined;
  }
  if (nopreempt && inst.state === "MASTER") {
    // keepalived: "nopreempt will not work with initial state MASTER", and it clears nopreempt.
    ctx.warn(nopreempt, "nopreempt", "keepalived ignores nopreempt with state MASTER; dropped, so the director behaves as it did", "changed");
    delete c.nopreempt;
  }
  if (inst.state === "MASTER" && c.preempt_delay !== undefined) {
    ctx.warn(d, "preempt_delay", "keepalived ignores preempt_delay with state MASTER; dropped, so the director behaves as it did", "changed");
    delete c.preempt_delay;
  }
  return inst;
}

function readSyncGroup(ctx: Ctx, d: Directive): SyncConf | undefined {
  const name = d.args[0]?.text;
  if (!name || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    ctx.warn(d, words(d), "a sync group needs a name of letters, digits, '_', '.', '-'; skipped", "invalid");
    return undefined;
  }
  const sg: SyncConf = { d, name, group: [], notify: {} };
  for (const x of d.block ?? []) {
    if (x.name === "group") for (const m of x.block ?? []) sg.group.push(m.name, ...m.args.map((a) => a.text));
    else if (NOTIFY_KEYS[x.name]) {
      const v = scriptArg(ctx, x);
      if (v !== undefined) sg.notify[NOTIFY_KEYS[x.name]!] = v;
    } else if (x.name === "smtp_alert") {
      const v = boolArg(ctx, x);
      if (v !== undefined) sg.smtpAlert = v;
    } else if (!x.block && x.args.length === 0 && /^[A-Za-z0-9_.-]+$/.test(x.name)) {
      ctx.warn(x, x.name, "an instance name outside group { } (keepalived 1.x syntax; keepalived 2.x reads it as an unknown keyword too); skipped", "obsolete");
    } else unsupported(ctx, x, "vrrp_sync_group");
  }
  return sg;
}

// --- virtual servers -----------------------------------------------------------------------

const CHECKS = new Set(["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK"]);
const OTHER_CHECKS = new Set(["SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "BFD_CHECK", "FILE_CHECK"]);

/** "200-202 404" -> [200, 201, 202, 404]. */
function statusCodes(ctx: Ctx, d: Directive): number[] | undefined {
  const out: number[] = [];
  for (const a of d.args) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(a.text);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo < 100 || hi > 599 || hi < lo) {
      ctx.warn(d, words(d), `"${a.text}" is not a status code or range from 100 to 599; the url keeps keepalived's default (any 2xx)`, "invalid");
      return undefined;
    }
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out.length > 0 ? out : undefined;
}

function readCheck(ctx: Ctx, d: Directive): Record<string, unknown> {
  const c: Record<string, unknown> = { type: d.name };
  const http = d.name === "HTTP_GET" || d.name === "SSL_GET";
  for (const x of d.block ?? []) {
    switch (x.name) {
      case "connect_ip":
      case "bindto":
        if (d.name === "MISC_CHECK") unsupported(ctx, x, d.name);
        else {
          const v = ipArg(ctx, x);
          if (v !== undefined) c[x.name] = v;
        }
        break;
      case "connect_port": {
        const v = d.name === "MISC_CHECK" ? (unsupported(ctx, x, d.name), undefined) : intArg(ctx, x, 1, 65535);
        if (v !== undefined) c.connect_port = v;
        break;
      }
      case "connect_timeout":
      case "misc_timeout": {
        if ((x.name === "misc_timeout") !== (d.name === "MISC_CHECK")) {
          unsupported(ctx, x, d.name);
          break;
        }
        const v = numArg(ctx, x, 0, 86_400);
        if (v !== undefined) c[x.name] = v;
        break;
      }
      case "retry":
      case "nb_get_retry": {
        const v = intArg(ctx, x, 0, 1_000_000);
        if (v !== undefined) c.retry = v;
        if (x.name === "nb_get_retry") ctx.warn(x, words(x), "obsolete name of retry (keepalived warns); carried over as retry", "obsolete");
        break;
      }
      case "delay_before_retry": {
        const v = numArg(ctx, x, 0, 86_400);
        if (v !== undefined) c.delay_before_retry = v;
        break;
      }
      case "alpha":
        c.alpha = flag(ctx, x);
        break;
      case "misc_path":
        if (d.name !== "MISC_CHECK") unsupported(ctx, x, d.name);
        else {
          const v = scriptArg(ctx, x);
          if (v !== undefined) c.misc_path = v;
        }
        break;
      case "misc_dynamic":
        if (d.name !== "MISC_CHECK") unsupported(ctx, x, d.name);
        else c.misc_dynamic = flag(ctx, x);
        break;
      case "url": {
        if (!http) {
          unsupported(ctx, x, d.name);
          break;
        }
        const u: Record<string, unknown> = {};
        for (const y of x.block ?? []) {
          if (y.name === "path") {
            const v = wordArg(ctx, y);
            if (v !== undefined) u.path = v;
          } else if (y.name === "digest") {
            const v = wordArg(ctx, y);
            if (v !== undefined && /^[0-9a-fA-F]{32}$/.test(v)) u.digest = v.toLowerCase();
            else if (v !== undefined) ctx.warn(y, words(y), "is not an MD5 digest (32 hex digits); skipped", "invalid");
          } else if (y.name === "status_code") {
            const codes = statusCodes(ctx, y);
            if (codes) u.status_code = codes.length === 1 ? codes[0] : codes;
          } else unsupported(ctx, y, "url");
        }
        if (typeof u.path !== "string" || !u.path.startsWith("/")) ctx.warn(x, "url", "has no path starting with '/'; skipped", "invalid");
        else ((c.url ??= []) as unknown[]).push(u);
        break;
      }
      case "virtualhost":
        if (!http) unsupported(ctx, x, d.name);
        else {
          const v = wordArg(ctx, x);
          if (v !== undefined) c.virtualhost = v;
        }
        break;
      case "enable_sni":
        if (d.name !== "SSL_GET") unsupported(ctx, x, d.name);
        else c.enable_sni = flag(ctx, x);
        break;
      default:
        unsupported(ctx, x, d.name);
    }
  }
  return c;
}

function checkUsable(ctx: Ctx, d: Directive, c: Record<string, unknown>): boolean {
  if (c.type === "MISC_CHECK" && c.misc_path === undefined) {
    ctx.warn(d, d.name, "has no misc_path; the real server is imported without a check (always up)", "invalid");
    return false;
  }
  if ((c.type === "HTTP_GET" || c.type === "SSL_GET") && !Array.isArray(c.url)) {
    ctx.warn(d, d.name, "has no url; the real server is imported without a check (always up)", "invalid");
    return false;
  }
  return true;
}

interface RealServerConf {
  address: string;
  port?: number;
  entry: Record<string, unknown>;
  check?: Record<string, unknown>;
}

function readRealServer(ctx: Ctx, d: Directive, servicePort: number | undefined): RealServerConf | undefined {
  const address = d.args[0]?.text;
  if (address === undefined || isIP(address) === 0) {
    ctx.warn(d, words(d), "needs an IP address; the real server is skipped", "invalid");
    return undefined;
  }
  let port: number | undefined;
  if (d.args[1] !== undefined) {
    port = intArg(ctx, d, 1, 65535, 1);
    if (port === undefined) return undefined;
  }
  const rs: RealServerConf = { address, ...(port !== undefined ? { port } : {}), entry: {} };
  const e = rs.entry;
  if (port !== undefined && port !== servicePort) e.port = port;
  for (const x of d.block ?? []) {
    switch (x.name) {
      case "weight": {
        const v = intArg(ctx, x, 0, 65535);
        if (v !== undefined && v !== 1) e.weight = v;
        break;
      }
      case "inhibit_on_failure":
        e.inhibit_on_failure = flag(ctx, x);
        break;
      case "uthreshold":
      case "lthreshold": {
        const v = intArg(ctx, x, 0, 2 ** 31 - 1);
        if (v !== undefined) e[x.name] = v;
        break;
      }
      case "notify_up":
      case "notify_down": {
        const v = scriptArg(ctx, x);
        if (v !== undefined) e[x.name] = v;
        break;
      }
      case "smtp_alert": {
        const v = boolArg(ctx, x);
        if (v !== undefined) e.smtp_alert = v;
        break;
      }
      default:
        if (CHECKS.has(x.name)) {
          if (rs.check) {
            ctx.warn(x, x.name, "lvsctl runs one check per real server; this second one is skipped", "unsupported");
            break;
          }
          const c = readCheck(ctx, x);
          if (checkUsable(ctx, x, c)) rs.check = c;
        } else if (OTHER_CHECKS.has(x.name)) {
          ctx.warn(x, x.name, `not supported yet; skipped (with its block of ${countLines(x)} lines), so the real server is checked by nothing else here${rs.check ? "" : " and counts as always up"}`, "unsupported");
        } else unsupported(ctx, x, "real_server");
    }
  }
  return rs;
}

function readService(ctx: Ctx, d: Directive, rendered: boolean): ServiceConf | undefined {
  const s: Record<string, unknown> = {};
  const [a0, a1] = d.args;
  let key: string;
  if (a0?.text === "fwmark") {
    const mark = intArg(ctx, d, 1, 0xffffffff, 1);
    if (mark === undefined) return undefined;
    s.fwmark = mark;
    key = `fwmark ${mark}`;
  } else if (a0?.text === "group") {
    ctx.warn(d, words(d), "virtual_server_group services are not supported yet; the service is skipped with its real servers", "unsupported");
    return undefined;
  } else {
    if (a0 === undefined || isIP(a0.text) === 0) {
      ctx.warn(d, words(d), "needs VIP PORT or fwmark N; the service is skipped", "invalid");
      return undefined;
    }
    const port = intArg(ctx, d, 1, 65535, 1);
    if (port === undefined || a1 === undefined) return undefined;
    s.vip = a0.text;
    s.port = port;
    key = `${canonicalIp(a0.text)} ${port}`;
  }
  // lvsctl writes each service's name as the comment above it; another file's comments are prose.
  if (rendered && d.comment && d.comment !== serviceName(s)) s.name = d.comment;
  const servicePort = typeof s.port === "number" ? s.port : undefined;
  const rss: RealServerConf[] = [];
  let alpha = false;
  let inhibit = false;
  let lbKind: string | undefined;
  let lbAlgo: string | undefined;
  let protocol: Directive | undefined;
  const schedFlags: Directive[] = [];
  for (const x of d.block ?? []) {
    switch (x.name) {
      case "delay_loop": {
        const v = numArg(ctx, x, 0.001, 86_400);
        if (v !== undefined) s.delay_loop = v;
        break;
      }
      case "lb_algo":
      case "lvs_sched": {
        const v = wordArg(ctx, x);
        if (v !== undefined && (Schedulers as readonly string[]).includes(v)) lbAlgo = v;
        else if (v !== undefined) ctx.warn(x, words(x), `unknown scheduler; keepalived's default ${KEEPALIVED_LB_ALGO} is used`, "invalid");
        break;
      }
      case "lb_kind":
      case "lvs_method": {
        const v = x.args[0]?.text.toUpperCase();
        if (v === "TUN" && x.args.length > 1) {
          const t = tunnelWords(ctx, x);
          if (t === undefined) break;
          lbKind = v;
          if (t.type !== "ipip" || t.checksum !== undefined) s.tunnel = t;
          else delete s.tunnel;
        } else {
          const w = wordArg(ctx, x)?.toUpperCase();
          if (w === "DR" || w === "NAT" || w === "TUN") lbKind = w;
          else if (w !== undefined) ctx.warn(x, words(x), `lb_kind is DR, NAT or TUN; keepalived's default ${KEEPALIVED_LB_KIND} is used`, "invalid");
          delete s.tunnel;
        }
        break;
      }
      case "ops":
        if (flag(ctx, x)) s.ops = true;
        break;
      case "flag-1":
      case "flag-2":
      case "flag-3":
      case "sh-port":
      case "sh-fallback":
      case "mh-port":
      case "mh-fallback":
        flag(ctx, x);
        schedFlags.push(x);
        break;
      case "protocol":
        protocol = x;
        break;
      case "persistence_timeout":
        if (x.args.length === 0) s.persistence_timeout = true;
        else {
          const v = intArg(ctx, x, 1, 31 * 86_400);
          if (v !== undefined) s.persistence_timeout = v;
        }
        break;
      case "persistence_granularity": {
        // an IPv6 service's is a prefix length (check_parser.c pgr_handler)
        const v = /^\d+$/.test(x.args[0]?.text ?? "") ? intArg(ctx, x, 1, 128) : ipArg(ctx, x);
        if (v !== undefined) s.persistence_granularity = v;
        break;
      }
      case "virtualhost": {
        const v = wordArg(ctx, x);
        if (v !== undefined) s.virtualhost = v;
        break;
      }
      case "sorry_server": {
        const addr = ipArg(ctx, x);
        if (addr === undefined) break;
        const port = x.args[1] !== undefined ? intArg(ctx, x, 1, 65535, 1) : undefined;
        s.sorry_server = { address: addr, ...(port !== undefined ? { port } : {}) };
        break;
      }
      case "quorum": {
        const v = intArg(ctx, x, 1, 2 ** 31 - 1);
        if (v !== undefined) s.quorum = v;
        break;
      }
      case "hysteresis": {
        const v = intArg(ctx, x, 0, 2 ** 31 - 1);
        if (v !== undefined) s.hysteresis = v;
        break;
      }
      case "quorum_up":
      case "quorum_down": {
        const v = scriptArg(ctx, x);
        if (v !== undefined) s[x.name] = v;
        break;
      }
      case "smtp_alert": {
        const v = boolArg(ctx, x);
        if (v !== undefined) s.smtp_alert = v;
        break;
      }
      case "alpha":
        alpha = flag(ctx, x);
        break;
      case "inhibit_on_failure":
        inhibit = flag(ctx, x);
        break;
      case "real_server": {
        const rs = readRealServer(ctx, x, servicePort);
        if (rs) rss.push(rs);
        break;
      }
      default:
        unsupported(ctx, x, "virtual_server");
    }
  }
  if (protocol) {
    const v = protocol.args[0]?.text;
    if (s.fwmark !== undefined) ctx.warn(protocol, words(protocol), "a fwmark service has no protocol (keepalived ignores it with a warning); dropped", "obsolete");
    else if (v?.toUpperCase() === "UDP" || v?.toUpperCase() === "SCTP") s.protocol = v.toUpperCase();
    else if (v?.toUpperCase() !== "TCP") {
      ctx.warn(protocol, words(protocol), "keepalived knows TCP, UDP and SCTP services only; the service is skipped", "invalid");
      return undefined;
    }
  }
  if (lbAlgo !== undefined && lbAlgo !== "wlc") s.lb_algo = lbAlgo;
  // keepalived takes sh-*/mh-* only under that scheduler (check_parser.c lbflags_handler): others are dropped, as it drops them
  const flags: string[] = [];
  for (const x of schedFlags) {
    const needs = x.name.startsWith("sh-") ? "sh" : x.name.startsWith("mh-") ? "mh" : undefined;
    if (needs && (lbAlgo ?? KEEPALIVED_LB_ALGO) !== needs) ctx.warn(x, words(x), `applies to the ${needs} scheduler only (keepalived ignores it with an error); dropped`, "invalid");
    else if (!flags.includes(x.name)) flags.push(x.name);
  }
  if (flags.length > 0) s.sched_flags = flags;
  // keepalived's default forwarding is NAT, lvsctl's DR: written whenever it is not DR.
  const kind = lbKind ?? KEEPALIVED_LB_KIND;
  if (kind !== LVSCTL_LB_KIND) s.lb_kind = kind;
  if (rss.length === 0) {
    ctx.warn(d, words(d), "has no real server lvsctl can carry over; lvsctl needs at least one, so the service is skipped", "unsupported");
    return undefined;
  }
  for (const rs of rss) {
    if (alpha && rs.check) rs.check.alpha = true;
    if (inhibit) rs.entry.inhibit_on_failure = true;
  }
  // One check on the service when every real server has the same one; else each its own.
  const first = rss[0]!.check;
  const shared = first !== undefined && rss.every((r) => r.check !== undefined && JSON.stringify(r.check) === JSON.stringify(first));
  if (shared) s.check = first;
  s.real_servers = rss.map((r) => ({ ...r.entry, ...(!shared && r.check ? { check: r.check } : {}) }));
  return { d, key, service: orderService(s), realServers: rss.map((r) => r.address), kindDefaulted: lbKind === undefined };
}

const SERVICE_ORDER = ["name", "vip", "port", "fwmark", "protocol", "lb_algo", "sched_flags", "ops", "lb_kind", "tunnel", "persistence_timeout", "persistence_granularity", "delay_loop", "virtualhost", "sorry_server", "quorum", "hysteresis", "quorum_up", "quorum_down", "smtp_alert", "check", "real_servers"];

function orderService(s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of SERVICE_ORDER) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

function readDirector(ctx: Ctx, directives: Directive[], file: string, rendered: boolean): DirectorConf {
  const conf: DirectorConf = { file, global: { data: {} }, instances: [], syncGroups: [], services: [] };
  for (const d of directives) {
    switch (d.name) {
      case "global_defs":
        readGlobal(ctx, d.block ?? [], conf.global);
        break;
      case "vrrp_instance": {
        const i = readInstance(ctx, d);
        if (!i) break;
        if (conf.instances.some((o) => o.name === i.name)) ctx.warn(d, words(d), "a second instance of this name; skipped (keepalived refuses it too)", "invalid");
        else conf.instances.push(i);
        break;
      }
      case "vrrp_sync_group": {
        const g = readSyncGroup(ctx, d);
        if (g) conf.syncGroups.push(g);
        break;
      }
      case "virtual_server": {
        const s = readService(ctx, d, rendered);
        if (!s) break;
        if (conf.services.some((o) => o.key === s.key)) ctx.warn(d, words(d), "a second service for this VIP and port (or fwmark); skipped", "invalid");
        else conf.services.push(s);
        break;
      }
      default:
        unsupported(ctx, d, "keepalived.conf");
    }
  }
  return conf;
}

/** The first line lvsctl writes (templates/keepalived.conf.hbs). */
const RENDERED_BY_LVSCTL = /^# keepalived\.conf for director \S+, rendered by lvsctl\./;

// --- merging the directors ---------------------------------------------------------------------

/** A director's name from its file: `keepalived.conf.ds1` and `ds1.conf` give ds1. */
export function nameFromFile(file: string): string | undefined {
  const stem = basename(file).replace(/^keepalived\.conf\.?/, "").replace(/^keepalived[._-]?/, "").replace(/\.conf$/, "");
  const clean = stem.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[.-]+/, "");
  return clean && NAME_PATTERN.test(clean) ? clean : undefined;
}

/** A host name for a real server's address: the address itself where the name rules allow it. */
export function hostNameFor(address: string): string {
  const c = canonicalIp(address);
  return NAME_PATTERN.test(c) ? c : `rs_${c.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

function vipString(v: InstanceConf["vipDevs"][number], iface: string | undefined): string {
  let s = v.prefix !== undefined ? `${v.vip}/${v.prefix}` : v.vip;
  if (v.dev !== undefined && v.dev !== iface) s += ` dev ${v.dev}`;
  if (v.label !== undefined) s += ` label ${v.label}`;
  return s;
}

function envName(instance: string): string {
  return `LVS_VRRP_PASS_${instance.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

/**
 * Reads each director's keepalived.conf and merges them into one inventory. The directors are
 * named by their router_id when every file has a distinct one that is a usable host name, else by
 * their file names (`keepalived.conf.NAME`, `NAME.conf`), else director1, director2, ...
 */
export function importKeepalived(files: DirectorFile[], opts: ReadOptions = {}): ImportResult {
  const warnings: ImportWarning[] = [];
  const errors: ImportWarning[] = [];
  const notes: PathNote[] = [];
  const ctx: Ctx = {
    warn(d, directive, why, kind = "unsupported") {
      warnings.push({ file: d.file, line: d.line, directive, why, kind });
    },
  };
  const confs: DirectorConf[] = [];
  for (const f of files) {
    const tree = readConf(f.text, f.file, opts);
    for (const p of tree.problems) (p.fatal ? errors : warnings).push(problemWarning(p));
    confs.push(readDirector(ctx, tree.directives, f.file, RENDERED_BY_LVSCTL.test(f.text)));
  }

  // Names.
  const rids = confs.map((c) => c.global.routerId?.value);
  const byRouterId = rids.every((r) => r !== undefined && NAME_PATTERN.test(r)) && new Set(rids).size === rids.length;
  const directors: ImportedDirector[] = [];
  const taken = new Set<string>();
  confs.forEach((c, i) => {
    let name: string;
    let namedBy: ImportedDirector["namedBy"] = "router_id";
    if (byRouterId) name = rids[i]!;
    else {
      namedBy = "file name";
      name = nameFromFile(c.file) ?? `director${i + 1}`;
      for (let n = 2; taken.has(name); n++) name = `${nameFromFile(c.file) ?? "director"}${n}`;
    }
    taken.add(name);
    directors.push({ name, file: c.file, namedBy });
  });
  const names = directors.map((d) => d.name);

  // global_defs: one for the cluster.
  const global: Record<string, unknown> = { ...confs[0]?.global.data };
  confs.slice(1).forEach((c) => {
    if (JSON.stringify(c.global.data) !== JSON.stringify(confs[0]!.global.data)) {
      warnings.push({ file: c.file, line: 1, directive: "global_defs", why: `differs from ${confs[0]!.file}'s; lvsctl has one global_defs per cluster, so the first file's is used`, kind: "conflict" });
    }
  });
  if (!byRouterId) {
    const distinct = [...new Set(rids.filter((r): r is string => r !== undefined))];
    if (distinct.length === 1 && rids.every((r) => r === distinct[0])) global.router_id = distinct[0];
    else {
      confs.forEach((c) => {
        const r = c.global.routerId;
        if (r) warnings.push({ file: r.d.file, line: r.d.line, directive: `router_id ${r.value}`, why: "lvsctl gives every director one router_id or its own name; the director is named from its file and the router_id is its name", kind: "changed" });
      });
    }
  }

  // Instances, in order of first appearance.
  const instanceNames: string[] = [];
  for (const c of confs) for (const i of c.instances) if (!instanceNames.includes(i.name)) instanceNames.push(i.name);
  const hostAddress = new Map<string, string>();
  confs.forEach((c, di) => {
    const src = c.instances.map((i) => i.unicastSrcIp).find((a) => a !== undefined);
    if (src !== undefined) hostAddress.set(names[di]!, src);
  });
  const passwords = new Map<string, string>(); // instance -> pass
  const instances: Record<string, unknown>[] = [];
  for (const iname of instanceNames) {
    const running = confs.map((c, di) => ({ di, name: names[di]!, inst: c.instances.find((i) => i.name === iname) })).filter((r): r is { di: number; name: string; inst: InstanceConf } => r.inst !== undefined);
    const first = running[0]!.inst;
    const iface = first.interface!;
    const vipsOf = (i: InstanceConf) => i.vipDevs.map((v) => vipString(v, i.interface));
    const evipsOf = (i: InstanceConf) => i.excludedVipDevs.map((v) => vipString(v, i.interface));
    const out: Record<string, unknown> = { name: iname, interface: iface, virtual_router_id: first.common.virtual_router_id };
    for (const r of running.slice(1)) {
      const a = { ...r.inst.common, vips: vipsOf(r.inst), evips: evipsOf(r.inst) };
      const b = { ...first.common, vips: vipsOf(first), evips: evipsOf(first) };
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        warnings.push({ file: r.inst.d.file, line: r.inst.d.line, directive: `vrrp_instance ${iname}`, why: `differs from ${where(first.d)} beyond priority, state, interface and unicast peers; the first file's settings are used`, kind: "conflict" });
      }
      if (r.inst.authPass !== first.authPass) {
        warnings.push({ file: r.inst.d.file, line: r.inst.d.line, directive: `vrrp_instance ${iname} authentication`, why: `differs from ${where(first.d)}'s; the first file's is used (directors with different passwords never hear each other)`, kind: "conflict" });
      }
    }
    const c = first.common;
    if (c.advert_int !== undefined && c.advert_int !== 1) out.advert_int = c.advert_int;
    if (c.version !== undefined && c.version !== 2) out.version = c.version;
    if (first.authPass !== undefined) passwords.set(iname, first.authPass);
    out.virtual_ipaddress = vipsOf(first);
    if (first.excludedVipDevs.length > 0) out.virtual_ipaddress_excluded = evipsOf(first);
    for (const k of ["smtp_alert", "nopreempt", "preempt_delay", "track_interface", "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"]) {
      if (c[k] !== undefined) out[k] = c[k];
    }
    mergeMembers(out, running.map((r) => ({ name: r.name, inst: r.inst })), names, hostAddress, warnings, notes, instances.length);
    // One source address with multicast adverts: keepalived's name for that case.
    if (out.unicast_src_ip !== undefined && out.unicast_peer === undefined && out.unicast === undefined) {
      out.mcast_src_ip = out.unicast_src_ip;
      delete out.unicast_src_ip;
    }
    instances.push(out);
  }
  // One environment variable when every instance has the same password, else one per instance.
  const secrets: Record<string, string> = {};
  const distinctPasswords = new Set(passwords.values());
  for (const inst of instances) {
    const pass = passwords.get(inst.name as string);
    if (pass === undefined) continue;
    const env = distinctPasswords.size === 1 ? "LVS_VRRP_PASS" : envName(inst.name as string);
    secrets[env] = pass;
    // Placed before virtual_ipaddress, where the renderer writes it.
    const { virtual_ipaddress, ...head } = inst;
    for (const k of Object.keys(inst)) delete inst[k];
    Object.assign(inst, head, { authentication: { auth_type: "PASS", auth_pass: { env } } }, { virtual_ipaddress });
    notes.push({ path: ["vrrp_instances", instances.indexOf(inst), "authentication", "auth_pass", "env"], text: `the auth_pass from keepalived.conf: export ${env} before deploying` });
  }
  const inOrder = instances.map((i) => {
    // Keys in the order of the schema, so the file reads like the examples.
    const order = ["name", "interface", "virtual_router_id", "priority", "state", "advert_int", "version", "authentication", "unicast", "unicast_src_ip", "mcast_src_ip", "unicast_peer", "virtual_ipaddress", "virtual_ipaddress_excluded", "smtp_alert", "nopreempt", "preempt_delay", "track_interface", "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "allow_equal_priority", "members"];
    const o: Record<string, unknown> = {};
    for (const k of order) if (i[k] !== undefined) o[k] = i[k];
    return o;
  });

  // keepalived 1.x's per-instance connection sync becomes global_defs lvs_sync_daemon; keepalived
  // keeps the first setting it reads and ignores the others.
  for (const c of confs) {
    for (const i of c.instances) {
      const old = i.lvsSyncInterface;
      if (!old || !instanceNames.includes(i.name)) continue;
      const want = { interface: old.value, instance: i.name };
      const have = global.lvs_sync_daemon as { interface: string; instance: string } | undefined;
      if (!have) global.lvs_sync_daemon = want;
      else if (have.interface !== want.interface || have.instance !== want.instance) {
        warnings.push({ file: old.d.file, line: old.d.line, directive: words(old.d), why: `connection sync is already set (lvs_sync_daemon ${have.interface} ${have.instance}); keepalived ignores this second setting, and so does the import`, kind: "conflict" });
      }
    }
  }

  // Sync groups: the union over the directors (the renderer gives each director its own instances).
  const syncGroups: Record<string, unknown>[] = [];
  for (const c of confs) {
    for (const g of c.syncGroups) {
      const known = g.group.filter((n) => instanceNames.includes(n));
      for (const n of g.group) if (!known.includes(n)) warnings.push({ file: g.d.file, line: g.d.line, directive: `vrrp_sync_group ${g.name} group ${n}`, why: "names an instance that was not imported; left out", kind: "invalid" });
      const have = syncGroups.find((s) => s.name === g.name);
      if (have) {
        const list = have.group as string[];
        for (const n of known) if (!list.includes(n)) list.push(n);
        if (JSON.stringify(g.notify) !== JSON.stringify(have._notify)) warnings.push({ file: g.d.file, line: g.d.line, directive: `vrrp_sync_group ${g.name}`, why: "its notify scripts differ from the first file's; the first file's are used", kind: "conflict" });
      } else if (known.length > 0) syncGroups.push({ name: g.name, group: known, ...g.notify, ...(g.smtpAlert !== undefined ? { smtp_alert: g.smtpAlert } : {}), _notify: g.notify });
      else warnings.push({ file: g.d.file, line: g.d.line, directive: `vrrp_sync_group ${g.name}`, why: "none of its instances was imported; skipped", kind: "invalid" });
    }
  }
  for (const s of syncGroups) delete s._notify;

  // Services: the union over the directors, each once.
  const services: ServiceConf[] = [];
  for (const c of confs) {
    for (const s of c.services) {
      const have = services.find((o) => o.key === s.key);
      if (!have) services.push(s);
      else if (JSON.stringify(have.service) !== JSON.stringify(s.service)) {
        warnings.push({ file: s.d.file, line: s.d.line, directive: `virtual_server ${s.key}`, why: `differs from ${where(have.d)}; lvsctl gives every director the same services, so the first file's is used`, kind: "conflict" });
      }
    }
  }

  // Hosts: the directors, then every real server address.
  const hosts: Record<string, Record<string, unknown>> = {};
  directors.forEach((d) => {
    const a = hostAddress.get(d.name);
    hosts[d.name] = { address: a ?? d.name };
    if (a === undefined) notes.push({ path: ["hosts", d.name, "address"], text: "keepalived.conf does not say; set the address lvsctl connects to" });
    else notes.push({ path: ["hosts", d.name, "address"], text: "its unicast_src_ip; lvsctl connects here" });
  });
  const directorAddresses = new Set([...hostAddress.values()].map(canonicalIp));
  const rsNames: string[] = [];
  const virtualServers = services.map((s) => {
    const svc = { ...s.service, real_servers: (s.service.real_servers as Record<string, unknown>[]).map((r) => ({ ...r })) };
    (svc.real_servers as Record<string, unknown>[]).forEach((r, i) => {
      const addr = s.realServers[i]!;
      if (directorAddresses.has(canonicalIp(addr))) {
        Object.assign(r, { address: addr });
        return;
      }
      const h = hostNameFor(addr);
      if (!hosts[h]) {
        hosts[h] = { address: addr };
        rsNames.push(h);
      }
      const { ...rest } = r;
      for (const k of Object.keys(r)) delete r[k];
      Object.assign(r, { host: h }, rest);
    });
    return svc;
  });
  virtualServers.forEach((_, i) => {
    const s = services[i]!;
    if (s.kindDefaulted) notes.push({ path: ["virtual_servers", i, "lb_kind"], text: "not in keepalived.conf: keepalived's default NAT (lvsctl's is DR)" });
  });

  for (const [i, inst] of inOrder.entries()) {
    const src = instanceNames[i]!;
    const running = confs.flatMap((c) => c.instances.filter((x) => x.name === src));
    if (running.some((r) => !r.stateGiven) && inst.state === "BACKUP") notes.push({ path: ["vrrp_instances", i, "state"], text: "keepalived.conf gives no state: keepalived starts BACKUP" });
  }

  // Scripts need enable_script_security: the renderer writes it whenever a script is used.
  for (const c of confs) {
    const d = c.global.scriptSecurity;
    if (d && !usesScripts(inOrder, syncGroups, virtualServers)) warnings.push({ file: d.file, line: d.line, directive: "enable_script_security", why: "no script is imported; lvsctl writes it (with script_user root) whenever one is", kind: "changed" });
  }

  const groups: Record<string, unknown> = { directors: { hosts: names } };
  if (rsNames.length > 0) groups.realservers = { hosts: rsNames };
  const inventory: Record<string, unknown> = { hosts, groups };
  if (Object.keys(global).length > 0) inventory.global_defs = global;
  if (syncGroups.length > 0) inventory.vrrp_sync_groups = syncGroups;
  if (inOrder.length > 0) inventory.vrrp_instances = inOrder;
  if (virtualServers.length > 0) inventory.virtual_servers = virtualServers;
  return { inventory, directors, warnings: sortWarnings(warnings, files.map((f) => f.file)), errors, notes, secrets };
}

function usesScripts(instances: Record<string, unknown>[], syncGroups: Record<string, unknown>[], services: Record<string, unknown>[]): boolean {
  const notify = (o: Record<string, unknown>) => Object.keys(NOTIFY_KEYS).some((k) => o[k] !== undefined);
  return (
    instances.some(notify) ||
    syncGroups.some(notify) ||
    services.some((s) => {
      const rss = s.real_servers as Record<string, unknown>[];
      const misc = (c: unknown) => (c as { type?: string } | undefined)?.type === "MISC_CHECK";
      return misc(s.check) || rss.some((r) => r.notify_up !== undefined || r.notify_down !== undefined || misc(r.check));
    })
  );
}

function problemWarning(p: ConfProblem): ImportWarning {
  return { file: p.file, line: p.line, directive: p.directive, why: p.why, kind: p.fatal ? "invalid" : "unsupported" };
}

function sortWarnings(ws: ImportWarning[], order: string[]): ImportWarning[] {
  const rank = (f: string) => {
    const i = order.indexOf(f);
    return i < 0 ? order.length : i;
  };
  return ws.map((w, i) => ({ w, i })).sort((a, b) => rank(a.w.file) - rank(b.w.file) || (a.w.file < b.w.file ? -1 : a.w.file > b.w.file ? 1 : 0) || a.w.line - b.w.line || a.i - b.i).map((x) => x.w);
}

/**
 * Per-director fields of one instance: priority, initial state, interface and unicast. Written
 * the shortest way that resolves (topology.ts instanceMembers) to what each file says.
 */
function mergeMembers(
  out: Record<string, unknown>,
  running: { name: string; inst: InstanceConf }[],
  allDirectors: string[],
  hostAddress: Map<string, string>,
  warnings: ImportWarning[],
  notes: PathNote[],
  index: number,
): void {
  const members: Record<string, Record<string, unknown>> = Object.fromEntries(running.map((r) => [r.name, {}]));
  let needMembers = running.length !== allDirectors.length;

  // Priorities: the defaults by position, one for all, or each its own.
  const prios = running.map((r) => r.inst.priority);
  if (prios.every((p, i) => p === defaultPriority(i))) {
    // lvsctl's defaults give the same
  } else if (prios.every((p) => p === prios[0])) out.priority = prios[0];
  else {
    running.forEach((r, i) => {
      if (r.inst.priority !== defaultPriority(i)) members[r.name]!.priority = r.inst.priority;
    });
    needMembers = true;
  }
  if (running.length > 1 && new Set(prios).size < prios.length) {
    out.allow_equal_priority = true;
    notes.push({ path: ["vrrp_instances", index, "allow_equal_priority"], text: "directors share a priority in keepalived.conf: the highest address wins the election" });
  }
  if (prios.some((p) => p === VRRP_OWNER_PRIORITY) && running.length > 1) {
    // nothing to do: validate.ts warns about an owner priority on several directors
  }

  // Interfaces.
  for (const r of running) {
    if (r.inst.interface !== out.interface) {
      members[r.name]!.interface = r.inst.interface;
      needMembers = true;
    }
  }

  // Unicast: `unicast: true` when each director's source is its address and its peers the
  // others' sources, in directors order; else a source per director and one peer list.
  const srcs = running.map((r) => r.inst.unicastSrcIp);
  const anyUnicast = srcs.some((s) => s !== undefined) || running.some((r) => r.inst.unicastPeers.length > 0);
  if (anyUnicast) {
    const pattern =
      running.length > 1 &&
      running.every((r, i) => srcs[i] !== undefined && hostAddress.get(r.name) === srcs[i]) &&
      running.every((r, i) => JSON.stringify(r.inst.unicastPeers) === JSON.stringify(srcs.filter((_, j) => j !== i)));
    if (pattern) out.unicast = true;
    else {
      if (srcs.every((s) => s === srcs[0]) && srcs[0] !== undefined) out.unicast_src_ip = srcs[0];
      else {
        running.forEach((r, i) => {
          if (srcs[i] !== undefined) members[r.name]!.unicast_src_ip = srcs[i];
        });
        needMembers = true;
      }
      const list = peerList(running.map((r, i) => ({ src: srcs[i], peers: r.inst.unicastPeers })));
      if (list) {
        if (list.length > 0) out.unicast_peer = list;
      } else {
        const f = running[0]!.inst;
        warnings.push({ file: f.d.file, line: f.d.line, directive: `vrrp_instance ${f.name} unicast_peer`, why: "the directors' peer lists are not one list less each director's own address, which is all lvsctl can say; the first file's list is used", kind: "conflict" });
        out.unicast_peer = f.unicastPeers;
      }
    }
  }

  // States: what lvsctl would choose, corrected where a file says otherwise.
  const probe = (): ("MASTER" | "BACKUP")[] => {
    const inst = { ...out, ...(needMembers ? { members } : {}), virtual_ipaddress: ["192.0.2.1"], nopreempt: out.nopreempt === true } as unknown as VrrpInstance;
    const topo = buildTopology({ hosts: Object.fromEntries(allDirectors.map((d) => [d, { address: d }])), groups: { directors: { hosts: allDirectors } } } as unknown as Pick<Inventory, "hosts" | "groups">);
    const ms = instanceMembers(inst, topo, (h) => hostAddress.get(h) ?? h);
    return running.map((r) => ms.find((m) => m.host === r.name)?.state ?? "BACKUP");
  };
  const want = running.map((r) => r.inst.state);
  const got = probe();
  if (got.some((s, i) => s !== want[i])) {
    if (want.every((s) => s === want[0])) out.state = want[0];
    else {
      running.forEach((r, i) => {
        members[r.name]!.state = want[i];
      });
      needMembers = true;
    }
  }
  if (needMembers) out.members = members;
}

/**
 * One instance-wide unicast_peer list L with L minus each director's source equal to that
 * director's peers (resolve.ts), or undefined when there is none.
 */
function peerList(ds: { src?: string; peers: string[] }[]): string[] | undefined {
  const first = ds[0]!;
  const candidates: string[][] = [first.peers];
  if (first.src !== undefined && !first.peers.includes(first.src)) for (let i = 0; i <= first.peers.length; i++) candidates.push([...first.peers.slice(0, i), first.src, ...first.peers.slice(i)]);
  return candidates.find((l) => ds.every((d) => JSON.stringify(l.filter((p) => p !== d.src)) === JSON.stringify(d.peers)));
}
