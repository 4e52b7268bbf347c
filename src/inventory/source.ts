// Our one module around the `yaml` library (STYLE.md habit 14): parse a file keeping positions,
// turn YAML's own errors into diagnostics, and find the node behind a key path so every later
// problem can say file:line:col.
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from "yaml";
import type { SourceLocation } from "../errors/index.js";
import type { Diagnostic, Path } from "./diagnostic.js";

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  /** The document as plain data; undefined when it could not be converted (alias bombs...). */
  data: unknown;
  /** YAML errors and warnings, located. */
  diagnostics: Diagnostic[];
  /** True when there are syntax errors other than duplicate keys: the data is not trustworthy. */
  broken: boolean;
  /** Where a key path is in this file; see locate(). */
  at(path: Path, opts?: { key?: boolean }): SourceLocation | undefined;
  /** True when the path exists in this file (every key present). */
  has(path: Path): boolean;
  /** The file:line:col of a character offset (for walkers that hold the YAML nodes). */
  locate(offset: number): SourceLocation;
}

// yaml's messages end with " at line N, column M:" and a code excerpt; we print our own location.
function firstLine(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, "");
}

export function parseYaml(text: string, file: string): YamlSource {
  // logLevel "error": yaml's warnings become diagnostics below instead of process warnings.
  // uniqueKeys off: yaml compares each new key with every earlier key of its map, which is
  // quadratic in a map of 50,000 hosts; duplicateKeys() finds the same keys with one Set per map.
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, logLevel: "error" });
  // Lines are counted here, on "\n" alone, rather than with yaml's LineCounter, which can
  // disagree with the text around stray "\r" (found by the fuzz test).
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const pos = (offset: number): SourceLocation => {
    const clamped = Math.max(0, Math.min(offset, text.length));
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, col: clamped - lineStarts[lo]! + 1 };
  };

  const diagnostics: Diagnostic[] = [];
  let broken = false;
  const errors = [...doc.errors.map((e) => ({ code: e.code as string, message: e.message, pos: e.pos[0] })), ...duplicateKeys(doc).map((pos) => ({ code: "DUPLICATE_KEY", message: "", pos }))];
  for (const e of errors) {
    const dup = e.code === "DUPLICATE_KEY";
    if (!dup) broken = true;
    // The key's text: up to its colon (yaml points at the key's first character only).
    const key = dup ? (/^("[^"\n]*"|'[^'\n]*'|[^:#\n,{}[\]]+?)\s*:/.exec(text.slice(e.pos, e.pos + 200))?.[1] ?? "").trim() : "";
    diagnostics.push({
      severity: "error",
      code: dup ? "LVS101" : "LVS100",
      message: dup
        ? `duplicate key${key ? ` "${key}"` : ""}: a key may appear only once in a mapping`
        : e.code === "MULTIPLE_DOCS"
          ? "the file holds more than one YAML document (a second ---); an inventory is one document"
          : firstLine(e.message),
      hint: dup
        ? "remove or rename one of the two; other tools would silently keep only the last"
        : e.code === "MULTIPLE_DOCS"
          ? "merge the documents, or split them into separate inventory files"
          : "check indentation, quotes and brackets around this position",
      location: pos(e.pos),
    });
  }
  for (const w of doc.warnings) {
    diagnostics.push({ severity: "warning", code: "LVS100", message: firstLine(w.message), location: pos(w.pos[0]) });
  }

  let data: unknown;
  try {
    // maxAliasCount bounds "billion laughs" documents.
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    broken = true;
    diagnostics.push({
      severity: "error",
      code: "LVS100",
      message: `the document cannot be read: ${err instanceof Error ? firstLine(err.message) : String(err)}`,
      hint: "check anchors (&name) and aliases (*name)",
      ...(doc.contents?.range ? { location: pos(doc.contents.range[0]) } : {}),
    });
  }

  /** Follow `path` as far as it goes: the node reached, the key of the last pair, how deep. */
  const walk = (path: Path): { node: Node | undefined; keyNode: Node | undefined; depth: number } => {
    let node: unknown = doc.contents;
    let keyNode: Node | undefined;
    let depth = 0;
    for (const seg of path) {
      if (isAlias(node)) {
        try {
          node = node.resolve(doc);
        } catch {
          break;
        }
      }
      if (isMap(node)) {
        const pair = pairIndex(node).get(String(seg));
        if (!pair) break;
        keyNode = isNodeWithRange(pair.key) ? pair.key : undefined;
        // `key:` with no value has no value node, only the key.
        node = pair.value ?? undefined;
      } else if (isSeq(node) && typeof seg === "number") {
        if (seg < 0 || seg >= node.items.length) break;
        node = node.items[seg];
        keyNode = undefined;
      } else {
        break;
      }
      depth++;
    }
    return { node: isNodeWithRange(node) ? node : undefined, keyNode, depth };
  };

  const at = (path: Path, opts?: { key?: boolean }): SourceLocation | undefined => {
    const { node, keyNode, depth } = walk(path);
    const pick = (n: Node | undefined): SourceLocation | undefined => (n?.range ? pos(n.range[0]) : undefined);
    if (depth === path.length) {
      // An empty value (`key:`) has no text of its own: the key is what to point at.
      if (keyNode && isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1]) return pick(keyNode);
      if (opts?.key && keyNode && path.length > 0 && typeof path[path.length - 1] === "string") return pick(keyNode) ?? pick(node);
      return pick(node) ?? pick(keyNode) ?? pick((doc.contents as Node | null) ?? undefined);
    }
    // The path stops early (a missing key): point at the deepest key that exists, which is
    // where the missing thing belongs.
    if (depth === 0) return pick((doc.contents as Node | null) ?? undefined) ?? (text.length > 0 ? pos(0) : undefined);
    const parent = walk(path.slice(0, depth));
    return pick(parent.keyNode) ?? pick(parent.node);
  };

  const has = (path: Path): boolean => walk(path).depth === path.length;

  return { file, text, doc, data, diagnostics, broken, at, has, locate: pos };
}

function isNodeWithRange(n: unknown): n is Node {
  return typeof n === "object" && n !== null && "range" in n && Array.isArray((n as Node).range);
}

// Each mapping's pairs by key text (the first pair wins, as a linear search would find it),
// built once per mapping: locating every one of 50,000 hosts must not scan the hosts each time.
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairIndex(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      if (!isPair(p) || !isScalar(p.key)) continue;
      const k = String(p.key.value);
      if (!index.has(k)) index.set(k, p as Pair);
    }
    pairIndexes.set(map, index);
  }
  return index;
}

/**
 * Offsets of keys that repeat an earlier key of the same mapping, as yaml's uniqueKeys check
 * would report them (equal scalar values; `1` and `"1"` differ), in one pass.
 */
function duplicateKeys(doc: Document.Parsed): number[] {
  const out: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const v = p.key.value;
        const id = `${v === null ? "null" : typeof v}:${String(v)}`;
        if (seen.has(id)) {
          if (p.key.range) out.push(p.key.range[0]);
        } else {
          seen.add(id);
        }
      }
    },
  });
  return out;
}
