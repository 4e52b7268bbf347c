// Public face of `lvsctl import`: keepalived.conf files in, an lvsctl inventory (YAML text with
// comments where a value was defaulted or dropped) out, checked by the inventory's own validator.
// Pure: files come in as text; the CLI reads them.
import { Document, isScalar, type Node } from "yaml";
import { parseInventory } from "../inventory/load.js";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../inventory/diagnostic.js";
import { importKeepalived, type DirectorFile, type ImportResult, type ImportWarning } from "./keepalived.js";
import type { ReadOptions } from "./conf.js";

export { importKeepalived, nameFromFile, hostNameFor, type DirectorFile, type ImportResult, type ImportWarning, type ImportedDirector } from "./keepalived.js";
export { readConf, splitLine, includeGlob, type ConfTree, type Directive, type Word, type ReadOptions } from "./conf.js";

/** `file:line: directive: why` */
export function formatWarning(w: ImportWarning): string {
  return `${w.file}:${w.line}: ${w.directive}: ${w.why}`;
}

export interface ImportOutcome extends ImportResult {
  /** The inventory as written (empty when refused). */
  yaml: string;
  /** full: everything carried over; partial: with warnings; refused: nothing written (see `why`). */
  status: "full" | "partial" | "refused";
  why: string[];
  /** What `lvsctl validate` says of the written inventory (warnings only, unless refused). */
  diagnostics: Diagnostic[];
}

/**
 * Imports the files (one per director) and checks the result as `lvsctl validate` would, with
 * the auth_pass variables it names taken as set. `inventoryFile` is the path the YAML is written
 * to (for the validator's locations).
 */
export function importInventory(files: DirectorFile[], opts: ReadOptions & { inventoryFile?: string } = {}): ImportOutcome {
  const r = importKeepalived(files, opts);
  if (r.errors.length > 0) return { ...r, yaml: "", status: "refused", why: r.errors.map(formatWarning), diagnostics: [] };
  const yaml = toYaml(r);
  const file = opts.inventoryFile ?? "imported.yml";
  const check = parseInventory(yaml, file, { env: { ...r.secrets } });
  if (!check.ok || hasErrors(check.diagnostics)) {
    return { ...r, yaml, status: "refused", why: check.diagnostics.filter((d) => d.severity === "error").map((d) => formatDiagnostic(d).split("\n")[0]!), diagnostics: check.diagnostics };
  }
  return { ...r, yaml, status: r.warnings.length > 0 ? "partial" : "full", why: [], diagnostics: check.diagnostics };
}

/** The inventory as YAML, a header saying where it came from and what was not carried over. */
export function toYaml(r: ImportResult): string {
  const doc = new Document(r.inventory);
  const head = [
    " An lvsctl inventory written by `lvsctl import` from keepalived.conf files, one per director:",
    ...r.directors.map((d) => `   ${d.name}: ${d.file} (named by its ${d.namedBy})`),
    " Check it with `lvsctl validate`, and set each director's address (where lvsctl connects).",
  ];
  if (r.warnings.length > 0) {
    head.push("", " Not carried over as written (file:line: directive: why):");
    for (const w of r.warnings) head.push(`   ${formatWarning(w)}`);
  }
  const secretVars = Object.keys(r.secrets);
  if (secretVars.length > 0) head.push("", ` VRRP passwords are read from the environment: export ${secretVars.join(", ")}.`);
  doc.commentBefore = head.join("\n");
  for (const n of r.notes) {
    const node = doc.getIn(n.path, true) as Node | undefined;
    if (!node) continue;
    if (isScalar(node)) node.comment = ` ${n.text}`;
    else node.commentBefore = ` ${n.text}`;
  }
  // Short lists of scalars on one line, as the example inventories write them.
  const flowLists = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { flow?: boolean; items?: unknown[] } | undefined;
    if (node && Array.isArray(node.items) && node.items.every((i) => isScalar(i) && !i.comment)) node.flow = true;
  };
  flowLists(["groups", "directors", "hosts"]);
  flowLists(["groups", "realservers", "hosts"]);
  const inv = r.inventory as { hosts: Record<string, unknown>; vrrp_instances?: Record<string, unknown>[]; virtual_servers?: Record<string, unknown>[]; vrrp_sync_groups?: unknown[] };
  for (const h of Object.keys(inv.hosts)) {
    const node = doc.getIn(["hosts", h], true) as { flow?: boolean; items?: { value?: unknown }[] } | undefined;
    if (node?.items?.every((p) => isScalar(p.value) && !p.value.comment)) node.flow = true;
  }
  (inv.vrrp_instances ?? []).forEach((i, n) => {
    flowLists(["vrrp_instances", n, "virtual_ipaddress"]);
    flowLists(["vrrp_instances", n, "track_interface"]);
    flowLists(["vrrp_instances", n, "unicast_peer"]);
  });
  (inv.vrrp_sync_groups ?? []).forEach((_, n) => flowLists(["vrrp_sync_groups", n, "group"]));
  (inv.virtual_servers ?? []).forEach((s, n) => {
    const codes = (c: unknown, path: (string | number)[]) => {
      const urls = (c as { url?: unknown[] } | undefined)?.url ?? [];
      urls.forEach((_, u) => flowLists([...path, "url", u, "status_code"]));
    };
    codes(s.check, ["virtual_servers", n, "check"]);
    (s.real_servers as Record<string, unknown>[]).forEach((rs, k) => codes(rs.check, ["virtual_servers", n, "real_servers", k, "check"]));
  });
  return doc.toString({ lineWidth: 100, flowCollectionPadding: false });
}
