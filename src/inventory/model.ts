// The resolved cluster: what the inventory means once defaults, groups, Ansible imports and
// per-director overrides are applied. Renderers, playbooks, lvsd and the drill read this, never
// the raw document. Produced by resolve.ts from a validated Inventory; pure data, JSON-safe.
import type { SecretRef } from "./schema.js";

export type Role = "director" | "realserver";

export interface BecomeSpec {
  method: "sudo";
  user: string;
  password?: SecretRef;
}

export interface ResolvedHost {
  name: string;
  address: string;
  port: number; // default 22
  user: string; // default root
  keyFile?: string;
  /** SSH agent socket path, when the agent is to be used (`agent: true` means $SSH_AUTH_SOCK, absent when unset). */
  agent?: string;
  password?: SecretRef;
  become?: BecomeSpec;
  /** Jump hops in order, each resolved to a host-like target. */
  jump: JumpHop[];
  connectTimeoutSec: number; // default 10
  groups: string[]; // sorted, includes "all"
  roles: Role[];
  /** Merged vars: all < other groups (parents before children, then by name) < host. SSH settings merge the same way, under `defaults`. */
  vars: Record<string, unknown>;
}

export interface JumpHop {
  name: string;
  address: string;
  port: number;
  user: string;
  keyFile?: string;
  agent?: string;
  password?: SecretRef;
}

export interface ResolvedVip {
  address: string;
  prefix: number; // default 32 (IPv4) / 128 (IPv6)
  dev?: string; // default: the instance's interface
  label?: string;
}

/** One VRRP instance as a particular director runs it. */
export interface DirectorVrrpInstance {
  name: string;
  interface: string;
  vrid: number;
  priority: number;
  state: "MASTER" | "BACKUP";
  advertInt: number; // seconds (fractional for v3)
  version: 2 | 3;
  authPass?: SecretRef;
  unicastSrcIp?: string;
  unicastPeers: string[]; // empty: multicast
  vips: ResolvedVip[];
  /** virtual_ipaddress_excluded: moved with the state, not carried in adverts. */
  excludedVips?: ResolvedVip[];
  nopreempt: boolean;
  preemptDelay?: number;
  trackInterfaces: string[];
  garp: { masterDelay?: number; masterRepeat?: number; masterRefresh?: number };
  notify: { master?: string; backup?: string; fault?: string; stop?: string; generic?: string };
  smtpAlert?: boolean;
}

export interface ResolvedSyncGroup {
  name: string;
  instances: string[];
  notify: { master?: string; backup?: string; fault?: string; stop?: string; generic?: string };
  smtpAlert?: boolean;
}

/** The IPVS connection sync daemon (global_defs.lvs_sync_daemon, or an instance's older lvs_sync_daemon_interface). */
export interface ResolvedSyncDaemon {
  interface: string;
  /** The VRRP instance whose state the daemon follows (master while it is MASTER). */
  instance: string;
  /** Given sync ID; absent: the instance's VRID (keepalived's default). */
  syncId?: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
}

export type ResolvedCheck =
  | { type: "TCP_CHECK"; common: CheckCommon }
  | {
      type: "HTTP_GET" | "SSL_GET";
      common: CheckCommon;
      urls: { path: string; statusCodes: number[]; digest?: string }[];
      virtualhost?: string;
      /** SSL_GET: the TLS server name to send (from enable_sni / sni_name), and lvsd's verify_cert. */
      sniName?: string;
      enableSni?: boolean;
      verifyCert?: boolean;
    }
  | { type: "MISC_CHECK"; path: string; timeoutSec?: number; dynamic: boolean; retry?: number; delayBeforeRetrySec?: number; rise?: number; alpha?: boolean };

export interface CheckCommon {
  connectIp?: string;
  connectPort?: number;
  bindto?: string;
  connectTimeoutSec?: number;
  retry?: number; // from retry or nb_get_retry
  delayBeforeRetrySec?: number;
  rise?: number;
  alpha?: boolean;
}

export interface ResolvedRealServer {
  /** Inventory host name, when the real server is an inventory host. */
  host?: string;
  address: string;
  port: number; // default: the service's port (DR/TUN must keep it); 0 for fwmark services without one
  weight: number;
  inhibitOnFailure: boolean;
  uthreshold?: number;
  lthreshold?: number;
  notifyUp?: string;
  notifyDown?: string;
  smtpAlert?: boolean;
  check?: ResolvedCheck;
}

export interface ResolvedService {
  name: string;
  /** Either vip+port or fwmark. */
  vip?: string;
  port?: number;
  fwmark?: number;
  protocol: "TCP" | "UDP" | "SCTP";
  lbAlgo: string;
  /** ipvsadm -b names, in the inventory's order. */
  schedFlags?: string[];
  /** One-packet scheduling (keepalived `ops`). */
  ops?: boolean;
  lbKind: "DR" | "NAT" | "TUN";
  /** TUN only: the encapsulation of every real server (absent: ipip). */
  tunnel?: { type: "ipip" | "gue" | "gre"; port?: number; checksum?: "nocsum" | "csum" | "remcsum" };
  persistenceTimeout?: number;
  /** IPv4: a dotted netmask; IPv6: a prefix length. */
  persistenceGranularity?: string | number;
  delayLoop?: number;
  virtualhost?: string;
  sorryServer?: { address: string; port?: number };
  /** NAT: the gateway VIP the inventory names (natGatewayOf in src/render also infers one). */
  natGateway?: string;
  quorum?: number;
  hysteresis?: number;
  quorumUp?: string;
  quorumDown?: string;
  smtpAlert?: boolean;
  realServers: ResolvedRealServer[];
}

export interface ResolvedDirector {
  host: ResolvedHost;
  routerId: string;
  instances: DirectorVrrpInstance[];
}

export interface Cluster {
  /** Path of the inventory file, for messages. */
  source: string;
  hosts: Record<string, ResolvedHost>;
  groups: Record<string, string[]>;
  directors: ResolvedDirector[];
  realServers: ResolvedHost[];
  backend: "keepalived" | "lvsd";
  keepalived: { from: "package" | "source"; version?: string; tarball?: string; sha256?: string; prefix: string; sysconfdir: string; configureOptions: string[] };
  lvsd: { statusPort: number; installDir: string; node: string; v3Checksum: "strict" | "lenient" };
  /** The inventory's `director.sysctls`, as strings: they override or extend the baseline that sysctls.ts derives from the services. */
  directorSysctls: Record<string, string>;
  globalDefs: {
    notificationEmail: string[];
    notificationEmailFrom?: string;
    smtpServer?: string;
    smtpConnectTimeout?: number;
    vrrpStrict: boolean;
    smtpAlert?: boolean;
    lvsSyncDaemon?: ResolvedSyncDaemon;
  };
  syncGroups: ResolvedSyncGroup[];
  services: ResolvedService[];
}
