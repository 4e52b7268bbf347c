// Reading the files an inventory names (the inventory itself, an Ansible inventory and its vars
// files, `{file: PATH}` secrets): regular files only, and at most so many bytes. /dev/zero would
// fill memory until Node aborts, a FIFO would block the read forever, a directory or a device is
// a mistake worth saying plainly.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";

/** Inventories and Ansible files: 32 MiB holds about 500,000 hosts written one per line. */
export const MAX_INVENTORY_BYTES = 32 * 1024 * 1024;
/** A secret is a password or a passphrase; 64 KiB is far beyond any of them. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** Thrown for a file that is not a regular file or is too large; `code` says which. */
export class FileReadRefused extends Error {
  constructor(
    readonly code: "ENOTREG" | "ETOOBIG" | "ECHANGED",
    message: string,
  ) {
    super(message);
    this.name = "FileReadRefused";
  }
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, before any check.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

/** What a file is, for messages ("it is a named pipe (FIFO), not a regular file"); one wording for every reader and writer. */
export function fileKind(st: Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isFile()) return "a regular file";
  return "not a regular file";
}

function check(st: Stats, maxBytes: number): void {
  if (!st.isFile()) throw new FileReadRefused("ENOTREG", `it is ${fileKind(st)}, not a regular file`);
  if (st.size > maxBytes) throw new FileReadRefused("ETOOBIG", `it is ${st.size} bytes, more than the ${maxBytes} lvsctl reads`);
}

/** Read one byte past the size seen: a file that grows meanwhile is refused, never cut short. */
const grew = (n: number, maxBytes: number) =>
  n > maxBytes ? new FileReadRefused("ETOOBIG", `it grew past the ${maxBytes} bytes lvsctl reads`) : new FileReadRefused("ECHANGED", "it grew while being read; try again");

/** The file's text (UTF-8), if it is a regular file of at most maxBytes. */
export function readRegularFileSync(path: string, maxBytes: number): string {
  const fd = openSync(path, FLAGS);
  try {
    const st = fstatSync(fd);
    check(st, maxBytes);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) throw grew(n, maxBytes);
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** readRegularFileSync, without blocking the event loop. */
export async function readRegularFile(path: string, maxBytes: number): Promise<string> {
  const fh = await open(path, FLAGS);
  try {
    const st = await fh.stat();
    check(st, maxBytes);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) throw grew(n, maxBytes);
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** Why `path` (which exists) cannot be a `{file: PATH}` secret, from its stat alone; undefined when it can. */
export function secretFileProblem(path: string): string | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined; // gone or unreadable: said when the secret is needed (LVS213)
  }
  if (!st.isFile()) return `it is ${fileKind(st)}, not a regular file`;
  if (st.size > MAX_SECRET_BYTES) return `it is ${st.size} bytes, more than the ${MAX_SECRET_BYTES} lvsctl reads for a secret`;
  return undefined;
}
