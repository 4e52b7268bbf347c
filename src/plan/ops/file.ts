// file / template: the content is decided on the controller (rendered locally), uploaded only
// when its sha256 differs, written atomically by HostConnection.putFile (temp, validate, rename).
// Owner and mode drift alone is fixed with chown/chmod, without an upload.
import { createHash } from "node:crypto";
import type { ValidateArgv } from "../../command/index.js";
import { maskedDiff, unifiedDiff } from "../diff.js";
import type { HostFacts } from "../facts.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface FileDesired {
  path: string;
  content: string | Buffer;
  /** Octal permission bits, e.g. 0o644. */
  mode: number;
  owner?: string;
  group?: string;
  /** e.g. [keepalived, -t, -f, "%s"]: run on the new file (the word "%s") before it replaces the old one. */
  validate?: ValidateArgv;
  /** Content never shown (diff masked as ***). */
  secret?: boolean;
}

export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The directory holding `path` ("/" for a file at the root), as mkdir and the `exists` fact see it. */
export function parentDir(path: string): string {
  return path.replace(/\/[^/]*$/, "") || "/";
}

export function modeString(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}

function isText(b: Buffer): boolean {
  return !b.subarray(0, 8000).includes(0);
}

/** The diff of one file for --diff: masked when secret, a note when binary. */
export function fileDiff(path: string, old: Buffer | undefined, next: string | Buffer, secret: boolean | undefined): string {
  if (secret) return maskedDiff(path, old !== undefined);
  const nextBuf = typeof next === "string" ? Buffer.from(next) : next;
  if ((old && !isText(old)) || !isText(nextBuf)) return `Binary file ${path} differs\n`;
  return unifiedDiff(old ? old.toString("utf8") : "", nextBuf.toString("utf8"), { oldName: old ? path : "/dev/null", newName: path });
}

export function planFile(facts: HostFacts, d: FileDesired, ctx: PlanContext): OpPlan {
  const want = sha256(d.content);
  const have = facts.sha256[d.path];
  const stat = facts.stats[d.path];
  if (have !== want) {
    const step: Step = { kind: "put", path: d.path, content: d.content, mode: d.mode, describe: `upload ${d.path} (${modeString(d.mode)})` };
    if (d.owner) step.owner = d.owner;
    if (d.group) step.group = d.group;
    if (d.validate) step.validate = d.validate;
    if (d.secret) step.secret = true;
    const out = change(have === undefined ? "file missing" : "sha256 differs", [step]);
    if (ctx.diff) out.diff = fileDiff(d.path, facts.contents[d.path] ?? (have === undefined ? undefined : Buffer.alloc(0)), d.content, d.secret);
    return out;
  }
  const steps: Step[] = [];
  const why: string[] = [];
  if (stat && stat.mode !== d.mode) {
    steps.push(execStep(["chmod", modeString(d.mode), "--", d.path]));
    why.push(`mode ${modeString(stat.mode)} -> ${modeString(d.mode)}`);
  }
  if (stat && ((d.owner && stat.owner !== d.owner) || (d.group && stat.group !== d.group))) {
    const spec = `${d.owner ?? stat.owner}:${d.group ?? stat.group}`;
    steps.push(execStep(["chown", "--", spec, d.path]));
    why.push(`owner ${stat.owner}:${stat.group} -> ${spec}`);
  }
  return steps.length ? change(why.join(", "), steps) : ok("sha256 matches");
}

export const fileOp: Operation<FileDesired> = {
  name: "file",
  needs: (d, ctx) => ({ sha256: [d.path], stats: [d.path], contents: ctx.diff && !d.secret ? [d.path] : [] }),
  plan: planFile,
};
