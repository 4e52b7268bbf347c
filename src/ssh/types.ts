// The small interface between the executor and SSH (STYLE.md habit 3). The real adapter is
// ssh2 (connection.ts); tests of planners and the executor use a hand-written fake.
import type { Command, ValidateArgv } from "../command/index.js";
import type { Duplex } from "node:stream";
import type { Secret } from "../errors/index.js";

/** Commands are values, owned by src/command (quoted when rendered, never concatenated). */
export type { Command, ValidateArgv } from "../command/index.js";
export { quote as shellQuote, renderCommand } from "../command/index.js";

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
   * rename over the target. With `validate` (an argv with the word NEW_FILE, "%s", for the temp
   * file), the temp file is checked first and the old file stays when the check fails.
   */
  putFile(path: string, content: Buffer | string, opts: PutOptions & { validate?: ValidateArgv }): Promise<void>;
  /**
   * A TCP stream to 127.0.0.1:PORT as seen from the host, carried by this connection (an SSH
   * direct-tcpip channel, RFC 4254 7.2): how a status endpoint that listens on the host's
   * loopback only is read, with no port opened on the network. Throws when nothing listens
   * there or sshd forbids forwarding (AllowTcpForwarding). Optional: a fake may not offer it.
   */
  openLoopback?(port: number, opts?: { timeoutMs?: number }): Promise<Duplex>;
  close(): Promise<void>;
}

export interface HostKeyPolicy {
  knownHostsFiles: string[];
  /** OpenSSH's accept-new: record the key of an unknown host; never accept a changed one. */
  acceptNew: boolean;
  /** The user named the files (--known-hosts): one that does not exist is worth a warning, unlike a missing default. */
  named?: boolean;
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

/** Something wrong in the known_hosts files that did not stop the run: a file not read, a line skipped. */
export interface KnownHostsWarning {
  file: string;
  /** 1-based; absent when the whole file could not be read. */
  line?: number;
  /** Why, never quoting the line (see KnownHostsProblem). */
  message: string;
}

export interface Connector {
  connect(target: ConnectTarget, policy: HostKeyPolicy): Promise<HostConnection>;
  /**
   * What the policy's known_hosts files hold that cannot be used. The executor asks once per run,
   * before the first connection, and reports each as one `run.warning`, whatever the number of
   * hosts. Optional: a connector without host keys (a fake) has none.
   */
  knownHostsWarnings?(policy: HostKeyPolicy): KnownHostsWarning[];
}
