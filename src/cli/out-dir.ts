// `render --out DIR`: writing rendered files into a directory the user named, and only there.
//
// Invariants (issue 8, item 5):
// - every file lands at DIR/HOST/PATH, with PATH split into plain names: a ".." or an empty host
//   is refused before anything is written (validate refuses such paths too; this does not rely on it);
// - below DIR, nothing is followed: each directory level is made here or must already be a real
//   directory (lstat), and a file is replaced by rename from a temporary file opened with
//   O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted at a directory or at the file is refused, and a
//   FIFO or device at the target is never opened (no hang);
// - DIR itself is the user's choice (it may be a link to a directory), but it must be a writable
//   directory and not on /proc or /sys; each failure is exit 1 with what, why and what to do.
// Node has no openat(2), so a component swapped for a symlink between the lstat and the mkdir or
// open is not caught; O_EXCL|O_NOFOLLOW still keeps the file itself from being a link.
import { accessSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, statfsSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { fileKind } from "../inventory/files.js";

/** Where one file goes below DIR: plain path components, the host's name first. */
export type OutTarget = { parts: string[] } | { problem: string };

/**
 * The components of DIR/HOST/PATH below DIR, or why there are none. Pure: no file is looked at.
 * PATH must be absolute; "." and empty components are dropped, ".." and NUL are refused rather
 * than resolved (they have no business in a path validate accepted).
 */
export function outTarget(host: string, path: string): OutTarget {
  if (host === "" || host === "." || host === ".." || host.includes("/") || host.includes("\0")) {
    return { problem: `the host name ${JSON.stringify(host)} is not a plain directory name` };
  }
  if (path.includes("\0")) return { problem: `the path ${JSON.stringify(path)} holds a NUL character` };
  if (!path.startsWith("/")) return { problem: `the path ${JSON.stringify(path)} is not absolute` };
  const rest = path.split("/").filter((p) => p !== "" && p !== ".");
  if (rest.includes("..")) return { problem: `the path ${JSON.stringify(path)} holds "..", which could reach outside the output directory` };
  if (rest.length === 0) return { problem: `the path ${JSON.stringify(path)} names no file` };
  return { parts: [host, ...rest] };
}

export interface OutFile {
  host: string;
  path: string;
  content: string;
  mode: number;
}

/** Mounts that are the kernel's, not storage: writing a rendered tree there is always a mistake. */
const KERNEL_TREES = ["/proc", "/sys"];
// statfs(2) f_type values, linux/magic.h: PROC_SUPER_MAGIC, SYSFS_MAGIC.
const KERNEL_FS_TYPES = new Set([0x9fa0, 0x62656572]);

const HINT = "pick an empty directory of your own for --out, e.g. --out ./rendered";

/**
 * Writes `files` below `dir` (absolute); `shown` is DIR as the user wrote it, for messages.
 * Every target is checked before the first write. Throws LvsctlError (exit 1) on any refusal.
 */
export function writeOutTree(dir: string, shown: string, files: readonly OutFile[]): void {
  const targets = files.map((f) => {
    const t = outTarget(f.host, f.path);
    if ("problem" in t) {
      throw new LvsctlError("LVS010", `will not write ${f.host}:${f.path} under ${shown}: ${t.problem}`, {
        hint: "render --out writes only inside DIR; fix the path in the inventory (`lvsctl validate` names it)",
      });
    }
    return { file: f, parts: t.parts };
  });
  prepareRoot(dir, shown);
  for (const { file, parts } of targets) writeOne(dir, shown, parts, file);
}

function prepareRoot(dir: string, shown: string): void {
  const kernel = (p: string): boolean => KERNEL_TREES.some((k) => p === k || p.startsWith(k + "/"));
  let st: Stats | undefined;
  try {
    st = statSync(dir);
  } catch (e) {
    if (errno(e) !== "ENOENT") throw refusal(shown, shown, e);
  }
  // Judge where DIR really is: its own real path, or its nearest existing parent's when it is new.
  let existing = dir;
  while (st === undefined && dirname(existing) !== existing) {
    existing = dirname(existing);
    try {
      statSync(existing);
      break;
    } catch {
      // keep climbing
    }
  }
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // judged by the name alone
  }
  if (kernel(dir) || kernel(real) || kernelFs(existing)) {
    throw new LvsctlError("LVS010", `cannot write the rendered files under ${shown}: it is inside the kernel's /proc or /sys, not a directory of files`, {
      hint: HINT,
    });
  }
  if (st === undefined) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw refusal(shown, shown, e);
    }
  } else if (!st.isDirectory()) {
    throw new LvsctlError("LVS010", `cannot write the rendered files under ${shown}: it is ${fileKind(st)}, not a directory`, {
      hint: `remove it or ${HINT}`,
    });
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw refusal(shown, shown, e);
  }
}

