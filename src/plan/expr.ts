// The tiny, safe expression language of playbooks: `when:` conditions and `{{ ... }}` values.
// No function calls, no assignment, no access to anything but the variables given.
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | compare
//   compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") primary)?
//   primary := STRING | NUMBER | true | false | null | "[" (expr ("," expr)*)? "]"
//            | NAME ("." NAME | "[" expr "]")* | "(" expr ")"
//
// Strings use '...' or "..."; a variable that does not exist is an error (name it in the
// message) unless it is tested with `defined`: `name is defined` / `name is not defined`.
// Truthiness follows Python/Jinja: "", 0, [], {}, null and false are false.

export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExprError";
  }
}

/** Stands for "a fact not known yet" while computing which facts to gather: prints as `*`. */
export const WILDCARD: unique symbol = Symbol("wildcard");

type Tok = { t: "str" | "num" | "name" | "op"; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\" && j + 1 < src.length) j++;
        s += src[j];
        j++;
      }
      if (j >= src.length) throw new ExprError(`unterminated string in ${JSON.stringify(src)}`);
      out.push({ t: "str", v: s });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num && (c !== "-" || out.length === 0 || out[out.length - 1]!.t === "op")) {
      out.push({ t: "num", v: num[0] });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: "name", v: name[0] });
      i += name[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)/.exec(src.slice(i));
    if (op) {
      out.push({ t: "op", v: op[0] });
      i += op[0].length;
      continue;
    }
    throw new ExprError(`unexpected ${JSON.stringify(c)} in ${JSON.stringify(src)}`);
  }
  return out;
}

export type Vars = Record<string, unknown>;

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
    private readonly vars: Vars,
  ) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return !!t && t.t === "op" && t.v === v;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return !!t && t.t === "name" && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new ExprError(`expected ${v} in ${JSON.stringify(this.src)}`);
    this.i++;
  }

  parseAll(): unknown {
    const v = this.or();
    if (this.i < this.toks.length) throw new ExprError(`unexpected ${JSON.stringify(this.toks[this.i]!.v)} in ${JSON.stringify(this.src)}`);
    return v;
  }
  private or(): unknown {
    let v = this.and();
    while (this.isWord("or")) {
      this.i++;
      const r = this.and();
      v = truthy(v) || truthy(r);
    }
    return v;
  }
  private and(): unknown {
    let v = this.not();
    while (this.isWord("and")) {
      this.i++;
      const r = this.not();
      v = truthy(v) && truthy(r);
    }
    return v;
  }
  private not(): unknown {
    if (this.isWord("not")) {
      this.i++;
      return !truthy(this.not());
    }
    return this.compare();
  }
  private compare(): unknown {
    // `x is defined` / `x is not defined`
    const save = this.i;
    const first = this.peek();
    if (first?.t === "name" && !["true", "false", "null", "not"].includes(first.v)) {
      const ref = this.tryRef();
      if (ref && this.isWord("is")) {
        this.i++;
        let neg = false;
        if (this.isWord("not")) {
          this.i++;
          neg = true;
        }
        if (!this.isWord("defined")) throw new ExprError(`expected 'defined' after 'is' in ${JSON.stringify(this.src)}`);
        this.i++;
        return ref.defined !== neg;
      }
      this.i = save;
    }
    const left = this.primary();
    const t = this.peek();
    if (t?.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v)) {
      this.i++;
      return cmp(t.v, left, this.primary());
    }
    if (this.isWord("in")) {
      this.i++;
      return contains(this.primary(), left);
    }
    if (this.isWord("not") && this.toks[this.i + 1]?.t === "name" && this.toks[this.i + 1]?.v === "in") {
      this.i += 2;
      return !contains(this.primary(), left);
    }
    return left;
  }
  /** Walk a reference without failing on a missing name (for `is defined`). */
  private tryRef(): { defined: boolean; value: unknown } | undefined {
    const t = this.peek();
    if (t?.t !== "name") return undefined;
    this.i++;
    let defined = Object.prototype.hasOwnProperty.call(this.vars, t.v);
    let value: unknown = defined ? this.vars[t.v] : undefined;
    for (;;) {
      if (this.isOp(".")) {
        this.i++;
        const n = this.peek();
        if (n?.t !== "name") throw new ExprError(`expected a name after '.' in ${JSON.stringify(this.src)}`);
        this.i++;
        ({ defined, value } = member(defined, value, n.v));
      } else if (this.isOp("[")) {
        this.i++;
        const k = this.or();
        this.expect("]");
        ({ defined, value } = member(defined, value, k));
      } else break;
    }
    return { defined, value };
  }
  private primary(): unknown {
    const t = this.peek();
    if (!t) throw new ExprError(`unexpected end of ${JSON.stringify(this.src)}`);
    if (t.t === "str") {
      this.i++;
      return t.v;
    }
    if (t.t === "num") {
      this.i++;
      return Number(t.v);
    }
    if (t.t === "op" && t.v === "(") {
      this.i++;
      const v = this.or();
      this.expect(")");
      return v;
    }
    if (t.t === "op" && t.v === "[") {
      this.i++;
      const items: unknown[] = [];
      while (!this.isOp("]")) {
        items.push(this.or());
        if (!this.isOp("]")) this.expect(",");
      }
      this.i++;
      return items;
    }
    if (t.t === "name") {
      if (t.v === "true" || t.v === "false") {
        this.i++;
        return t.v === "true";
      }
      if (t.v === "null" || t.v === "none" || t.v === "None") {
        this.i++;
        return null;
      }
      const ref = this.tryRef()!;
      if (!ref.defined) throw new ExprError(`undefined variable in ${JSON.stringify(this.src)} (test it with 'is defined')`);
      return ref.value;
    }
    throw new ExprError(`unexpected ${JSON.stringify(t.v)} in ${JSON.stringify(this.src)}`);
  }
}

