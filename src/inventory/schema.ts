// The inventory schema: the one validated model everything else is fed from.
//
// Key names follow keepalived.conf(5) where keepalived has a name for the thing (lb_algo,
// lb_kind, persistence_timeout, advert_int, ...), because that is what our users already know.
// Defaults follow keepalived's (shared/reference/peers.md) unless a comment says otherwise.
//
// This file is only shape and per-field ranges. Rules that look across the document (duplicate
// VRIDs, DR port remapping, unknown group members, ...) live in validate.ts, where each can
// point at the YAML node that caused it.
import { z } from "zod";
import { text } from "./text.js";
import { VERSION_PATTERN } from "./tarball-name.js";

// --- scalars ----------------------------------------------------------------------------------

const ipv4 = z.ipv4({ error: "must be an IPv4 address such as 192.0.2.10" });
const ipv6 = z.ipv6({ error: "must be an IPv6 address" });
export const IpAddress = z.union([ipv4, ipv6], { error: "must be an IPv4 or IPv6 address" });

/** Linux interface names: the kernel's rules and the characters lvsctl writes bare (text.ts, LVS123). */
export const InterfaceName = text("interface", z.string());

const Port = z.number().int().min(1).max(65535);
/**
 * Timeouts, intervals and delays reach timers (Node's setTimeout takes at most 2^31-1 ms, about
 * 24.8 days, and fires at once beyond it; keepalived keeps seconds in its own timers), so each is
 * bounded here, where the value still has a file:line:col. A day is beyond any sensible setting.
 */
export const MAX_TIMER_SEC = 86_400;
const Seconds = z.number().min(0).max(MAX_TIMER_SEC);

/**
 * A secret: an environment variable, a file reference, or a question asked on the terminal
 * before the run starts (`{prompt: TEXT}`, like Ansible's --ask-become-pass; one answer per
 * distinct TEXT). A clear string is accepted with a warning.
 */
