// Health checks: what a checker is given, what it answers, and the policy the scheduler applies.
// A checker is one method (STYLE.md habit 6): check(target, signal) -> result. It never retries,
// never sleeps and never decides up or down: retries, rise and fall, delays and notifications are
// the scheduler's (scheduler.ts), which is the only place that knows about time.

/** Where a network check connects (connect_ip / connect_port default to the real server's). */
export interface Endpoint {
  address: string;
  port: number;
  /** keepalived `bindto`: the source address. */
  bindto?: string;
}

export interface TcpTarget extends Endpoint {
  type: "TCP";
}

export interface HttpUrlSpec {
  path: string;
  /** Accepted status codes; empty: any 2xx (keepalived's HTTP_DEFAULT_STATUS_CODE_MIN..MAX). */
  statusCodes: readonly number[];
  /** MD5 of the body, lower-case hex, as keepalived's genhash prints it. */
  digest?: string;
}

export interface HttpTarget extends Endpoint {
  type: "HTTP" | "SSL";
  urls: readonly HttpUrlSpec[];
  /** Host header; absent: address:port, as keepalived writes it. */
  virtualhost?: string;
  /** SSL: the TLS server name (keepalived enable_sni / sni_name); absent: no SNI. */
  sni?: string;
  /** SSL: verify the certificate chain and name (keepalived never does; lvsd only when asked). */
  verifyCert?: boolean;
}

export interface MiscTarget {
  type: "MISC";
  /** Run as a command value (no shell). */
  argv: readonly string[];
  /** keepalived misc_dynamic: exit 2-255 means up with weight exit-2. */
  dynamic: boolean;
}

export type CheckTarget = TcpTarget | HttpTarget | MiscTarget;

/** Why a check failed: a stable label, counted and shown in the status. */
export type CheckReason =
  | "connect-refused" // ECONNREFUSED: nothing listens
  | "connect-timeout" // no connection within connect_timeout
  | "connect-error" // any other connect failure (unreachable, bindto not local, ...)
  | "tls-error" // handshake failed (or the certificate, when verifyCert)
  | "read-timeout" // connected, but the answer did not come within the deadline (a hung server)
  | "read-error" // reset or closed before a complete status line
  | "bad-response" // not an HTTP response
  | "status" // HTTP status not among the accepted codes
  | "digest" // body MD5 differs
  | "exit-status" // MISC: exit 1 (or any non-zero without misc_dynamic)
  | "script-timeout" // MISC: still running at misc_timeout, killed
  | "script-signal" // MISC: killed by a signal
  | "script-error" // MISC: could not start
  | "timeout"; // the checker ignored its deadline: judged by the scheduler alone

export type CheckResult =
  | { ok: true; detail?: string; /** MISC misc_dynamic: the weight to set. */ weight?: number }
  | { ok: false; reason: CheckReason; detail: string };

/** How an attempt is told its deadline passed: the part of AbortSignal a checker uses, so an
 * AbortSignal is one, and the scheduler hands a cheaper one per attempt (an AbortController is an
 * EventTarget with its own maps; at a thousand attempts a second that showed in bench/checks). */
export interface CheckSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export interface Checker<T extends CheckTarget = CheckTarget> {
  /** Runs one attempt. Resolves (never rejects) with the result; when `signal` aborts (the
   * deadline passed) it stops at once and resolves with the reason of the phase it was in. */
  check(target: T, signal: CheckSignal): Promise<CheckResult>;
}

/** One checker per target type; the scheduler picks by `target.type`. */
export type CheckerSet = { [K in CheckTarget["type"]]: Checker<Extract<CheckTarget, { type: K }>> };

/** keepalived's timing and lvsd's rise count, in milliseconds. */
export interface CheckPolicy {
  /** Between two checks of a healthy (or already failed) server: delay_loop. */
  delayLoopMs: number;
  /** Failures tolerated before the server is taken out: keepalived `retry` (down after retry+1). */
  retry: number;
  /** Between a failure and its retry: delay_before_retry. */
  delayBeforeRetryMs: number;
  /** Successes in a row that bring a failed server back (keepalived has 1). */
  rise: number;
  /** keepalived `alpha`: start down, so the first successes (rise of them) bring the server in. */
  alpha: boolean;
  /** The attempt's deadline: connect_timeout (per URL for HTTP/SSL), misc_timeout for MISC. */
  timeoutMs: number;
}

/** One scheduled check: a real server of a service (a service may name a server twice on
 * different ports; the id tells them apart). */
export interface CheckSpec {
  /** Stable identity across reloads (plan.ts RealServerIdOf). */
  id: string;
  service: string;
  address: string;
  port: number;
  /** The configured weight: what an up server gets unless misc_dynamic says otherwise. */
  weight: number;
  target: CheckTarget;
  policy: CheckPolicy;
}
