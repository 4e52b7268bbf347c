// A hand-written fake of the SSH layer for unit tests of facts, planners and the executor:
// scripted responses per command, every call recorded, files kept in memory. It follows the real
// adapter's contract: non-zero exits are results (not exceptions); connection, become and
// validate failures are LvsctlErrors with the same codes (see errors.ts).
import { Duplex } from "node:stream";
import { LvsctlError } from "../errors/index.js";
import { closedByLvsctlError, putValidateError, sshError, SshError } from "./errors.js";
import { tempPathFor } from "./put-file.js";
import { renderCommand, validateCommand, type ValidateArgv } from "../command/index.js";
import { renderWithEnv } from "./sudo.js";
import {
  type Command,
  type ConnectTarget,
  type Connector,
  type ExecOptions,
  type ExecResult,
  type HostConnection,
  type HostKeyPolicy,
  type PutOptions,
} from "./types.js";

export interface FakeCall {
  kind: "exec" | "put";
  /** The command as the real adapter renders it (before sudo); for puts, the path. */
  command: string;
  cmd?: Command;
  become: boolean;
  stdin?: Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface FakeFile {
  content: Buffer;
  mode: number;
  owner?: string;
  group?: string;
}

export interface FakeResult {
  code?: number | null;
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  signal?: string;
  /** Simulate a slow command (real time, keep it small). */
  delayMs?: number;
}

/** A result, a function of the call (it may read or change `fake.files`), or an error to throw. */
export type FakeResponse = FakeResult | Error | ((call: FakeCall, fake: FakeConnection) => FakeResult | Error | Promise<FakeResult | Error>);

export type FakeMatcher = string | RegExp | ((call: FakeCall) => boolean);

interface Rule {
  match: FakeMatcher;
  response: FakeResponse;
  times: number; // Infinity for `on`
}

export interface FakeConnectionOptions {
  /** What an unscripted command does: `"error"` (default) throws so a test notices; `"ok"` exits 0. */
  unscripted?: "error" | "ok";
}

export class FakeConnection implements HostConnection {
  readonly host: string;
  readonly calls: FakeCall[] = [];
  readonly files = new Map<string, FakeFile>();
  #rules: Rule[] = [];
  #loopback = new Map<number, (request: string) => string | Buffer | Error>();
  #lost: LvsctlError | undefined;
  #unscripted: "error" | "ok";
  closed = false;
  /** Highest number of exec/put calls in flight at once. */
  peakConcurrent = 0;
  #inFlight = 0;

  constructor(host: string, opts: FakeConnectionOptions = {}) {
    this.host = host;
    this.#unscripted = opts.unscripted ?? "error";
  }

  /**
   * Answer matching commands (exact rendered text, a RegExp on it, or a predicate). Rules are
   * tried newest first, so a later `on` overrides an earlier one.
   */
  on(match: FakeMatcher, response: FakeResponse): this {
    this.#rules.unshift({ match, response, times: Infinity });
    return this;
  }

  /** Like `on`, for the next matching call only. */
  once(match: FakeMatcher, response: FakeResponse): this {
    this.#rules.unshift({ match, response, times: 1 });
    return this;
  }

  /**
   * Something listening on the host's 127.0.0.1:PORT for openLoopback: it gets the whole request
   * (up to the blank line) and answers with the raw bytes to send back (the stream then ends), or
   * an Error to break the stream. A port with no answer refuses the channel, as sshd does when nothing listens there.
   */
  onLoopback(port: number, answer: (request: string) => string | Buffer | Error): this {
    this.#loopback.set(port, answer);
    return this;
  }

  /** Loopback channels opened so far, by port. */
  readonly loopbackOpens: number[] = [];