const secretRef = (kind: "secret" | "authPass") => z.union([
  text(kind, z.string().min(1)),
  z.strictObject({ env: text("word", z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" })) }),
  z.strictObject({ file: text("line", z.string().min(1)) }),
  z.strictObject({ prompt: text("line", z.string().trim().min(1, { error: "the prompt text cannot be empty" })) }),
], { error: "must be a string, {env: NAME}, {file: PATH} or {prompt: TEXT}" });
export const SecretRef = secretRef("secret");
export type SecretRef = z.infer<typeof SecretRef>;

/** Keys whose value is a SecretRef: a problem under one of them never shows the value. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["password", "auth_pass"]);

/** Whether `path` is a secret or inside one (`auth_pass`, `become.password.file`, ...). */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  return path.some((k) => typeof k === "string" && SECRET_KEYS.has(k));
}

/** keepalived.conf's notify scripts: a command line (quoted by the renderer), its program an absolute path. */
const Script = text("script", z.string().min(1));
/** A name that refers to another entry (a host, a group, an instance). */
const Ref = text("word", z.string().min(1));

// --- hosts and groups -------------------------------------------------------------------------

export const Become = z.union([
  z.boolean(),
  z.strictObject({
    method: z.literal("sudo").default("sudo"),
    user: text("word", z.string()).default("root"),
    password: SecretRef.optional(),
  }),
]);

/** SSH settings that can sit on a host, a group, or the inventory's `defaults`. */
export const SshSettings = z.strictObject({
  port: Port.optional(),
  user: text("word", z.string().min(1)).optional(),
  key_file: text("line", z.string().min(1)).optional(),
  /** true: use $SSH_AUTH_SOCK; a string: that agent socket path. */
  agent: z.union([z.boolean(), text("line", z.string().min(1))]).optional(),
  password: SecretRef.optional(),
  become: Become.optional(),
  /** Jump hosts, in order: inventory host names or `user@host:port`. */
  jump: z.union([Ref, z.array(Ref).min(1)]).optional(),
  connect_timeout: Seconds.optional(),
});

export const Host = SshSettings.extend({
  address: text("word", z.string().min(1, { error: "address is required: the IP or DNS name lvsctl connects to" })),
  /** Extra groups this host belongs to (in addition to groups listing it). */
  groups: z.array(Ref).optional(),
  vars: z.record(text("line", z.string()), z.unknown()).optional(),
});
export type Host = z.infer<typeof Host>;

export const Group = z.strictObject({
  hosts: z.array(Ref).default([]),
  children: z.array(Ref).optional(),
  vars: z.record(text("line", z.string()), z.unknown()).optional(),
  ssh: SshSettings.optional(),
});
export type Group = z.infer<typeof Group>;

// --- VRRP -------------------------------------------------------------------------------------

export const Vip = z.union([
  /** "10.0.0.100/24" or "10.0.0.100" (defaults to /32). */
  text("vip", z.string().min(1)),
  z.strictObject({
    address: IpAddress,
    prefix: z.number().int().min(0).max(128).optional(),
    dev: InterfaceName.optional(),
    /** At most 15 characters; by convention `<dev>:<name>` (rtnetlink IFA_LABEL). */
    label: text("ipLabel", z.string().min(1)).optional(),
  }),
]);
export type Vip = z.infer<typeof Vip>;

const VrrpState = z.enum(["MASTER", "BACKUP"]);

/** Per-director overrides of an instance (priority, initial state, interface, unicast source). */
export const VrrpMember = z.strictObject({
  priority: z.number().int().min(1).max(255).optional(),
  state: VrrpState.optional(),
  interface: InterfaceName.optional(),
  unicast_src_ip: IpAddress.optional(),
});

export const VrrpInstance = z.strictObject({
  name: text("kaBare", z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: "instance names use letters, digits, '_', '.', '-'" })),
  interface: InterfaceName,
  virtual_router_id: z.number().int().min(1, { error: "VRID must be 1-255" }).max(255, { error: "VRID must be 1-255" }),
  /** Default priority for directors not listed in `members`; see resolve.ts for the defaults. */
  priority: z.number().int().min(1).max(255).optional(),
  state: VrrpState.optional(),
  /** v2: whole seconds 1-255. v3: 0.01-40.95 s. Checked against `version` in validate.ts. */
  advert_int: z.number().positive().max(255).default(1),
  version: z.union([z.literal(2), z.literal(3)]).default(2),
  authentication: z
    .strictObject({
      auth_type: z.literal("PASS"),
      /** keepalived uses the first 8 characters. */
      auth_pass: secretRef("authPass"),
    })
    .optional(),
  /** true: each director uses its own address as source and the other directors as peers. */
  unicast: z.boolean().optional(),
  unicast_src_ip: IpAddress.optional(),
  /** keepalived's other name for the same source address (vrrp_parser.c reads both into one). */
  mcast_src_ip: IpAddress.optional(),
  unicast_peer: z.array(IpAddress).optional(),
  virtual_ipaddress: z.array(Vip).min(1, { error: "an instance needs at least one VIP" }),
  /**
   * Addresses that move with the instance but are not in its adverts (keepalived.conf(5)): more
   * than a v2 advert holds, or the other address family.
   */
  virtual_ipaddress_excluded: z.array(Vip).optional(),
  /** keepalived 1.x's connection sync setting, per instance; global_defs.lvs_sync_daemon replaces it (validate.ts LVS327). */
  lvs_sync_daemon_interface: InterfaceName.optional(),
  /** Mail on state changes (keepalived: off unless global_defs.smtp_alert). */
  smtp_alert: z.boolean().optional(),
  nopreempt: z.boolean().default(false),
  preempt_delay: z.number().min(0).max(1000).optional(),
  track_interface: z.array(InterfaceName).optional(),
  garp_master_delay: z.number().int().min(0).max(MAX_TIMER_SEC).optional(),
  garp_master_repeat: z.number().int().min(1).optional(),
  garp_master_refresh: z.number().int().min(0).max(MAX_TIMER_SEC).optional(),
  notify_master: Script.optional(),
  notify_backup: Script.optional(),
  notify_fault: Script.optional(),
  notify_stop: Script.optional(),
  notify: Script.optional(),
  /** Which directors run this instance and their overrides; default: every director. */
  members: z.record(text("word", z.string()), VrrpMember).optional(),
  /**
   * Equal priorities are rejected unless this is set: the RFC then elects the director with the
   * highest primary address, which is rarely what anybody planned.
   */
  allow_equal_priority: z.boolean().default(false),
});
export type VrrpInstance = z.infer<typeof VrrpInstance>;

export const SyncGroup = z.strictObject({
  name: text("kaBare", z.string().regex(/^[A-Za-z0-9_.-]+$/)),
  group: z.array(text("kaBare", z.string().min(1))).min(1),
  notify_master: Script.optional(),
  notify_backup: Script.optional(),
  notify_fault: Script.optional(),
  notify_stop: Script.optional(),
  notify: Script.optional(),
  smtp_alert: z.boolean().optional(),
});
export type SyncGroup = z.infer<typeof SyncGroup>;