function member(defined: boolean, value: unknown, key: unknown): { defined: boolean; value: unknown } {
  if (value === WILDCARD) return { defined: true, value: WILDCARD };
  if (!defined || value === null || typeof value !== "object") return { defined: false, value: undefined };
  const k = String(key);
  if (Array.isArray(value) && typeof key === "number") return key >= 0 && key < value.length ? { defined: true, value: value[key] } : { defined: false, value: undefined };
  if (!Object.prototype.hasOwnProperty.call(value, k)) return { defined: false, value: undefined };
  return { defined: true, value: (value as Record<string, unknown>)[k] };
}

export function truthy(v: unknown): boolean {
  if (v === WILDCARD) return true;
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

function cmp(op: string, a: unknown, b: unknown): boolean {
  if (op === "==") return equal(a, b);
  if (op === "!=") return !equal(a, b);
  if (!((typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string"))) throw new ExprError(`cannot compare ${JSON.stringify(a)} ${op} ${JSON.stringify(b)}`);
  return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
}

function equal(a: unknown, b: unknown): boolean {
  // YAML users write `port == 80` and `port == "80"` alike: numbers and numeric strings compare as equal.
  if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number")) return String(a) === String(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function contains(container: unknown, item: unknown): boolean {
  // A value not known yet (the playbook's syntax check, the fact pass) may hold anything.
  if (container === WILDCARD || item === WILDCARD) return true;
  if (Array.isArray(container)) return container.some((x) => equal(x, item));
  if (typeof container === "string") return typeof item === "string" && container.includes(item);
  if (container && typeof container === "object") return Object.prototype.hasOwnProperty.call(container, String(item));
  throw new ExprError(`'in' needs a list, string or map on its right, got ${JSON.stringify(container)}`);
}

export function evaluate(src: string, vars: Vars): unknown {
  return new Parser(tokenize(src), src, vars).parseAll();
}

export function evalCondition(src: string | boolean, vars: Vars): boolean {
  return typeof src === "boolean" ? src : truthy(evaluate(src, vars));
}

const WHOLE = /^\s*\{\{(.+?)\}\}\s*$/s;
const PART = /\{\{(.+?)\}\}/gs;

/** A value as text in a `{{ }}` inside a string (a list of scalars as "a, b"). */
export function show(v: unknown): string {
  if (v === WILDCARD) return "*";
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) return v.map(show).join(", ");
  if (typeof v === "object") return JSON.stringify(v, (_k, x) => (x === WILDCARD ? "*" : x));
  return String(v);
}

/**
 * Substitute `{{ expr }}` in every string of a YAML value (keys too). A string that is exactly one
 * `{{ expr }}` takes the expression's value as is (a list stays a list), as in Ansible.
 */
export function interpolate(value: unknown, vars: Vars): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) {
      const v = evaluate(whole[1]!, vars);
      return v === WILDCARD ? "*" : v;
    }
    return value.includes("{{") ? value.replace(PART, (_m, e: string) => show(evaluate(e, vars))) : value;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars));
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[String(interpolate(k, vars))] = interpolate(v, vars);
    return out;
  }
  return value;
}

/**
 * A string's literal text and its `{{ expr }}` sources, alternating: literals.length ===
 * exprs.length + 1 (for templates whose values must not be spliced as text, e.g. commands).
 */
export function templateParts(text: string): { literals: string[]; exprs: string[] } {
  const literals: string[] = [];
  const exprs: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PART)) {
    literals.push(text.slice(last, m.index));
    exprs.push(m[1]!);
    last = m.index! + m[0].length;
  }
  literals.push(text.slice(last));
  return { literals, exprs };
}

export function hasTemplate(value: unknown): boolean {
  if (typeof value === "string") return value.includes("{{");
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => k.includes("{{") || hasTemplate(v));
  return false;
}