  async openLoopback(port: number): Promise<Duplex> {
    this.#check();
    this.loopbackOpens.push(port);
    const answer = this.#loopback.get(port);
    if (!answer) throw sshError(SshError.ForwardFailed, `${this.host}: cannot reach 127.0.0.1:${port} on the host through SSH: Connection refused`, "nothing answers there (fake)");
    let request = "";
    let answered = false;
    const stream: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        request += chunk.toString("latin1");
        if (!answered && request.includes("\r\n\r\n")) {
          answered = true;
          const a = answer(request);
          if (a instanceof Error) stream.destroy(a);
          else {
            stream.push(Buffer.from(a));
            stream.push(null);
          }
        }
        cb();
      },
    });
    return stream;
  }

  /** Put a file in place as if it were already on the host. */
  seedFile(path: string, content: string | Buffer, mode = 0o644, owner?: string, group?: string): this {
    const f: FakeFile = { content: Buffer.from(content), mode };
    if (owner !== undefined) f.owner = owner;
    if (group !== undefined) f.group = group;
    this.files.set(path, f);
    return this;
  }

  /** Every later call fails as if the connection had dropped. */
  drop(reason = "simulated network failure"): void {
    this.#lost = sshError(SshError.ConnectionLost, `${this.host}: the SSH connection was lost (${reason})`, "re-run to converge");
  }

  /** The rendered commands run so far (exec only), for compact assertions. */
  commands(): string[] {
    return this.calls.filter((c) => c.kind === "exec").map((c) => c.command);
  }

  async exec(cmd: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const call: FakeCall = { kind: "exec", command: renderWithEnv(cmd, opts.env), cmd, become: opts.become === true };
    if (opts.stdin !== undefined) call.stdin = Buffer.from(opts.stdin);
    if (opts.env !== undefined) call.env = opts.env;
    if (opts.timeoutMs !== undefined) call.timeoutMs = opts.timeoutMs;
    return this.#track(() => this.#answer(call, opts));
  }

  async putFile(path: string, content: Buffer | string, opts: PutOptions & { validate?: ValidateArgv }): Promise<void> {
    const data = Buffer.from(content);
    const call: FakeCall = { kind: "put", command: path, become: opts.become === true, stdin: data };
    await this.#track(async () => {
      this.#check();
      this.calls.push(call);
      if (opts.validate !== undefined) {
        const tmp = tempPathFor(path, "fake");
        const v = await this.#answer(
          { kind: "exec", command: renderCommand(validateCommand(opts.validate, tmp)), cmd: validateCommand(opts.validate, tmp), become: opts.become === true },
          {},
          tmp,
          data,
        );
        if (v.code !== 0) {
          const out = (v.stdout.toString() + v.stderr.toString()).trim();
          throw putValidateError(this.host, opts.validate, path, out);
        }
      }
      const f: FakeFile = { content: data, mode: opts.mode };
      if (opts.owner !== undefined) f.owner = opts.owner;
      if (opts.group !== undefined) f.group = opts.group;
      this.files.set(path, f);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.#lost ??= closedByLvsctlError(this.host);
  }

  async #track<T>(fn: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    this.peakConcurrent = Math.max(this.peakConcurrent, this.#inFlight);
    try {
      return await fn();
    } finally {
      this.#inFlight--;
    }
  }

  #check(): void {
    if (this.#lost) throw this.#lost;
  }

  async #answer(call: FakeCall, opts: ExecOptions, tempPath?: string, tempContent?: Buffer): Promise<ExecResult> {
    this.#check();
    if (call.kind === "exec" && tempPath === undefined) this.calls.push(call);
    const rule = this.#rules.find((r) => r.times > 0 && matches(r.match, call));
    let response: FakeResponse | undefined = rule?.response;
    if (rule) rule.times--;
    if (response === undefined) {
      if (this.#unscripted === "ok") response = {};
      else throw new Error(`FakeConnection(${this.host}): no scripted response for \`${call.command}\``);
    }
    // The validate command may want to look at the new file under its temp name.
    if (tempPath !== undefined && tempContent !== undefined) this.files.set(tempPath, { content: tempContent, mode: 0o600 });
    let r: FakeResult | Error;
    try {
      r = typeof response === "function" ? await response(call, this) : response;
    } finally {
      if (tempPath !== undefined) this.files.delete(tempPath);
    }
    if (r instanceof Error) throw r;
    if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs));
    if (opts.timeoutMs !== undefined && r.delayMs !== undefined && r.delayMs > opts.timeoutMs) {
      throw sshError(SshError.ExecTimeout, `${this.host}: \`${call.command}\` did not finish within ${opts.timeoutMs} ms; it was killed`, "raise the task's timeout");
    }
    const stdout = Buffer.from(r.stdout ?? "");
    const stderr = Buffer.from(r.stderr ?? "");
    if (stdout.length) opts.onStdout?.(stdout);
    if (stderr.length) opts.onStderr?.(stderr);
    const result: ExecResult = { code: r.code === undefined ? 0 : r.code, stdout, stderr };
    if (r.signal !== undefined) result.signal = r.signal;
    return result;
  }
}

function matches(m: FakeMatcher, call: FakeCall): boolean {
  if (typeof m === "string") return m === call.command;
  if (m instanceof RegExp) return m.test(call.command);
  return m(call);
}

/** Connects to fakes by target name; a host mapped to an error is unreachable. */
export class FakeConnector implements Connector {
  readonly connects: { target: ConnectTarget; policy: HostKeyPolicy }[] = [];
  readonly #hosts: Map<string, FakeConnection | LvsctlError>;

  constructor(hosts: Record<string, FakeConnection | LvsctlError> | Map<string, FakeConnection | LvsctlError>) {
    this.#hosts = hosts instanceof Map ? hosts : new Map(Object.entries(hosts));
  }

  async connect(target: ConnectTarget, policy: HostKeyPolicy): Promise<FakeConnection> {
    this.connects.push({ target, policy });
    const h = this.#hosts.get(target.name);
    if (h === undefined) {
      throw sshError(SshError.ConnectRefused, `${target.name} (${target.user}@${target.address}:${target.port}): connection refused`, "FakeConnector has no fake for this host");
    }
    if (h instanceof LvsctlError) throw h;
    return h;
  }
}

/** A ready-made unreachable host for FakeConnector. */
export function fakeUnreachable(name: string, ms = 10000): LvsctlError {
  return sshError(SshError.ConnectTimeout, `${name}: no SSH login within ${ms} ms (simulated)`, "check that the host is up");
}
