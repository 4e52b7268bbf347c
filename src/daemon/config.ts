// lvsd's configuration file (JSON), written by lvsctl (src/render/lvsd.ts, a typed converter from
// the resolved Cluster) and parsed by the daemon with this same schema, so both sides agree on one
// definition. Semantics follow keepalived.conf(5) for the same settings (shared/reference/peers.md);
// the converter fills every keepalived default in, so the daemon never has to know them.
//
// Units, chosen once:
// - VRRP advert interval: centiseconds (`advertIntervalCs`), the unit of the VRRPv3 Max Adver Int
//   field (RFC 5798 section 5.2.7, 12 bits: 1-4095). VRRPv2 carries whole seconds (RFC 3768
//   section 5.3.7), so for version 2 it must be a multiple of 100.
// - Every other duration: seconds, possibly fractional (`...Sec`), as keepalived.conf writes them.
// - Scripts: argv arrays (already split the way keepalived splits a quoted script line); the daemon
//   runs them without a shell. The generic `notify` script gets keepalived's extra arguments
//   (type INSTANCE|GROUP, name, state, priority) appended.
//
// This module imports only zod's "mini" build: it is bundled into the daemon (Node 18), and its
// load and parse time is part of what a crash restart costs before the first advert (classic zod
// took ~60 ms of a ~200 ms restart on Debian 12's Node 18; mini a few ms).
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

/** Bumped on incompatible changes; the daemon refuses versions it does not know. */
export const LVSD_CONFIG_VERSION = 1;

const Ip = z.union([z.ipv4(), z.ipv6()]);
/** IFNAMSIZ 16 including the NUL (linux/if.h). */
const IfName = z.string().check(z.minLength(1), z.maxLength(15));
const NonEmpty = z.string().check(z.minLength(1));
const int = (min: number, max?: number) => (max === undefined ? z.int().check(z.gte(min)) : z.int().check(z.gte(min), z.lte(max)));
const Port = int(1, 65535);
const Seconds = z.number().check(z.gte(0));
const Argv = z.array(z.string()).check(z.minLength(1));
const opt = z.optional;

export const LvsdNotify = z.strictObject({
  master: opt(Argv),
  backup: opt(Argv),
  fault: opt(Argv),
  stop: opt(Argv),
  /** Called on every transition with (INSTANCE|GROUP, name, state, priority) appended. */
  generic: opt(Argv),
});
export type LvsdNotify = z.infer<typeof LvsdNotify>;

export const LvsdVip = z.strictObject({
  address: Ip,
  prefix: int(0, 128),
  /** Always set by the converter (defaults to the instance's interface). */
  dev: IfName,
  /** IFA_LABEL, at most 15 characters (rtnetlink). */
  label: opt(IfName),
});
export type LvsdVip = z.infer<typeof LvsdVip>;

export const LvsdInstance = z.strictObject({
  name: NonEmpty,
  interface: IfName,
  /** RFC 3768 section 5.3.3 / RFC 5798 section 5.2.3: 1-255. */
  vrid: int(1, 255),
  /** 255 is the address owner (RFC 5798 section 5.2.4). */
  priority: int(1, 255),
  /** Initial state only. BACKUP whenever nopreempt or preemptDelaySec is set (keepalived's rule). */
  state: z.enum(["MASTER", "BACKUP"]),
  version: z.union([z.literal(2), z.literal(3)]),
  /** Centiseconds (see the header). */
  advertIntervalCs: int(1, 4095),
  /** VRRPv2 simple-text authentication, at most 8 octets (RFC 2338 section 5.3.10). */
  authPass: opt(z.string().check(z.minLength(1), z.refine((s) => Buffer.byteLength(s, "utf8") <= 8, { error: "at most 8 bytes in UTF-8" }))),
  unicastSrcIp: opt(Ip),
  /** Empty: multicast (224.0.0.18 / ff02::12). */
  unicastPeers: z.array(Ip),
  vips: z.array(LvsdVip).check(z.minLength(1)),
  nopreempt: z.boolean(),
  /** 0: preempt at once. keepalived allows 0-1000 s. */
  preemptDelaySec: z.number().check(z.gte(0), z.lte(1000)),
  /** Any of these down puts the instance in FAULT. */
  trackInterfaces: z.array(IfName),
  garp: z.strictObject({
    /** Second burst of gratuitous ARPs this long after becoming master (keepalived default 5 s; 0: none). */
    masterDelaySec: Seconds,
    /** Gratuitous ARPs per burst (keepalived default 5). */
    masterRepeat: int(1),
    /** Periodic re-announcement while master (0: off, keepalived's default). */
    masterRefreshSec: Seconds,
  }),
  notify: LvsdNotify,
  /** v3: also accept adverts whose checksum leaves out the IPv4 pseudo-header (absent: strict,
   * as keepalived 2.2.7). From the inventory's director.lvsd.v3_checksum: lenient. */
  v3ChecksumLenient: opt(z.boolean()),
});
export type LvsdInstance = z.infer<typeof LvsdInstance>;

