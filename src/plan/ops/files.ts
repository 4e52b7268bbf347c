// files: several files as one task (what a renderer gives for a host: `render: realserver`).
import type { HostFacts } from "../facts.js";
import { fileOp, planFile, type FileDesired } from "./file.js";
import { change, ok, type OpPlan, type Operation, type PlanContext } from "./types.js";
import { mergeRequests } from "../facts.js";

export function planFiles(facts: HostFacts, files: FileDesired[], ctx: PlanContext): OpPlan {
  const plans = files.map((f) => ({ f, p: planFile(facts, f, ctx) }));
  const changed = plans.filter((x) => x.p.status === "change");
  if (!changed.length) return ok(`${files.length} file(s) match`);
  const out = change(changed.map((x) => `${x.f.path}: ${x.p.reason}`).join("; "), changed.flatMap((x) => x.p.steps));
  const diffs = changed.map((x) => x.p.diff).filter((d): d is string => !!d);
  if (diffs.length) out.diff = diffs.join("");
  return out;
}

export const filesOp: Operation<FileDesired[]> = {
  name: "files",
  needs: (files, ctx) => mergeRequests(...files.map((f) => fileOp.needs(f, ctx))),
  plan: planFiles,
};