export const GlobalDefs = z.strictObject({
  /** Default: the director's inventory name. */
  router_id: text("kaText", z.string().min(1)).optional(),
  /** keepalived's older name for router_id. */
  lvs_id: text("kaText", z.string().min(1)).optional(),
  notification_email: z.array(z.email()).optional(),
  notification_email_from: z.email().optional(),
  /** HOST [PORT], written bare. */
  smtp_server: text("kaBare", z.string().min(1)).optional(),
  smtp_connect_timeout: z.number().int().min(1).max(MAX_TIMER_SEC).optional(),
  /** keepalived's vrrp_strict; off by default, because its sample config makes VIPs unreachable. */
  vrrp_strict: z.boolean().default(false),
  /** Default of every smtp_alert below (keepalived: mail on VRRP changes off, on checker changes on). */
  smtp_alert: z.boolean().optional(),
  /**
   * The kernel's IPVS connection sync daemon, so connections survive a failover: master on the
   * director where `instance` is MASTER, backup elsewhere (keepalived's global lvs_sync_daemon;
   * lvsd's lvsSyncDaemon). Ranges from keepalived's global_parser.c.
   */
  lvs_sync_daemon: z
    .strictObject({
      interface: InterfaceName,
      instance: text("kaBare", z.string().min(1)),
      /** Sync ID 0-255; keepalived's default is the instance's virtual_router_id. */
      id: z.number().int().min(0).max(255).optional(),
      /** Largest sync message, bytes (65535 less the IP and UDP headers). */
      maxlen: z.number().int().min(1).max(65535 - 20 - 8).optional(),
      port: Port.optional(),
      ttl: z.number().int().min(1).max(255).optional(),
      /** Multicast group (kernel default 224.0.0.81). */
      group: IpAddress.optional(),
    })
    .optional(),
});
export type GlobalDefs = z.infer<typeof GlobalDefs>;

// --- health checks ----------------------------------------------------------------------------

const RiseAlpha = {
  /** lvsd only: successes in a row that bring a failed real server back (keepalived: always 1). */
  rise: z.number().int().min(1).max(100).optional(),
  /** keepalived `alpha`: the real server starts down until its check succeeds. */
  alpha: z.boolean().optional(),
};

const CheckCommon = {
  connect_ip: IpAddress.optional(),
  connect_port: Port.optional(),
  bindto: IpAddress.optional(),
  /** keepalived default 5 s. */
  connect_timeout: Seconds.optional(),
  /** keepalived default 1; `nb_get_retry` is the legacy name for the same thing. */
  retry: z.number().int().min(0).optional(),
  nb_get_retry: z.number().int().min(0).optional(),
  /** keepalived default 1 s (3 s for HTTP_GET / SSL_GET). */
  delay_before_retry: Seconds.optional(),
  ...RiseAlpha,
};

export const HttpUrl = z.strictObject({
  path: text("kaText", z.string().startsWith("/", { error: "url path must start with '/'" })),
  status_code: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).optional(),
  /** MD5 of the body, 32 hex digits (keepalived's genhash). */
  digest: text("kaText", z.string().regex(/^[0-9a-fA-F]{32}$/, { error: "digest is an MD5 hex string of 32 characters (see genhash)" })).optional(),
});

export const Check = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("TCP_CHECK"), ...CheckCommon }),
  z.strictObject({
    type: z.literal("HTTP_GET"),
    ...CheckCommon,
    url: z.array(HttpUrl).min(1, { error: "HTTP_GET needs at least one url" }),
    virtualhost: text("kaText", z.string().min(1)).optional(),
  }),
  z.strictObject({
    type: z.literal("SSL_GET"),
    ...CheckCommon,
    url: z.array(HttpUrl).min(1, { error: "SSL_GET needs at least one url" }),
    virtualhost: text("kaText", z.string().min(1)).optional(),
    /** keepalived: send TLS SNI (sni_name, else the virtualhost). */
    enable_sni: z.boolean().optional(),
    sni_name: text("kaText", z.string().min(1)).optional(),
    /** lvsd only: verify the server's certificate (keepalived never does). */
    verify_cert: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal("MISC_CHECK"),
    misc_path: Script,
    misc_timeout: Seconds.optional(),
    misc_dynamic: z.boolean().optional(),
    retry: z.number().int().min(0).optional(),
    delay_before_retry: Seconds.optional(),
    ...RiseAlpha,
  }),
]);
export type Check = z.infer<typeof Check>;

// --- virtual services -------------------------------------------------------------------------