export const LvsdSyncGroup = z.strictObject({
  name: NonEmpty,
  /** Names of instances in `instances`. */
  instances: z.array(NonEmpty).check(z.minLength(1)),
  notify: LvsdNotify,
});
export type LvsdSyncGroup = z.infer<typeof LvsdSyncGroup>;

/** lvsd's rise count and keepalived's alpha, common to every check type. */
const RiseAlpha = {
  /** Successes in a row that bring a failed real server back (absent: 1, keepalived's behaviour). */
  rise: opt(int(1, 100)),
  /** keepalived `alpha`: the real server starts down until its check succeeds. */
  alpha: opt(z.boolean()),
};

const CheckCommon = {
  /** Defaults to the real server's address and port. */
  connectIp: opt(Ip),
  connectPort: opt(Port),
  bindto: opt(Ip),
  /** keepalived default 5 s. */
  connectTimeoutSec: Seconds,
  /** Failures in a row before the real server is taken out (keepalived `retry`, default 1). */
  retry: int(0),
  /** keepalived default 1 s (3 s for HTTP_GET / SSL_GET). */
  delayBeforeRetrySec: Seconds,
  ...RiseAlpha,
};

export const LvsdHttpUrl = z.strictObject({
  path: z.string().check(z.startsWith("/")),
  /** Accepted status codes; empty means any 2xx (keepalived's default). */
  statusCodes: z.array(int(100, 599)),
  /** MD5 of the body, lower-case hex. */
  digest: opt(z.string().check(z.regex(/^[0-9a-f]{32}$/))),
});
export type LvsdHttpUrl = z.infer<typeof LvsdHttpUrl>;

export const LvsdCheck = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("TCP"), ...CheckCommon }),
  z.strictObject({
    type: z.union([z.literal("HTTP"), z.literal("SSL")]),
    ...CheckCommon,
    urls: z.array(LvsdHttpUrl).check(z.minLength(1)),
    /** Host header; defaults to the service's virtualhost when it has one. */
    virtualhost: opt(NonEmpty),
    /** SSL: TLS server name (keepalived enable_sni / sni_name); absent: no SNI. */
    sni: opt(NonEmpty),
    /** SSL: verify the server's certificate (keepalived never does; absent: no verification). */
    verifyCert: opt(z.boolean()),
  }),
  z.strictObject({
    type: z.literal("MISC"),
    argv: Argv,
    /** keepalived default: the service's delay_loop. */
    timeoutSec: Seconds,
    /** Exit 0 up, 1 down, 2-255: up with weight rc-2 (keepalived misc_dynamic). */
    dynamic: z.boolean(),
    retry: int(0),
    delayBeforeRetrySec: Seconds,
    ...RiseAlpha,
  }),
]);
export type LvsdCheck = z.infer<typeof LvsdCheck>;

/** TUN forwarding only: the encapsulation (IP_VS_CONN_F_TUNNEL_TYPE_*; absent: ipip), for gue
 * the UDP port, and for gue/gre the checksum (IP_VS_TUNNEL_ENCAP_FLAG_*; absent: nocsum), as
 * keepalived's `lvs_method TUN type gue port N csum`. */