function kernelFs(p: string): boolean {
  try {
    return KERNEL_FS_TYPES.has(statfsSync(p).type);
  } catch {
    return false;
  }
}

function writeOne(dir: string, shown: string, parts: string[], f: OutFile): void {
  let at = dir;
  const names = parts.slice(0, -1);
  for (let i = 0; i < names.length; i++) {
    at = join(at, names[i]!);
    const here = join(shown, ...parts.slice(0, i + 1));
    const st = lstatOrUndefined(at, shown, here);
    if (st === undefined) {
      try {
        // Not recursive: one level at a time, so no planted link is walked through.
        mkdirSync(at, { mode: 0o755 });
      } catch (e) {
        throw refusal(shown, here, e);
      }
    } else if (!st.isDirectory()) {
      throw planted(shown, join(shown, ...parts), here, st);
    }
  }
  const target = join(at, parts.at(-1)!);
  const shownTarget = join(shown, ...parts);
  const st = lstatOrUndefined(target, shown, shownTarget);
  if (st !== undefined && !st.isFile()) throw planted(shown, shownTarget, shownTarget, st);

  const tmp = join(at, `.${parts.at(-1)!}.lvsctl-${process.pid}-${randomBytes(4).toString("hex")}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, f.mode);
    fchmodSync(fd, f.mode); // the umask does not decide who may read a secret
    const buf = Buffer.from(f.content, "utf8");
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
    closeSync(fd);
    fd = undefined;
    // rename(2) replaces the name itself: an old file is swapped whole, a link is never followed.
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never made, or already renamed
    }
    throw refusal(shown, shownTarget, e);
  }
}

function lstatOrUndefined(p: string, shown: string, here: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw refusal(shown, here, e);
  }
}

function planted(shown: string, target: string, here: string, st: Stats): LvsctlError {
  const what = here === target ? "it" : here;
  return new LvsctlError("LVS010", `will not write ${target}: ${what} is ${fileKind(st)}, which lvsctl did not make`, {
    hint: st.isSymbolicLink()
      ? `render --out never follows a link inside ${shown}; remove ${here}, or ${HINT}`
      : `remove ${here}, or ${HINT}`,
  });
}

function refusal(shown: string, here: string, e: unknown): LvsctlError {
  const code = errno(e);
  const why: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "the operation is not permitted",
    EROFS: "the file system is read-only",
    ENOTDIR: "a part of the path is not a directory",
    ENOSPC: "no space left on the device",
    EDQUOT: "the disk quota is used up",
    ELOOP: "a part of the path is a symbolic link",
    EEXIST: "something else appeared there while lvsctl was writing",
    ENAMETOOLONG: "the name is too long",
  };
  return new LvsctlError("LVS010", `cannot write ${here}: ${why[code ?? ""] ?? (code ? `error ${code}` : String((e as Error)?.message ?? e))}`, {
    hint: `check that ${shown} is a directory you may write to, or ${HINT}`,
    cause: e,
  });
}


function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}
