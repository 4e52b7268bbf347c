// upload_dir: a directory tree (the lvsd bundle) kept in sync by a manifest of sha256 per file:
// only changed files are uploaded; with `purge`, files the source no longer has are removed.
// The local tree is read before planning (the planner stays pure): `files` holds it.
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { sha256 } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type Step } from "./types.js";

export interface DirFile {
  /** Path relative to the directory, with `/` separators, no `..`. */
  rel: string;
  content: Buffer | string;
  mode: number;
}

export interface UploadDirDesired {
  dest: string;
  files: DirFile[];
  owner?: string;
  group?: string;
  purge?: boolean;
}

/**
 * The destination as one spelling: repeated and trailing slashes dropped, "/" kept as the root.
 * The manifest fact is keyed by it (needs and plan must agree), and file paths are built from it.
 */
export function uploadDirDest(dest: string): string {
  const s = dest.replace(/\/{2,}/g, "/").replace(/\/+$/, "");
  return s === "" ? "/" : s;
}

/** `dest`/`rel` without a doubled slash when dest is the root. */
function under(dest: string, rel: string): string {
  return dest === "/" ? `/${rel}` : `${dest}/${rel}`;
}

/** The parent directory of an absolute path: "/" for a top-level entry. */
function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

export function planUploadDir(facts: HostFacts, d: UploadDirDesired): OpPlan {
  const dest = uploadDirDest(d.dest);
  // Every file of the host that the source lacks is "extra" under the root.
  if (d.purge && dest === "/") throw new PlanError("upload_dir: purge with dest / would remove every file the source does not have", "upload into a directory of its own, or turn purge off");
  const have = facts.manifests[dest];
  const steps: Step[] = [];
  const changed: string[] = [];
  /** Directories already given a mkdir step (several new files in one new directory need one). */
  const made = new Set<string>();
  for (const f of [...d.files].sort((a, b) => a.rel.localeCompare(b.rel))) {
    if (f.rel.startsWith("/") || f.rel.split("/").includes("..")) throw new PlanError(`upload_dir: ${f.rel} escapes ${dest}`);
    // The manifest is read back line by line (sha256sum output): these would break it.
    if (/[\n\t\\]/.test(f.rel)) throw new PlanError(`upload_dir: ${JSON.stringify(f.rel)} has a newline, tab or backslash in its name`);
    if (have?.[f.rel] === sha256(f.content)) continue;
    const path = under(dest, f.rel);
    const dir = parentOf(path);
    const step: Step = { kind: "put", path, content: f.content, mode: f.mode, describe: `upload ${path}` };
    if (d.owner) step.owner = d.owner;
    if (d.group) step.group = d.group;
    // The parent may not exist yet; putFile writes a temp file beside the target. The root always
    // exists, and a directory that already holds a file of the manifest does too.
    if (dir !== "/" && !made.has(dir) && (!have || !Object.keys(have).some((r) => under(dest, r).startsWith(dir + "/")))) {
      made.add(dir);
      steps.push(execStep(["mkdir", "-p", dir]));
    }
    steps.push(step);
    changed.push(f.rel);
  }
  const wanted = new Set(d.files.map((f) => f.rel));
  const extra = d.purge && have ? Object.keys(have).filter((r) => !wanted.has(r)).sort() : [];
  if (extra.length) steps.push(execStep(["rm", "-f", "--", ...extra.map((r) => under(dest, r))], `remove ${extra.length} file(s) no longer in the source`));
  if (!steps.length) return ok(`${d.files.length} file(s) match`);
  const why = [changed.length ? `${changed.length} of ${d.files.length} file(s) differ` : "", extra.length ? `${extra.length} extra file(s)` : ""].filter(Boolean).join(", ");
  return change(why, steps);
}

export const uploadDirOp: Operation<UploadDirDesired> = {
  name: "upload_dir",
  needs: (d) => ({ manifests: [uploadDirDest(d.dest)] }),
  plan: planUploadDir,
};
