// The SSH layer's error catalogue: stable codes the executor and the CLI can branch on. Every
// message names the host (and the command for exec failures); every hint says what to do.
import { ExitCode, LvsctlError } from "../errors/index.js";
import { showArgv, type ValidateArgv } from "../command/index.js";

export const SshError = {
  /** No SSH handshake within the connect timeout (host down, packets dropped, wrong port). */
  ConnectTimeout: "SSH_CONNECT_TIMEOUT",
  ConnectRefused: "SSH_CONNECT_REFUSED",
  HostUnreachable: "SSH_HOST_UNREACHABLE",
  DnsFailed: "SSH_DNS_FAILED",
  /** Key exchange failed (no common algorithm, e.g. none of the known host key types offered). */
  HandshakeFailed: "SSH_HANDSHAKE_FAILED",
  ConnectFailed: "SSH_CONNECT_FAILED",
  AuthFailed: "SSH_AUTH_FAILED",
  KeyFileUnreadable: "SSH_KEY_FILE_UNREADABLE",
  KeyEncrypted: "SSH_KEY_ENCRYPTED",
  HostKeyUnknown: "SSH_HOST_KEY_UNKNOWN",
  HostKeyChanged: "SSH_HOST_KEY_CHANGED",
  HostKeyRevoked: "SSH_HOST_KEY_REVOKED",
  KnownHostsWriteFailed: "SSH_KNOWN_HOSTS_WRITE_FAILED",
  /** The connection died (keepalive timeout, reset) while work was pending or after. */
  ConnectionLost: "SSH_CONNECTION_LOST",
  ChannelFailed: "SSH_CHANNEL_FAILED",
  /** A direct-tcpip channel to a port on the host's loopback was refused (nothing listens, or no forwarding). */
  ForwardFailed: "SSH_FORWARD_FAILED",
  ExecTimeout: "SSH_EXEC_TIMEOUT",
  BecomeNoSudo: "SSH_BECOME_NO_SUDO",
  BecomeDenied: "SSH_BECOME_DENIED",
  BecomePasswordRequired: "SSH_BECOME_PASSWORD_REQUIRED",
  BecomePasswordWrong: "SSH_BECOME_PASSWORD_WRONG",
  BecomeFailed: "SSH_BECOME_FAILED",
  PutFailed: "SSH_PUT_FAILED",
  PutValidateFailed: "SSH_PUT_VALIDATE_FAILED",
} as const;
export type SshErrorCode = (typeof SshError)[keyof typeof SshError];

/** Codes that mean "the host could not be reached or logged into": the recap's `unreachable`. */
const UNREACHABLE: ReadonlySet<string> = new Set<SshErrorCode>([
  SshError.ConnectTimeout,
  SshError.ConnectRefused,
  SshError.HostUnreachable,
  SshError.DnsFailed,
  SshError.HandshakeFailed,
  SshError.ConnectFailed,
  SshError.AuthFailed,
  SshError.KeyFileUnreadable,
  SshError.KeyEncrypted,
  SshError.HostKeyUnknown,
  SshError.HostKeyChanged,
  SshError.HostKeyRevoked,
  SshError.KnownHostsWriteFailed,
  SshError.ConnectionLost,
]);

export function sshError(code: SshErrorCode, message: string, hint: string, cause?: unknown): LvsctlError {
  return new LvsctlError(code, message, {
    hint,
    cause,
    exitCode: UNREACHABLE.has(code) ? ExitCode.Unreachable : ExitCode.TaskFailed,
  });
}

/** True when the error means the host is unreachable (connect, auth, host key, lost connection). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof LvsctlError && UNREACHABLE.has(err.code);
}

/** putFile's validate command refused the new file (the real adapter and the fake say the same). */
export function putValidateError(host: string, validate: ValidateArgv | undefined, path: string, output: string): LvsctlError {
  return sshError(
    SshError.PutValidateFailed,
    `${host}: \`${validate === undefined ? "" : showArgv(validate)}\` rejected the new ${path}; the old file is unchanged` + (output ? `:\n${output}` : ""),
    "fix the file's content (the validate command's output is above)",
  );
}

/** What a command still running gets once lvsctl itself closed the connection (real adapter and fake). */
export function closedByLvsctlError(host: string): LvsctlError {
  return sshError(SshError.ConnectionLost, `${host}: the connection was closed by lvsctl`, "the run was interrupted or ended while this command was still running");
}
