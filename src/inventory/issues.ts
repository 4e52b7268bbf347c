// Zod issues turned into located diagnostics with plain-language messages and hints.
// zod is used only here and in schema.ts / load.ts; nothing outside the inventory sees its types.
import type { SourceLocation } from "../errors/index.js";
import type { z } from "zod";
import { formatPath, type Diagnostic, type Path, type PathKey } from "./diagnostic.js";
import type { Code } from "./codes.js";
import { isSecretPath, Schedulers } from "./schema.js";

type Issue = z.core.$ZodIssue;
export type Locate = (path: Path, opts?: { key?: boolean }) => SourceLocation | undefined;

/** The value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<PathKey, unknown>)[k];
  }
  return v;
}

/**
 * What a value is, for "got ...". `quote` false (a secret): its type only, never the value.
 */
function describeValue(v: unknown, quote = true): string {
  if (v === null) return "null (an empty value)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return quote ? `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v)}` : "a string";
  if (typeof v === "number") return quote ? `the number ${v}` : "a number";
  if (typeof v === "boolean") return quote ? `${v}` : "true or false";
  return typeof v;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  record: "a mapping (key: value)",
};

// zod's generic messages ("Invalid input: ...", "Too big: ...") are replaced by ours; a message
// written in schema.ts is kept because it already speaks the domain.
function customMessage(issue: Issue): string | undefined {
  const m = issue.message;
  if (!m || /^(Invalid|Too (big|small)|Unrecognized key|Expected)/.test(m)) return undefined;
  return m;
}

function typeHint(expected: string, value: unknown): string | undefined {
  if (value === null) return "give a value after the colon, or remove the key";
  if (expected === "number" && typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return "remove the quotes: a number is written bare";
  if (expected === "boolean" && typeof value === "string") return "write true or false, without quotes";
  if (expected === "array") return "write a list: [a, b] or one `- item` per line";
  if (expected === "object" || expected === "record") return "write a mapping: `key: value` lines, indented under this key";
  if (expected === "string" && (typeof value === "number" || typeof value === "boolean")) return "put the value in quotes to make it a string";
  return undefined;
}

function formatHint(fmt: string): string | undefined {
  if (fmt === "ipv4" || fmt === "ipv6") return "write an address such as 10.0.0.1 or fd00::1, without a prefix length";
  if (fmt === "email") return "write an address such as ops@example.com";
  return undefined;
}

// --- schema navigation, for "did you mean" on unknown keys ----------------------------------

type AnySchema = { _zod: { def: Record<string, unknown> & { type: string } } };

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const d = cur._zod.def;
    if ((d.type === "optional" || d.type === "default" || d.type === "nullable" || d.type === "prefault") && d.innerType) cur = d.innerType as AnySchema;
    else if (d.type === "pipe" && d.in) cur = d.in as AnySchema;
    else break;
  }
  return cur;
}

/** The keys an object schema at `path` accepts (empty when it cannot tell). */
export function allowedKeys(schema: AnySchema, path: Path, data: unknown): string[] {
  let cur: AnySchema | undefined = unwrap(schema);
  const objectKeys = (s: AnySchema, value: unknown): string[] => {
    const d = unwrap(s)._zod.def;
    if (d.type === "object") return Object.keys(d.shape as object);
    if (d.type === "union") {
      const opts = (d.options as AnySchema[]).map(unwrap).filter((o) => o._zod.def.type === "object");
      const disc = d.discriminator as string | undefined;
      if (disc && value && typeof value === "object") {
        const want = (value as Record<string, unknown>)[disc];
        const hit = opts.find((o) => {
          const f = (o._zod.def.shape as Record<string, AnySchema>)[disc];
          return f && (unwrap(f)._zod.def.values as unknown[] | undefined)?.includes(want);
        });
        if (hit) return Object.keys(hit._zod.def.shape as object);
      }
      return [...new Set(opts.flatMap((o) => Object.keys(o._zod.def.shape as object)))];
    }
    return [];
  };
  for (let i = 0; i < path.length && cur; i++) {
    const k = path[i]!;
    const d: AnySchema["_zod"]["def"] = cur._zod.def;
    const here = valueAt(data, path.slice(0, i));
    let next: AnySchema | undefined;
    if (d.type === "object") next = (d.shape as Record<string, AnySchema>)[String(k)];
    else if (d.type === "record") next = d.valueType as AnySchema;
    else if (d.type === "array") next = d.element as AnySchema;
    else if (d.type === "union") {
      const opts = (d.options as AnySchema[]).map(unwrap);
      const disc = d.discriminator as string | undefined;
      const want = disc && here && typeof here === "object" ? (here as Record<string, unknown>)[disc] : undefined;
      for (const o of opts) {
        const od = o._zod.def;
        if (od.type === "object") {
          if (disc && want !== undefined) {
            const f = (od.shape as Record<string, AnySchema>)[disc];
            if (!f || !(unwrap(f)._zod.def.values as unknown[] | undefined)?.includes(want)) continue;
          }
          const f = (od.shape as Record<string, AnySchema>)[String(k)];
          if (f) {
            next = f;
            break;
          }
        } else if ((od.type === "array" && typeof k === "number") || od.type === "record") {
          next = (od.element ?? od.valueType) as AnySchema;
          break;
        }
      }
    }
    cur = next ? unwrap(next) : undefined;
  }
  return cur ? objectKeys(cur, valueAt(data, path)) : [];
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate, when it is close enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  // "TCP" for "TCP_CHECK", "http" for "HTTP_GET": a prefix is a strong hint too.
  const w = word.toLowerCase();
  return w.length >= 2 ? candidates.find((c) => c.toLowerCase().startsWith(w)) : undefined;
}

