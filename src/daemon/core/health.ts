// The contract between the health-check scheduler (src/daemon/check/) and the daemon core: the
// core hands the config's services to a HealthSource, reads each real server's health when it
// builds the wanted IPVS table (ipvs/policy.ts), and is told when any health changes. Real servers
// are named by realServerId(), stable across reloads. Until a check runs (or for a real server
// without a check) a real server is up with its configured weight: `allUp` is that source.
import type { LvsdRealServer, LvsdService } from "../config.js";
import { ipv4ToBytes, isIpv4 } from "../net/ipv4.js";
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, ipvsAddressFamily, type ServiceKey } from "../netlink/ipvs.js";
import { destKeyText, serviceKeyText } from "../ipvs/table.js";

/** A real server's health as the IPVS table needs it. */
export interface RealServerHealth {
  up: boolean;
  /** misc_dynamic: the weight the check set (replaces the configured weight while up). */
  weight?: number;
}

/** What /status shows per real server (the scheduler's view; free-form beyond these fields). */
export interface RealServerHealthStatus {
  up: boolean;
  weight?: number;
  /** The last check's result and why ("connect timeout after 3 s", "HTTP 503 on /health"). */
  lastResult?: "success" | "failure";
  reason?: string;
  /** ISO time of the last state change. */
  since?: string;
}

export interface HealthSource {
  /** Starts (or, on reload, re-targets) the checks for these services; unchanged real servers keep
   * their state (reload is a diff). */
  update(services: readonly LvsdService[]): void;
  /** The current health of a real server; unknown ids are up with their configured weight. */
  health(id: string): RealServerHealth;
  /** Called (synchronously, cheaply) after any real server's health changed. */
  onChange(listener: () => void): void;
  /** Per real server id, for /status and /metrics. */
  snapshot(): Record<string, RealServerHealthStatus>;
  stop(): Promise<void>;
}

const PROTOCOL: Record<LvsdService["protocol"], number> = { TCP: IPPROTO_TCP, UDP: IPPROTO_UDP, SCTP: IPPROTO_SCTP };

/** The IPVS service key of a config service. A fwmark service takes its family from its real
 * servers (keepalived does the same: `virtual_server fwmark N` with IPv6 real servers is IPv6). */
export function serviceKeyOf(s: LvsdService): ServiceKey {
  if (s.fwmark !== undefined) {
    const first = s.realServers[0]?.address ?? s.sorryServer?.address;
    return first !== undefined && ipvsAddressFamily(first) === "inet6" ? { fwmark: s.fwmark, family: "inet6" } : { fwmark: s.fwmark };
  }
  return { protocol: PROTOCOL[s.protocol], address: s.vip!, port: s.port! };
}

/** "TCP 10.0.0.1:80": a service's identity across reloads (its name may change, its key not). */
export function serviceId(s: LvsdService): string {
  return serviceKeyText(serviceKeyOf(s));
}

/** "TCP 10.0.0.1:80 -> 10.0.0.21:80": a real server's identity, the key of health and status. */
export function realServerId(s: LvsdService, rs: Pick<LvsdRealServer, "address" | "port">): string {
  return `${serviceId(s)} -> ${destKeyText(rs)}`;
}

/** Every real server up with its configured weight: the source while no check runs. */
export function allUp(): HealthSource {
  return {
    update: () => undefined,
    health: () => ({ up: true }),
    onChange: () => undefined,
    snapshot: () => ({}),
    stop: async () => undefined,
  };
}

/** An IPv4 dotted mask as IPVS stores it (a number, 255.255.255.0 = 0xffffff00). */
export function ipv4MaskNumber(mask: string): number {
  if (!isIpv4(mask)) throw new RangeError(`not an IPv4 netmask: ${mask}`);
  return ipv4ToBytes(mask).readUInt32BE(0);
}