export const LvsdTunnel = z
  .strictObject({ type: z.enum(["ipip", "gue", "gre"]), port: opt(Port), checksum: opt(z.enum(["nocsum", "csum", "remcsum"])) })
  .check(
    z.refine((t) => (t.type === "gue") === (t.port !== undefined), { error: "a gue tunnel needs a port; ipip and gre take none" }),
    z.refine((t) => !(t.type === "ipip" && t.checksum !== undefined && t.checksum !== "nocsum"), { error: "an ipip tunnel has no checksum option" }),
    z.refine((t) => !(t.type === "gre" && t.checksum === "remcsum"), { error: "a gre tunnel has no remcsum" }),
  );
export type LvsdTunnel = z.infer<typeof LvsdTunnel>;

export const LvsdRealServer = z.strictObject({
  address: Ip,
  /** 0 for fwmark services that keep the client's destination port. */
  port: int(0, 65535),
  weight: int(0, 65535),
  /** On failure set weight 0 instead of removing the destination. */
  inhibitOnFailure: z.boolean(),
  /** IPVS connection thresholds (0: none). */
  uthreshold: opt(int(0)),
  lthreshold: opt(int(0)),
  notifyUp: opt(Argv),
  notifyDown: opt(Argv),
  /** Absent: no checking, the real server is always up. */
  check: opt(LvsdCheck),
  /** TUN forwarding only (LvsdTunnel). */
  tunnel: opt(LvsdTunnel),
});
export type LvsdRealServer = z.infer<typeof LvsdRealServer>;

export const LvsdService = z
  .strictObject({
    name: NonEmpty,
    /** vip + port, or fwmark. */
    vip: opt(Ip),
    port: opt(Port),
    fwmark: opt(int(1, 0xffffffff)),
    protocol: z.enum(["TCP", "UDP", "SCTP"]),
    /** IPVS scheduler name (ip_vs_<name> module). */
    scheduler: z.string().check(z.regex(/^[a-z]+$/)),
    /** Scheduler flags as ipvsadm -b names them (IP_VS_SVC_F_SCHED1..3: sh-fallback = mh-fallback =
     * flag-1, sh-port = mh-port = flag-2, flag-3). */
    schedulerFlags: opt(z.array(z.enum(["flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port"]))),
    /** One-packet scheduling (ipvsadm -o, keepalived `ops`; UDP). */
    onePacket: opt(z.boolean()),
    forwarding: z.enum(["DR", "NAT", "TUN"]),
    /** Absent: no persistence. */
    persistenceTimeoutSec: opt(int(1)),
    /** Persistence granularity: a dotted netmask on an IPv4 service, a prefix length (1-128) on
     * an IPv6 one (keepalived's persistence_granularity; ipvsadm -M). */
    persistenceNetmask: opt(z.union([z.ipv4(), int(1, 128)])),
    /** Interval between checks of each real server (keepalived default 60 s). */
    delayLoopSec: z.number().check(z.positive()),
    virtualhost: opt(NonEmpty),
    /** `tunnel`: TUN only, as the real servers' (keepalived gives the sorry server the service's). */
    sorryServer: opt(z.strictObject({ address: Ip, port: int(0, 65535), tunnel: opt(LvsdTunnel) })),
    /** Minimum total weight of live real servers (keepalived default 1). */
    quorum: int(1),
    hysteresis: int(0),
    /** keepalived quorum_up / quorum_down: run when the service gains or loses quorum. */
    quorumUp: opt(Argv),
    quorumDown: opt(Argv),
    realServers: z.array(LvsdRealServer).check(z.minLength(1)),
  })
  .check(
    z.refine((s) => (s.fwmark !== undefined) !== (s.vip !== undefined && s.port !== undefined), {
      error: "a service has either vip and port, or fwmark",
    }),
  );
export type LvsdService = z.infer<typeof LvsdService>;