// --- the mapping -----------------------------------------------------------------------------

export interface IssueContext {
  schema: AnySchema;
  data: unknown;
  at: Locate;
}

export function issuesToDiagnostics(issues: readonly Issue[], ctx: IssueContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) mapIssue(issue, [], ctx, out);
  return out;
}

function mapIssue(issue: Issue, prefix: Path, ctx: IssueContext, out: Diagnostic[]): void {
  const path: Path = [...prefix, ...(issue.path as PathKey[])];
  const where = formatPath(path);
  const value = valueAt(ctx.data, path);
  // A secret's value is never shown, not even when it has the wrong type.
  const quote = !isSecretPath(path);
  const describe = (v: unknown) => describeValue(v, quote);
  const push = (code: Code, message: string, hint?: string, loc = ctx.at(path)) =>
    out.push({ severity: "error", code, message, ...(hint ? { hint } : {}), ...(loc ? { location: loc } : {}) });
  const parentHas = path.length === 0 || (() => {
    const parent = valueAt(ctx.data, path.slice(0, -1));
    return parent !== null && typeof parent === "object" && Object.prototype.hasOwnProperty.call(parent, path[path.length - 1]!);
  })();
  const last = path[path.length - 1];

  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(ctx.schema, path, ctx.data);
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        if (key === "nat_mask") {
          // keepalived.conf(5) of 1.x had it in virtual_server; it only ever meant something to
          // Linux 2.2's IPVS, and keepalived removed it in 1.2.20 (2015): 2.x refuses it as unknown.
          push("LVS433", `${where}: nat_mask is obsolete: it only ever applied to Linux 2.2's IPVS, and keepalived removed it in 1.2.20 (keepalived 2.x stops on it as an unknown keyword)`, "remove it; NAT replies return through the real servers' default route (nat_gateway: sets it to a VIP that moves with the master)", ctx.at(keyPath, { key: true }));
          continue;
        }
        const here = valueAt(ctx.data, path);
        const others = here && typeof here === "object" ? Object.keys(here).filter((k) => k !== key && allowed.includes(k)) : [];
        const guess = allowed.includes(key) ? undefined : didYouMean(key, allowed);
        const hint = allowed.includes(key)
          ? "keep only one of them"
          : guess
          ? `did you mean "${guess}"?`
          : allowed.length > 0
            ? `allowed here: ${allowed.join(", ")}`
            : "remove it";
        const message = allowed.includes(key) && others.length > 0 ? `${where}: "${key}" cannot be used together with ${others.map((o) => `"${o}"`).join(", ")}` : `unknown key "${key}" in ${where}`;
        push("LVS103", message, hint, ctx.at(keyPath, { key: true }));
      }
      return;
    }
    case "invalid_type": {
      if (!parentHas && path.length > 0) {
        const parentPath = path.slice(0, -1);
        push("LVS107", `${formatPath(parentPath)}: missing required key "${String(last)}"`, customMessage(issue) ?? `add ${String(last)}: ...`, ctx.at(parentPath, { key: true }));
        return;
      }
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      const msg = customMessage(issue);
      push("LVS102", `${where}: expected ${expected}, got ${describe(value)}`, msg ?? typeHint(issue.expected, value));
      return;
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
      const origin = (issue as { origin?: string }).origin;
      const inclusive = (issue as { inclusive?: boolean }).inclusive !== false;
      let what: string;
      if (origin === "array") what = small ? `needs at least ${bound} item(s)` : `takes at most ${bound} item(s)`;
      else if (origin === "string") what = small ? (Number(bound) <= 1 ? "must not be empty" : `needs at least ${bound} characters`) : `takes at most ${bound} characters`;
      else what = small ? `must be ${inclusive ? "at least" : "greater than"} ${bound}` : `must be ${inclusive ? "at most" : "less than"} ${bound}`;
      const got = origin === "number" && quote ? ` (got ${String(value)})` : "";
      push("LVS104", `${where}: ${customMessage(issue) ?? what}${got}`, customMessage(issue) ? undefined : origin === "array" && small ? "add the missing entries" : "change the value to fit");
      return;
    }
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      if (last === "auth_type" && value === "AH") {
        // RFC 3768 (2004) removed IPsec AH authentication from VRRPv2, RFC 5798 (v3) has none;
        // keepalived keeps AH only when built with --enable-vrrp-auth, and lvsd does not speak it.
        push("LVS326", `${where}: auth_type AH is not supported: IPsec AH was removed from VRRP by RFC 3768 (2004), VRRPv3 (RFC 5798) has no authentication at all, keepalived keeps it only as a build option and lvsd does not speak it`, "use auth_type: PASS with auth_pass (it stops only accidents, not attacks), or remove authentication: and protect the segment instead");
        return;
      }
      if (last === "lb_algo") {
        const guess = typeof value === "string" ? didYouMean(value, Schedulers) : undefined;
        push("LVS409", `${where}: unknown scheduler${quote ? ` ${JSON.stringify(value)}` : ""}`, `${guess ? `did you mean "${guess}"? ` : ""}valid schedulers: ${Schedulers.join(", ")}`);
        return;
      }
      const guess = typeof value === "string" && values.length > 1 ? didYouMean(value, issue.values.map(String)) : undefined;
      push("LVS105", `${where}: ${describe(value)} is not allowed here`, `${guess ? `did you mean ${JSON.stringify(guess)}? ` : ""}use ${values.length === 1 ? values[0] : `one of ${values.join(", ")}`}`);
      return;
    }
    case "invalid_format": {
      const msg = customMessage(issue);
      const fmt = (issue as { format?: string }).format ?? "format";
      push("LVS106", `${where}: ${msg ?? `not a valid ${fmt}`} (got ${describe(value)})`, formatHint(fmt));
      return;
    }
    case "invalid_union": {
      const u = issue as { errors: Issue[][]; note?: string; options?: unknown[]; discriminator?: string };
      if (u.note === "No matching discriminator" || (u.errors.length === 0 && u.options)) {
        const opts = (u.options ?? []).map(String);
        if (value === undefined) {
          const parentPath = path.slice(0, -1);
          push("LVS107", `${formatPath(parentPath)}: missing required key "${String(last)}"`, `add ${String(last)}: one of ${opts.join(", ")}`, ctx.at(parentPath, { key: true }));
          return;
        }
        const guess = typeof value === "string" ? didYouMean(value, opts) : undefined;
        push("LVS105", `${where}: ${describe(value)} is not allowed here`, `${guess ? `did you mean "${guess}"? ` : ""}use one of ${opts.join(", ")}`);
        return;
      }
      if (!parentHas && path.length > 0) {
        const parentPath = path.slice(0, -1);
        push("LVS107", `${formatPath(parentPath)}: missing required key "${String(last)}"`, `add ${String(last)}: ...`, ctx.at(parentPath, { key: true }));
        return;
      }
      // A branch that got past the type test says more than "wrong type": report its issues.
      const typeOnly = (branch: Issue[]) => branch.length > 0 && branch.every((i) => i.path.length === 0 && i.code === "invalid_type");
      const rootOnly = u.errors.every((b) => b.every((i) => i.path.length === 0 && i.code !== "unrecognized_keys"));
      const deeper = u.errors.filter((b) => b.length > 0 && !typeOnly(b));
      if (rootOnly && !u.errors.every(typeOnly)) {
        // Every branch judged the value itself (an address that is neither IPv4 nor IPv6).
        push("LVS106", `${where}: ${customMessage(issue) ?? "not a valid value"} (got ${describe(value)})`, /IPv4|IPv6/.test(issue.message) ? formatHint("ipv4") : undefined);
        return;
      }
      if (deeper.length > 0) {
        // Prefer the branch with the fewest problems: it is most likely what the author meant.
        const best = deeper.reduce((a, b) => (b.length < a.length ? b : a));
        for (const i of best) mapIssue(i, path, ctx, out);
        return;
      }
      const expected = [...new Set(u.errors.flatMap((b) => b.map((i) => (i.code === "invalid_type" ? (TYPE_WORDS[i.expected] ?? i.expected) : ""))).filter(Boolean))];
      const msg = customMessage(issue);
      push("LVS102", `${where}: ${msg ?? `expected ${expected.join(" or ")}`}, got ${describe(value)}`, typeof value === "number" || typeof value === "boolean" ? "put the value in quotes to make it a string" : undefined);
      return;
    }
    default: {
      const msg = customMessage(issue) ?? issue.message;
      push("LVS108", `${where}: ${msg}`);
    }
  }
}
