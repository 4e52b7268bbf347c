// Atomic file writes as one shell script fed the content on stdin (one channel, one round trip,
// and the same path with or without sudo). Pure: connection.ts and the fake run what this builds.
//
// Invariants:
// - the content lands in a private temp file beside the target (same filesystem, so `mv -f` is
//   an atomic rename(2)); the target is never opened for writing;
// - the temp file is removed on every failure path, including a connection that dies mid-upload
//   (stdin ends early: the size check fails) or a hang-up signal;
// - a temp left by a killed run matches `.NAME.lvsctl-tmp-*` and is removed by a later write of
//   the same file once it is older than STALE_TEMP_MINUTES.
import { Shell, sh, showArgv, validateCommand, type ValidateArgv } from "../command/index.js";

export const TEMP_INFIX = ".lvsctl-tmp-";
/** A temp older than this cannot belong to a live upload of the same file (uploads take seconds). */
export const STALE_TEMP_MINUTES = 10;

/** Exit codes of the script, one per step, so the caller can say which step failed. */
export const PutExit = {
  Write: 90,
  ShortWrite: 91,
  Chown: 92,
  Chmod: 93,
  Validate: 94,
  Rename: 95,
} as const;

export function splitPath(path: string): { dir: string; name: string } {
  if (!path.startsWith("/")) throw new Error(`putFile needs an absolute path, got ${JSON.stringify(path)}`);
  if (path.endsWith("/")) throw new Error(`putFile needs a file path, got the directory ${path}`);
  const i = path.lastIndexOf("/");
  return { dir: i === 0 ? "/" : path.slice(0, i), name: path.slice(i + 1) };
}

export function tempPathFor(path: string, token: string): string {
  const { dir, name } = splitPath(path);
  return `${dir === "/" ? "" : dir}/.${name}${TEMP_INFIX}${token}`;
}

export interface PutScriptInput {
  path: string;
  size: number;
  mode: number;
  owner?: string;
  group?: string;
  /** An argv with the word "%s" (NEW_FILE) for the temp file, e.g. [keepalived, -t, -f, "%s"]. */
  validate?: ValidateArgv;
  /** Random, alphanumeric: makes the temp name unique. */
  token: string;
}

/** The validate command as it runs: each "%s" word replaced by the temp path (Ansible's convention, as words). */
export function renderValidate(validate: ValidateArgv, tempPath: string): Shell {
  return sh`${validateCommand(validate, tempPath)}`;
}

/** The validate command for messages ("keepalived -t -f %s"). */
export function showValidate(validate: ValidateArgv | undefined): string {
  return validate === undefined ? "" : showArgv(validate);
}

export function putFileScript(input: PutScriptInput): Shell {
  if (!/^[A-Za-z0-9]+$/.test(input.token)) throw new Error("temp token must be alphanumeric");
  if (!Number.isInteger(input.mode) || input.mode < 0 || input.mode > 0o7777) throw new Error(`invalid mode ${input.mode}`);
  if (!Number.isInteger(input.size) || input.size < 0) throw new Error(`invalid size ${input.size}`);
  const { dir, name } = splitPath(input.path);
  const tmp = tempPathFor(input.path, input.token);
  const lines: Shell[] = [
    // noclobber: `>` refuses to follow an existing name (a planted symlink), umask: private until chmod.
    sh`set -C; umask 077`,
    sh`t=${tmp}`,
    sh`trap 'rm -f "$t"' EXIT`,
    // dash runs the EXIT trap when a signal handler calls exit, not on the bare signal.
    sh`trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM`,
    sh`find ${dir} -maxdepth 1 -name ${`.${name}${TEMP_INFIX}*`} -mmin +${STALE_TEMP_MINUTES} -exec rm -f {} + 2>/dev/null`,
    sh`cat > "$t" || exit ${PutExit.Write}`,
    sh`n=$(wc -c < "$t"); [ "$n" -eq ${input.size} ] || { printf 'lvsctl: upload cut short: %s of %s bytes arrived\\n' "$n" ${input.size} >&2; exit ${PutExit.ShortWrite}; }`,
  ];
  const owner = input.owner ?? "";
  const group = input.group ?? "";
  if (owner !== "" || group !== "") {
    const spec = owner !== "" ? (group !== "" ? `${owner}:${group}` : owner) : `:${group}`;
    lines.push(sh`chown -- ${spec} "$t" || exit ${PutExit.Chown}`);
  }
  lines.push(sh`chmod ${input.mode.toString(8).padStart(4, "0")} "$t" || exit ${PutExit.Chmod}`);
  if (input.validate !== undefined) {
    // All of the validate command's output goes to stderr, where the caller reports it.
    lines.push(sh`( ${renderValidate(input.validate, tmp)} ) </dev/null 1>&2 || exit ${PutExit.Validate}`);
  }
  lines.push(sh`mv -f "$t" ${input.path} || exit ${PutExit.Rename}`);
  return Shell.join([...lines, sh``], "\n");
}

/** What went wrong, by the script's exit code. */
export function describePutExit(code: number | null): string {
  switch (code) {
    case PutExit.Write:
      return "could not create the temp file beside the target";
    case PutExit.ShortWrite:
      return "the upload was cut short";
    case PutExit.Chown:
      return "chown failed";
    case PutExit.Chmod:
      return "chmod failed";
    case PutExit.Validate:
      return "the validate command rejected the new file";
    case PutExit.Rename:
      return "could not rename the temp file over the target";
    default:
      return code === null ? "the writer was killed by a signal" : `the writer exited with ${code}`;
  }
}
