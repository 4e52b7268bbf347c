// One TCP (or TLS) connection for a check, with keepalived's phases and failure labels. The
// deadline is the caller's signal (the scheduler's clock), never a timer of ours.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { CheckReason, CheckSignal, Endpoint } from "./types.js";

export type Phase = "connect" | "tls" | "read";

export interface Opened {
  socket: Socket | TLSSocket;
  /** The phase the attempt is in: what an abort is reported as. */
  phase: Phase;
}

export function abortReason(phase: Phase): CheckReason {
  return phase === "read" ? "read-timeout" : "connect-timeout";
}

export function connectError(e: NodeJS.ErrnoException, phase: Phase): { reason: CheckReason; detail: string } {
  if (phase === "tls") return { reason: "tls-error", detail: e.message };
  if (phase === "read") return { reason: "read-error", detail: e.code ?? e.message };
  if (e.code === "ECONNREFUSED") return { reason: "connect-refused", detail: "connection refused" };
  return { reason: "connect-error", detail: e.code ?? e.message };
}

/** Starts a TCP connection (and TLS over it when `tls` is given) and returns its socket at once:
 * "connect" (or "secureConnect") and "error" tell how it went. */
export function dial(ep: Endpoint, tls?: { servername?: string; verify: boolean }): Socket | TLSSocket {
  const base = { host: ep.address, port: ep.port, ...(ep.bindto ? { localAddress: ep.bindto } : {}) };
  return tls
    ? tlsConnect({ ...base, rejectUnauthorized: tls.verify, ...(tls.servername ? { servername: tls.servername } : {}) })
    : netConnect(base);
}

/** Opens a TCP connection (and TLS over it when `tls` is given); resolves when the connection
 * (and the handshake) is complete. Rejects with the error; the caller maps it by `o.phase`. */
export function open(
  ep: Endpoint,
  signal: CheckSignal,
  o: Opened | { phase: Phase; socket?: undefined },
  tls?: { servername?: string; verify: boolean },
): Promise<Socket | TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = dial(ep, tls);
    (o as { socket?: Socket }).socket = s;
    o.phase = "connect";
    const onAbort = () => s.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    s.once("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
    if (tls) s.once("connect", () => (o.phase = "tls"));
    s.once(tls ? "secureConnect" : "connect", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(s);
    });
  });
}