export const LvsdConfig = z.strictObject({
  version: z.literal(LVSD_CONFIG_VERSION),
  /** The director's name in logs and status (keepalived's router_id). */
  routerId: NonEmpty,
  /** Status JSON and Prometheus metrics on 127.0.0.1:<statusPort>. */
  statusPort: Port,
  instances: z.array(LvsdInstance),
  syncGroups: z.array(LvsdSyncGroup),
  services: z.array(LvsdService),
  /** The kernel's IPVS connection sync daemon (keepalived's global lvs_sync_daemon): run on
   * `interface` with `syncId`, master while the VRRP instance `instance` is MASTER and backup
   * otherwise, so connections survive a failover. */
  lvsSyncDaemon: opt(z.strictObject({ interface: IfName, instance: NonEmpty, syncId: int(0, 255) })),
});
export type LvsdConfig = z.infer<typeof LvsdConfig>;

/** Parses and checks a config file's text. Throws a plain Error naming the first bad path. */
export function parseLvsdConfig(text: string): LvsdConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`lvsd config is not valid JSON: ${(e as Error).message}`);
  }
  // A large config is mostly real servers with only the common fields: those are checked by
  // hand (plainRealServers), the rest with the schema; anything else takes the schema's whole path,
  // so every problem is reported as the schema words it.
  const plain = plainRealServers(raw);
  const r = LvsdConfig.safeParse(plain ? { ...(raw as object), services: plain.skeleton } : raw);
  if (r.success && plain) r.data.services.forEach((s, i) => (s.realServers = plain.realServers[i]!));
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`lvsd config is invalid:\n${lines.join("\n")}`);
  }
  const names = new Set(r.data.instances.map((i) => i.name));
  for (const g of r.data.syncGroups) {
    for (const n of g.instances) {
      if (!names.has(n)) throw new Error(`lvsd config is invalid:\n  syncGroups.${g.name}: unknown instance ${n}`);
    }
  }
  const sync = r.data.lvsSyncDaemon;
  if (sync && !names.has(sync.instance)) throw new Error(`lvsd config is invalid:\n  lvsSyncDaemon.instance: unknown instance ${sync.instance}`);
  return r.data;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const PLAIN_KEYS = new Set(["address", "port", "weight", "inhibitOnFailure", "uthreshold", "lthreshold"]);
const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;

/** A real server as LvsdRealServer parses it, when it has only the common fields (an IPv4
 * address, port, weight, inhibitOnFailure, thresholds): the schema's checks for those, spelled
 * out, and its output (the fields in the schema's order). undefined for anything else. */
function plainRealServer(x: unknown): LvsdRealServer | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return undefined;
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!PLAIN_KEYS.has(k)) return undefined;
  const { address, port, weight, inhibitOnFailure } = o;
  if (typeof address !== "string" || !IPV4.test(address) || !isInt(port, 0, 65535) || !isInt(weight, 0, 65535) || typeof inhibitOnFailure !== "boolean") return undefined;
  const out: LvsdRealServer = { address, port, weight, inhibitOnFailure };
  if ("uthreshold" in o) {
    if (!isInt(o.uthreshold, 0)) return undefined;
    out.uthreshold = o.uthreshold;
  }
  if ("lthreshold" in o) {
    if (!isInt(o.lthreshold, 0)) return undefined;
    out.lthreshold = o.lthreshold;
  }
  return out;
}

/** When every service's real servers are all plain (plainRealServer), those parsed, and the
 * services with only their first real server each, for the schema to check the rest; otherwise
 * undefined (the schema parses everything). */
function plainRealServers(raw: unknown): { realServers: LvsdRealServer[][]; skeleton: unknown[] } | undefined {
  const services = (raw as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) return undefined;
  const realServers: LvsdRealServer[][] = [];
  const skeleton: unknown[] = [];
  for (const s of services) {
    const rs = (s as { realServers?: unknown } | null)?.realServers;
    if (!Array.isArray(rs) || rs.length === 0) return undefined;
    const parsed: LvsdRealServer[] = [];
    for (const x of rs) {
      const p = plainRealServer(x);
      if (!p) return undefined;
      parsed.push(p);
    }
    realServers.push(parsed);
    skeleton.push({ ...(s as object), realServers: [rs[0]] });
  }
  return { realServers, skeleton };
}