/** Schedulers the kernel ships (ip_vs_<name> modules). */
export const Schedulers = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"] as const;
export const LbAlgo = z.enum(Schedulers, {
  error: `unknown scheduler; use one of ${Schedulers.join(", ")}`,
});
export const LbKind = z.enum(["DR", "NAT", "TUN"], { error: "lb_kind must be DR, NAT or TUN" });
/**
 * Scheduler flags, as ipvsadm -b and keepalived's bare keywords name them (IP_VS_SVC_F_SCHED1..3):
 * sh-fallback = mh-fallback = flag-1, sh-port = mh-port = flag-2, flag-3.
 */
export const SchedFlags = ["flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port"] as const;
/** TUN forwarding's encapsulation (keepalived `lvs_method TUN type gue port N csum`). */
export const Tunnel = z.strictObject({
  /** ipip (the default), gue (Linux 5.2, needs a port) or gre (Linux 5.3). */
  type: z.enum(["ipip", "gue", "gre"], { error: "tunnel type must be ipip, gue or gre" }),
  /** gue only: the UDP port the real servers decapsulate on. */
  port: Port.optional(),
  /** gue and gre (Linux 5.3): nocsum (the default), csum, or remcsum (gue only). */
  checksum: z.enum(["nocsum", "csum", "remcsum"], { error: "checksum must be nocsum, csum or remcsum" }).optional(),
});
export type Tunnel = z.infer<typeof Tunnel>;

export const RealServer = z.strictObject({
  /** An inventory host: its address is used unless `address` is given. */
  host: Ref.optional(),
  /**
   * Every host of this group (children included), each overridden by its `real_server` var
   * (rs-groups.ts); the other keys here are their defaults.
   */
  group: Ref.optional(),
  address: IpAddress.optional(),
  port: Port.optional(),
  /** keepalived default 1. */
  weight: z.number().int().min(0).max(65535).default(1),
  inhibit_on_failure: z.boolean().optional(),
  uthreshold: z.number().int().min(0).optional(),
  lthreshold: z.number().int().min(0).optional(),
  notify_up: Script.optional(),
  notify_down: Script.optional(),
  /** Mail when this real server goes up or down (keepalived: on unless global_defs.smtp_alert says otherwise). */
  smtp_alert: z.boolean().optional(),
  /** Overrides the service's `check` for this real server; `false` turns checking off. */
  check: z.union([Check, z.literal(false)]).optional(),
});
export type RealServer = z.infer<typeof RealServer>;

export const VirtualService = z.strictObject({
  /** Used in logs, status and the lvsd config; default `<vip>:<port>` or `fwmark<N>`. */
  name: text("kaComment", z.string().min(1)).optional(),
  vip: IpAddress.optional(),
  port: Port.optional(),
  fwmark: z.number().int().min(1).max(0xffffffff).optional(),
  /** SCTP needs the kernel's ip_vs SCTP support (CONFIG_IP_VS_PROTO_SCTP, in Debian's kernels). */
  protocol: z.enum(["TCP", "UDP", "SCTP"], { error: "protocol must be TCP, UDP or SCTP" }).default("TCP"),
  lb_algo: LbAlgo.default("wlc"),
  /** Scheduler flags (ipvsadm -b); sh-* only with lb_algo sh, mh-* only with mh. */
  sched_flags: z.array(z.enum(SchedFlags, { error: `unknown scheduler flag; use ${SchedFlags.join(", ")}` })).min(1).optional(),
  /** One-packet scheduling (keepalived `ops`, ipvsadm -o): each UDP datagram scheduled on its own. */
  ops: z.boolean().optional(),
  lb_kind: LbKind.default("DR"),
  /** lb_kind TUN only: the encapsulation for every real server (default ipip). */
  tunnel: Tunnel.optional(),
  /** Seconds; `true` means keepalived's default of 360 s. */
  // The kernel keeps it as seconds * HZ in 32 bits (ip_vs_ctl.c); 31 days stays far inside.
  persistence_timeout: z.union([z.number().int().min(1).max(31 * MAX_TIMER_SEC), z.literal(true)]).optional(),
  /** IPv4: a netmask (255.255.255.0); IPv6: a prefix length (64), as keepalived takes them. */
  persistence_granularity: z.union([ipv4, z.number().int().min(1).max(128)], { error: "persistence_granularity is an IPv4 netmask (255.255.255.0) or, for IPv6, a prefix length 1-128" }).optional(),
  /** keepalived default 60 s. */
  delay_loop: z.number().positive().max(MAX_TIMER_SEC).optional(),
  virtualhost: text("kaText", z.string().min(1)).optional(),
  sorry_server: z.strictObject({ address: IpAddress, port: Port.optional() }).optional(),
  /**
   * NAT only: the address the real servers route their replies through, a VRRP VIP on the
   * directors' inside network so it moves with the master. Default: the one VRRP VIP (not a
   * service's) whose prefix holds the real server's address (topology.ts natGateway).
   */
  nat_gateway: IpAddress.optional(),
  quorum: z.number().int().min(1).optional(),
  hysteresis: z.number().int().min(0).optional(),
  quorum_up: Script.optional(),
  quorum_down: Script.optional(),
  /** Mail when the service gains or loses quorum. */
  smtp_alert: z.boolean().optional(),
  /** Applied to every real server that does not have its own. */
  check: Check.optional(),
  real_servers: z.array(RealServer).min(1, { error: "a virtual service needs at least one real server" }),
});
export type VirtualService = z.infer<typeof VirtualService>;

