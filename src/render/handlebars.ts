// The one module that imports handlebars (STYLE.md habit 14): an isolated instance, our helpers,
// and the templates under the top-level templates/ folder.
//
// Compiled with noEscape (config files, not HTML: `&`, `"`, `=` must stay as they are) and strict
// (a field the template names but the view lacks throws, with the template's line and column).
// Views are prepared in TypeScript (keepalived.ts, units.ts); templates only lay them out.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { LvsctlError } from "../errors/index.js";
import { kaSecretValue } from "./guard.js";

const hb = Handlebars.create();

/**
 * templates/ sits at the package root. This file runs as src/render/handlebars.ts (tsx) or as
 * dist/src/render/handlebars.js (tsc), so walk up until a folder has it.
 */
export function findTemplatesDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "templates");
    if (existsSync(join(candidate, "keepalived.conf.hbs"))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new LvsctlError("LVS700", "cannot find lvsctl's templates/ folder", {
    hint: "templates/ ships next to package.json; reinstall lvsctl or run it from its checkout",
  });
}

export const templatesDir: string = findTemplatesDir();

/** A keepalived.conf word: bare when it is one token, else double-quoted. */
function kaWord(value: unknown): string {
  const s = String(value);
  if (/^[^\s"'#!{}]+$/.test(s)) return s;
  return kaQuote(s);
}

/**
 * keepalived.conf's quoted string: keepalived splits a script line on spaces itself, honouring
 * single quotes inside, so a command with arguments goes in one pair of double quotes. There is no
 * escape for a double quote or a newline inside it.
 */
export function kaQuote(value: unknown): string {
  const s = String(value);
  if (/["\n\r]/.test(s)) {
    throw new LvsctlError("LVS701", `cannot write ${JSON.stringify(s)} into keepalived.conf: it holds a double quote or a newline`, {
      hint: "keepalived has no escape for these inside a quoted string; use single quotes, or move the command into a script file",
    });
  }
  return `"${s}"`;
}

/**
 * A secret as one keepalived.conf word (auth_pass). Its problems are said without its value: the
 * error reaches the terminal, and the value must not.
 */
export function kaSecretWord(value: unknown, what: string): string {
  const s = String(value);
  if (/["\n\r]/.test(s)) {
    throw new LvsctlError("LVS701", `cannot write the ${what} into keepalived.conf: the secret's value holds a double quote or a newline (the value is not shown)`, {
      hint: "keepalived has no escape for these; choose a secret without them",
    });
  }
  // Then text.ts's whole rule for auth_pass (src/render/guard.ts), still without the value.
  return kaWord(kaSecretValue(s, what));
}

hb.registerHelper("quote", (v: unknown) => kaQuote(v));
hb.registerHelper("authPass", (v: unknown) => kaSecretWord(v, "auth_pass"));
hb.registerHelper("word", (v: unknown) => kaWord(v));
hb.registerHelper("join", (list: unknown, sep: unknown) => {
  if (!Array.isArray(list)) return "";
  return list.map(String).join(typeof sep === "string" ? sep : " ");
});
hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
/** `{{octal mode}}`: 0644-style, for comments. */
hb.registerHelper("octal", (n: unknown) => (typeof n === "number" ? n.toString(8).padStart(4, "0") : String(n)));

for (const name of readdirSync(templatesDir).sort()) {
  // `_name.hbs` files are partials: `{{> name}}`.
  const m = /^_(.+)\.hbs$/.exec(name);
  if (m) hb.registerPartial(m[1]!, readFileSync(join(templatesDir, name), "utf8"));
}

const cache = new Map<string, HandlebarsTemplateDelegate>();

/** Renders templates/<name>.hbs with a prepared view. */
export function renderTemplate(name: string, view: object): string {
  let tpl = cache.get(name);
  if (!tpl) {
    const file = join(templatesDir, `${name}.hbs`);
    tpl = hb.compile(readFileSync(file, "utf8"), { noEscape: true, strict: true });
    cache.set(name, tpl);
  }
  try {
    // Partials indent blank lines too; no config file here wants trailing blanks.
    return tpl(view).replace(/[ \t]+$/gm, "");
  } catch (e) {
    if (e instanceof LvsctlError) throw e; // from a helper: already says what is wrong
    throw new LvsctlError("LVS702", `rendering template ${name}.hbs failed: ${(e as Error).message}`, {
      hint: "this is a bug in lvsctl's templates or renderer; please report it with the inventory",
      cause: e,
    });
  }
}
