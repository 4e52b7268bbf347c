// Limits and defaults that the inventory rules (validate.ts) and the renderers both apply, stated
// once so a rule and the config it guards cannot disagree.

/** keepalived.conf(5) defaults, written out where lvsd needs them explicit (shared/reference/peers.md). */
export const KEEPALIVED_DEFAULTS = {
  /** garp_master_delay: second burst after 5 s. */
  garpMasterDelaySec: 5,
  /** garp_master_repeat: 5 gratuitous ARPs per burst. */
  garpMasterRepeat: 5,
  /** garp_master_refresh: off. */
  garpMasterRefreshSec: 0,
  delayLoopSec: 60,
  connectTimeoutSec: 5,
  retry: 1,
  delayBeforeRetrySec: 1,
  /** HTTP_GET / SSL_GET use 3 s. */
  httpDelayBeforeRetrySec: 3,
  quorum: 1,
  /** Must stay below quorum: keepalived lowers it to quorum - 1 otherwise. */
  hysteresis: 0,
} as const;

/**
 * VRRPv2 simple-text authentication data is 8 octets (RFC 2338 section 5.3.10); keepalived and
 * lvsd (passAuthData) keep only the first 8 bytes of a longer auth_pass.
 */
export const AUTH_PASS_MAX = 8;

/**
 * What is wrong with an auth_pass, in the words both checks use: validate.ts for a value written
 * in the inventory (LVS312, located), the renderer for a secret it resolves (LVS704). Counted in
 * UTF-8 bytes, as it goes on the wire.
 */
export function authPassProblem(pass: string): { message: string; hint: string } | undefined {
  const bytes = Buffer.byteLength(pass, "utf8");
  if (bytes >= 1 && bytes <= AUTH_PASS_MAX) return undefined;
  return {
    message: `auth_pass is ${bytes} bytes; VRRP PASS authentication carries 1 to ${AUTH_PASS_MAX}`,
    hint:
      bytes === 0
        ? `give the secret a value of 1 to ${AUTH_PASS_MAX} bytes`
        : `shorten it to ${AUTH_PASS_MAX} bytes (keepalived would silently use only the first ${AUTH_PASS_MAX})`,
  };
}

/**
 * Host and group names: they become file names (rendered configs per host), unit names and log
 * words, so letters, digits, '_', '.' and '-' only (validate.ts, LVS215).
 */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