// --- director backend -------------------------------------------------------------------------

export const KeepalivedInstall = z.strictObject({
  from: z.enum(["package", "source"]).default("package"),
  /** Names the build's directory; default: read from the tarball's name (keepalived-2.2.7.tar.gz). */
  version: text("word", z.string().regex(VERSION_PATTERN, { error: "a version is one word of letters, digits and . + ~ _ - (e.g. 2.2.7)" })).optional(),
  /**
   * A local path (relative to the inventory's folder) or an http(s) URL of the release tarball;
   * a URL is fetched once by the controller and cached (src/run/tarball.ts), never by a director.
   */
  tarball: text("word", z.string().min(1)).optional(),
  /** The tarball's sha256 (64 hex digits): checked before anything is built from it. */
  sha256: text("word", z.string().regex(/^[0-9a-fA-F]{64}$/, { error: "sha256 is 64 hex digits (sha256sum prints it)" })).optional(),
  prefix: text("path", z.string()).default("/usr/local"),
  sysconfdir: text("path", z.string()).default("/etc"),
  configure_options: z.array(text("line", z.string())).optional(),
});

export const Director = z.strictObject({
  backend: z.enum(["keepalived", "lvsd"]).default("keepalived"),
  keepalived: KeepalivedInstall.default({ from: "package", prefix: "/usr/local", sysconfdir: "/etc" }),
  lvsd: z
    .strictObject({
      /** Status JSON and Prometheus metrics on 127.0.0.1:<port>. */
      status_port: Port.default(9547),
      install_dir: text("path", z.string()).default("/opt/lvsd"),
      /** The Node runtime that runs lvsd (Node 18 or newer): Debian's nodejs package by default, which deploy installs. */
      node: text("path", z.string()).default("/usr/bin/node"),
      /** VRRPv3 receive checksum: strict (over the IPv4 pseudo-header, RFC 5798 section 5.2.8, what
       * keepalived 2.2.7 accepts) or lenient (also accept a checksum over the message alone). */
      v3_checksum: z.enum(["strict", "lenient"], { error: "v3_checksum must be strict or lenient" }).default("strict"),
    })
    .default({ status_port: 9547, install_dir: "/opt/lvsd", node: "/usr/bin/node", v3_checksum: "strict" }),
  /** Director sysctl baseline (ip_forward for NAT, expire_nodest_conn, ...). */
  /** Keys by pattern (sysctls.ts sysctlKeyProblem, checked with the other text rules: LVS125). */
  sysctls: z.record(text("sysctlKey", z.string()), z.union([text("sysctlValue", z.string()), z.number()])).optional(),
});
export type Director = z.infer<typeof Director>;

// --- the document -----------------------------------------------------------------------------

export const Inventory = z.strictObject({
  /** Hosts and groups from an existing Ansible YAML inventory, merged under ours. */
  ansible_inventory: text("line", z.string().min(1)).optional(),
  /** SSH settings for every host unless a group or the host says otherwise. */
  defaults: SshSettings.optional(),
  hosts: z.record(text("name", z.string()), Host).default({}),
  /** `directors` and `realservers` are the two groups lvsctl gives meaning to. */
  groups: z.record(text("name", z.string()), Group).default({}),
  director: Director.default({
    backend: "keepalived",
    keepalived: { from: "package", prefix: "/usr/local", sysconfdir: "/etc" },
    lvsd: { status_port: 9547, install_dir: "/opt/lvsd", node: "/usr/bin/node", v3_checksum: "strict" },
  }),
  global_defs: GlobalDefs.default({ vrrp_strict: false }),
  vrrp_instances: z.array(VrrpInstance).default([]),
  vrrp_sync_groups: z.array(SyncGroup).default([]),
  virtual_servers: z.array(VirtualService).default([]),
});
export type Inventory = z.infer<typeof Inventory>;
export type InventoryInput = z.input<typeof Inventory>;

/** Group names lvsctl gives meaning to. */
export const DIRECTORS = "directors";
export const REALSERVERS = "realservers";
