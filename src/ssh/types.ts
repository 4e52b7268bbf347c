// The small interface between the executor and SSH (STYLE.md habit 3). The real adapter is
// ssh2 (connection.ts); tests of planners and the executor use a hand-written fake.
import type { Secret } from "../errors/index.js";

/**
 * A remote command as a value: argv words, quoted when rendered (never concatenated). `shell`
 * is for the rare case a pipeline is really wanted; it is passed to `sh -c` as one word.
 */
export type Command = { argv: string[] } | { shell: string };

export interface ExecOptions {
  /** Run through sudo as the host's become user (root by default). */
  become?: boolean;
  /** Bytes written to the command's stdin. */
  stdin?: Buffer | string;
  /** Kill the channel after this long; the error names the host and the command. */
  timeoutMs?: number;
  /** Environment for the command (set with `env K=V` so sshd's AcceptEnv does not matter). */
  env?: Record<string, string>;
  /** Live output, line by line, for long commands (builds). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

/**
 * A finished command. A non-zero exit is a result, not an exception; what stops a host (connect,
 * auth, host key, lost connection, exec timeout, sudo, putFile) is thrown as an LvsctlError with a
 * code from errors.ts (`isUnreachable(err)` tells the recap's "unreachable" apart).
 */
export interface ExecResult {
  code: number | null; // null when killed by a signal
  /** Node's form, e.g. "SIGKILL". */
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
}

export interface PutOptions {
  mode: number;
  owner?: string;
  group?: string;
  become?: boolean;
}

/** One host's connection for the whole run. At most 8 channels open at once (OpenSSH allows 10). */
export interface HostConnection {
  readonly host: string;
  exec(cmd: Command, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Write a file atomically: upload to a private temp path beside the target, chown/chmod, then
   * rename over the target. With `validate` (a command containing `%s`), the temp file is checked
   * first and the old file stays when the check fails.
   */
  putFile(path: string, content: Buffer | string, opts: PutOptions & { validate?: string }): Promise<void>;
  close(): Promise<void>;
}

export interface HostKeyPolicy {
  knownHostsFiles: string[];
  /** OpenSSH's accept-new: record the key of an unknown host; never accept a changed one. */
  acceptNew: boolean;
}

export interface ConnectTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  keyFile?: string;
  agent?: string;
  password?: Secret;
  become?: { user: string; password?: Secret };
  jump: Omit<ConnectTarget, "jump" | "become">[];
  connectTimeoutMs: number;
}

export interface Connector {
  connect(target: ConnectTarget, policy: HostKeyPolicy): Promise<HostConnection>;
}

/** Shell-quote one word for POSIX sh. */
export function shellQuote(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function renderCommand(cmd: Command): string {
  return "argv" in cmd ? cmd.argv.map(shellQuote).join(" ") : `sh -c ${shellQuote(cmd.shell)}`;
}
