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

export function planUploadDir(facts: HostFacts, d: UploadDirDesired): OpPlan {
  const have = facts.manifests[d.dest];
  const steps: Step[] = [];
  const changed: string[] = [];
  /** Directories already given a mkdir step (several new files in one new directory need one). */
  const made = new Set<string>();
  for (const f of [...d.files].sort((a, b) => a.rel.localeCompare(b.rel))) {
    if (f.rel.startsWith("/") || f.rel.split("/").includes("..")) throw new PlanError(`upload_dir: ${f.rel} escapes ${d.dest}`);
    // The manifest is read back line by line (sha256sum output): these would break it.
    if (/[\n\t\\]/.test(f.rel)) throw new PlanError(`upload_dir: ${JSON.stringify(f.rel)} has a newline, tab or backslash in its name`);
    if (have?.[f.rel] === sha256(f.content)) continue;
    const path = `${d.dest}/${f.rel}`;
    const dir = path.replace(/\/[^/]*$/, "");
    const step: Step = { kind: "put", path, content: f.content, mode: f.mode, describe: `upload ${path}` };
    if (d.owner) step.owner = d.owner;
    if (d.group) step.group = d.group;
    // The parent may not exist yet; putFile writes a temp file beside the target.
    if (!made.has(dir) && (!have || !Object.keys(have).some((r) => `${d.dest}/${r}`.startsWith(dir + "/")))) {
      made.add(dir);
      steps.push(execStep(["mkdir", "-p", dir]));
    }
    steps.push(step);
    changed.push(f.rel);
  }
  const wanted = new Set(d.files.map((f) => f.rel));
  const extra = d.purge && have ? Object.keys(have).filter((r) => !wanted.has(r)).sort() : [];
  if (extra.length) steps.push(execStep(["rm", "-f", "--", ...extra.map((r) => `${d.dest}/${r}`)], `remove ${extra.length} file(s) no longer in the source`));
  if (!steps.length) return ok(`${d.files.length} file(s) match`);
  const why = [changed.length ? `${changed.length} of ${d.files.length} file(s) differ` : "", extra.length ? `${extra.length} extra file(s)` : ""].filter(Boolean).join(", ");
  return change(why, steps);
}

export const uploadDirOp: Operation<UploadDirDesired> = {
  name: "upload_dir",
  needs: (d) => ({ manifests: [d.dest] }),
  plan: planUploadDir,
};
