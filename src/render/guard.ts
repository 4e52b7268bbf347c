// The renderers' side of src/inventory/text.ts: every value a renderer writes into a file goes
// through the one helper of that file's format here, which applies the same rule validate applied
// to the field the value came from. validate reports a bad value at its file:line:col; a renderer
// reached without validate (the API, a hand-built model, a value derived on the way) still cannot
// write one: it stops with an internal error instead of emitting a directive nobody checked.
//
// Values lvsctl makes itself (numbers, enums, its own constant paths) need no guard; a value that
// only passes through (an IP the schema checked as an IP) is guarded as the kind nearest its place.
import { ExitCode, LvsctlError } from "../errors/index.js";
import { textProblem, type TextKind } from "../inventory/text.js";

export type Format = "keepalived.conf" | "a systemd unit" | "a sysctl.d file" | "a modules-load.d file" | "lvsd.json";

/**
 * Refuses `value` when text.ts refuses it as `kind`. `what` names the value for the message
 * (`vrrp_instance VI_1's interface`); a secret's value is never shown (text.ts says its problems
 * without it), and a secret the renderer resolved (env, file, prompt) is the user's to fix, not a
 * bug: exit 1 instead of 70.
 */
function guard(format: Format, kind: TextKind, value: string, what: string, resolvedSecret = false): string {
  if (typeof value !== "string") {
    throw new LvsctlError("LVS707", `internal error: ${what} is a ${typeof value}, not a string, on its way into ${format}`, {
      hint: "this is a bug in lvsctl's renderer; please report it with the inventory",
      exitCode: ExitCode.Internal,
    });
  }
  const p = textProblem(kind, value);
  if (!p) return value;
  if (resolvedSecret) {
    throw new LvsctlError("LVS701", `cannot write the ${what} into ${format}: the secret's value ${p.message} (the value is not shown)`, { hint: p.hint });
  }
  throw new LvsctlError("LVS707", `internal error: refusing to write ${what} into ${format}: it ${p.message} (${p.code})`, {
    hint: "validate refuses such a value at its line in the inventory; run `lvsctl validate` on it. If validate passes, this is a bug in lvsctl: please report it with the inventory",
    exitCode: ExitCode.Internal,
  });
}

/** A value for keepalived.conf (keepalived.ts and its templates). */
export function kaValue(kind: TextKind, value: string, what: string): string {
  return guard("keepalived.conf", kind, value, what);
}

/** A resolved secret for keepalived.conf: the user's to fix (exit 1), never echoed. */
export function kaSecretValue(value: string, what: string): string {
  return guard("keepalived.conf", "authPass", value, what, true);
}

/** A value for a systemd unit (hostfiles.ts): one line per directive, paths bare. */
export function unitValue(kind: TextKind, value: string, what: string): string {
  return guard("a systemd unit", kind, value, what);
}

/** A value for a sysctl.d file: `key = value` per line. */
export function sysctlValue(kind: TextKind, value: string, what: string): string {
  return guard("a sysctl.d file", kind, value, what);
}

/** A module name (or a comment) for a modules-load.d file: one name per line. */
export function modulesValue(kind: TextKind, value: string, what: string): string {
  return guard("a modules-load.d file", kind, value, what);
}

/** A value for lvsd.json: JSON escapes it, but lvsd uses it as keepalived would (text.ts). */
export function lvsdValue(kind: TextKind, value: string, what: string): string {
  return guard("lvsd.json", kind, value, what);
}

/** A resolved secret for lvsd.json: the same rule as in keepalived.conf, so the backends stay interchangeable. */
export function lvsdSecretValue(value: string, what: string): string {
  return guard("lvsd.json", "authPass", value, what, true);
}

/** Optional values pass through as undefined. */
export function opt<T extends string | undefined>(f: (kind: TextKind, value: string, what: string) => string, kind: TextKind, value: T, what: string): T {
  return (value === undefined ? undefined : f(kind, value, what)) as T;
}
