// The real SSH adapter (ssh2): one Client per host for the whole run, reused for every command and
// file, at most `maxChannels` channels open at once, host keys checked against known_hosts, sudo
// for `become`, and jump hosts shared by every target behind them. The only module that imports ssh2.
import ssh2 from "ssh2";
import type { ClientChannel, ConnectConfig } from "ssh2";
import type { Duplex } from "node:stream";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { closedByLvsctlError, putValidateError, sshError, SshError } from "./errors.js";
import {
  checkHostKey,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypes,
  fingerprintSha256,
  type HostKeyCheck,
} from "./known-hosts.js";
import { loadKnownHosts, recordHostKey, type KnownHostsDb } from "./host-keys.js";
import { Semaphore } from "./semaphore.js";
import {
  becomeCommandLine,
  classifySudoProbe,
  makeSudoMarkers,
  renderWithEnv,
  sudoProbeCommand,
  StderrMarkerScanner,
  type BecomeMode,
  type SudoMarkers,
} from "./sudo.js";
import { describePutExit, putFileScript, PutExit } from "./put-file.js";
import { renderCommand, type ValidateArgv } from "../command/index.js";
import type {
  Command,
  ConnectTarget,
  Connector,
  ExecOptions,
  ExecResult,
  HostConnection,
  HostKeyPolicy,
  KnownHostsWarning,
  PutOptions,
} from "./types.js";

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

/** sshd_config(5) MaxSessions defaults to 10; 8 leaves room (libraries.md). */
export const DEFAULT_MAX_CHANNELS = 8;
/** ssh2 keeps keepalive off by default; 5 s x 3 notices a dead host in about 15 s. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 5000;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;
/**
 * Back-off before re-trying a refused channel open. OpenSSH frees a closed session lazily (after
 * the packet batch it arrived in: channels.c channel_garbage_collect), so MaxSessions can refuse an
 * open sent right behind a close; measured against OpenSSH 9.2 with MaxSessions 8.
 */
export const CHANNEL_OPEN_RETRIES_MS = [10, 30, 100, 300] as const;
/**
 * Host key algorithms ssh2 1.17 can verify (lib/protocol/constants.js SUPPORTED_SERVER_HOST_KEY,
 * ed25519 present on Node >= 12), in its preference order.
 */
export const SSH2_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
  "ssh-dss",
] as const;

export interface SshConnectorOptions {
  maxChannels?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Used when a target names no key, agent or password; default `$SSH_AUTH_SOCK`. */
  defaultAgent?: string | undefined;
  /** Tried (the first readable one without a passphrase) when a target names no key, agent or password. */
  defaultIdentityFiles?: string[];
}

type Hop = Omit<ConnectTarget, "jump" | "become">;
interface JumpEntry {
  key: string;
  client: Promise<Client>;
  refs: number;
}

export interface ConnectionStats {
  /** Channels open right now. */
  openChannels: number;
  /** Most channels open at once on this connection. */
  peakChannels: number;
  /** Channels opened in total (commands, probes, file writes). */
  channelsOpened: number;
  /** Channel opens refused by the server and retried (see CHANNEL_OPEN_RETRIES_MS). */
  channelOpenRetries: number;
}

export class SshConnector implements Connector {
  readonly #opts: Required<Omit<SshConnectorOptions, "defaultAgent">> & { defaultAgent: string | undefined };
  readonly #knownHosts = new Map<string, KnownHostsDb>();
  /** Jump connections shared by all targets behind them, keyed by the chain up to that hop. */
  readonly #jumps = new Map<string, JumpEntry>();

  constructor(opts: SshConnectorOptions = {}) {
    const home = homedir();
    this.#opts = {
      maxChannels: opts.maxChannels ?? DEFAULT_MAX_CHANNELS,
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: opts.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX,
      defaultAgent: "defaultAgent" in opts ? opts.defaultAgent : process.env.SSH_AUTH_SOCK,
      defaultIdentityFiles:
        opts.defaultIdentityFiles ?? ["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(home, ".ssh", n)),
    };
  }

  async connect(target: ConnectTarget, policy: HostKeyPolicy): Promise<SshConnection> {
    const db = this.#db(policy);
    const held: JumpEntry[] = [];
    const release = () => held.splice(0).forEach((e) => this.#releaseJump(e));
    try {
      let via: Client | undefined;
      let key = "";
      for (const hop of target.jump) {
        key += `>${hop.user}@${hop.address}:${hop.port}`;
        const entry = this.#jump(key, hop, via, `${target.name}: jump host ${hop.name} (${hop.user}@${hop.address}:${hop.port})`, policy, db);
        held.push(entry);
        via = await entry.client;
      }
      const where = `${target.name} (${target.user}@${target.address}:${target.port})`;
      const sock = via ? await forwardOut(via, target, where) : undefined;
      const client = await this.#connectHop(target, sock, where, policy, db);
      return new SshConnection(target, client, this.#opts.maxChannels, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  knownHostsWarnings(policy: HostKeyPolicy): KnownHostsWarning[] {
    return this.#db(policy).problems.map((p) => ({ file: p.file, ...(p.line > 0 ? { line: p.line } : {}), message: p.message }));
  }

  #db(policy: HostKeyPolicy): KnownHostsDb {
    const k = [policy.named ? "named" : "", policy.acceptNew ? "new" : "", ...policy.knownHostsFiles].join("\0");
    let db = this.#knownHosts.get(k);
    if (!db) {
      db = loadKnownHosts(policy.knownHostsFiles, { named: policy.named ?? false, acceptNew: policy.acceptNew });
      this.#knownHosts.set(k, db);
    }
    return db;
  }

  /**
   * A jump connection shared by every target behind it (one login instead of one per target, and
   * forwarded channels do not count against sshd's MaxSessions). The error of a failed jump names
   * the target that first asked for it; targets connecting at that moment share the failure,
   * later ones try again.
   */
  #jump(key: string, hop: Hop, via: Client | undefined, where: string, policy: HostKeyPolicy, db: KnownHostsDb): JumpEntry {
    const cached = this.#jumps.get(key);
    if (cached) {
      cached.refs++;
      return cached;
    }
    const client = (async () => {
      const sock = via ? await forwardOut(via, hop, where) : undefined;
      return this.#connectHop(hop, sock, where, policy, db);
    })();
    const entry: JumpEntry = { key, client, refs: 1 };
    this.#jumps.set(key, entry);
    const forget = () => {
      if (this.#jumps.get(key) === entry) this.#jumps.delete(key);
    };
    client.then((c) => c.on("close", forget), forget);
    return entry;
  }

  #releaseJump(entry: JumpEntry): void {
    if (--entry.refs > 0) return;
    if (this.#jumps.get(entry.key) === entry) this.#jumps.delete(entry.key);
    entry.client.then((c) => c.end(), () => undefined);
  }

  #connectHop(hop: Hop, sock: Duplex | undefined, where: string, policy: HostKeyPolicy, db: KnownHostsDb): Promise<Client> {
    const auth = this.#auth(hop, where);
    const knownTypes = knownKeyTypes(db.entries, hop.address, hop.port);
    const algos = hostKeyAlgorithmsFor(knownTypes, SSH2_HOST_KEY_ALGORITHMS);
    let verdict: Verdict | undefined;
    let recordFailure: unknown;

    const hostVerifier = (key: Buffer): boolean => {
      const keyType = keyTypeOfBlob(key) ?? "unknown";
      const check = checkHostKey(db.entries, hop.address, hop.port, keyType, key);
      verdict = { ...check, keyType, offeredFingerprint: fingerprintSha256(key) };
      if (check.status === "match") return true;
      if (check.status === "unknown" && policy.acceptNew) {
        const file = policy.knownHostsFiles[0];
        if (file === undefined) {
          recordFailure = new Error("no known_hosts file is configured to record it in");
          return false;
        }
        try {
          db.entries.push(recordHostKey(file, hop.address, hop.port, key));
          return true;
        } catch (e) {
          recordFailure = e;
          return false;
        }
      }
      return false;
    };

    const cfg: ConnectConfig = {
      host: hop.address,
      port: hop.port,
      username: hop.user,
      readyTimeout: hop.connectTimeoutMs,
      keepaliveInterval: this.#opts.keepaliveIntervalMs,
      keepaliveCountMax: this.#opts.keepaliveCountMax,
      hostVerifier,
      ...auth.config,
      ...(algos ? { algorithms: { serverHostKey: algos as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] } } : {}),
      ...(sock ? { sock } : {}),
    };

    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(
          connectError(err, { where, hop, verdict, recordFailure, methods: auth.methods, knownTypes, restricted: !!algos, policy }),
        );
        client.end();
      };
      if (auth.password !== undefined) {
        const pw = auth.password;
        client.on("keyboard-interactive", (_n, _i, _l, prompts, finish) => finish(prompts.map(() => pw)));
      }
      client.on("error", fail);
      client.on("close", () => fail(new Error("the connection closed during login")));
      client.on("ready", () => {
        if (settled) return;
        settled = true;
        resolve(client);
      });
      try {
        client.connect(cfg);
      } catch (e) {
        fail(e);
      }
    });
  }

  #auth(hop: Hop, where: string): { config: Partial<ConnectConfig>; methods: string[]; password: string | undefined } {
    const config: Partial<ConnectConfig> = {};
    const methods: string[] = [];
    let password: string | undefined;
    if (hop.keyFile !== undefined) {
      config.privateKey = readPrivateKey(hop.keyFile, where, true);
      methods.push(`publickey (${hop.keyFile})`);
    }
    if (hop.agent !== undefined) {
      config.agent = hop.agent;
      methods.push(`agent (${hop.agent})`);
    }
    if (hop.password !== undefined) {
      password = hop.password.reveal();
      config.password = password;
      config.tryKeyboard = true;
      methods.push("password");
    }
    if (methods.length === 0) {
      // Like ssh(1) with no -i: the agent, then the first default identity that needs no passphrase.
      if (this.#opts.defaultAgent) {
        config.agent = this.#opts.defaultAgent;
        methods.push(`agent (${this.#opts.defaultAgent})`);
      }
      for (const f of this.#opts.defaultIdentityFiles) {
        if (!existsSync(f)) continue;
        const key = readPrivateKey(f, where, false);
        if (key) {
          config.privateKey = key;
          methods.push(`publickey (${f})`);
          break;
        }
      }
    }
    if (methods.length === 0) {
      throw sshError(
        SshError.AuthFailed,
        `${where}: no way to log in: no key file, agent or password is configured, SSH_AUTH_SOCK is unset and there is no usable ~/.ssh/id_* key`,
        "set ssh_key, ssh_agent or a password for this host in the inventory",
      );
    }
    return { config, methods, password };
  }
}

function readPrivateKey(file: string, where: string, required: true): Buffer;
function readPrivateKey(file: string, where: string, required: false): Buffer | undefined;
function readPrivateKey(file: string, where: string, required: boolean): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if (!required) return undefined;
    throw sshError(SshError.KeyFileUnreadable, `${where}: cannot read the private key ${file}: ${(e as Error).message}`, "check the ssh_key path and its permissions", e);
  }
  const parsed = utils.parseKey(data);
  if (parsed instanceof Error) {
    if (!required) return undefined;
    if (/passphrase|encrypted/i.test(parsed.message)) {
      throw sshError(
        SshError.KeyEncrypted,
        `${where}: the private key ${file} is protected by a passphrase, and lvsctl does not ask for passphrases`,
        `load it into ssh-agent (ssh-add ${file}) and log in through the agent (SSH_AUTH_SOCK or ssh_agent), or use a key without a passphrase`,
        parsed,
      );
    }
    throw sshError(SshError.KeyFileUnreadable, `${where}: ${file} is not a private key lvsctl can read: ${parsed.message}`, "point ssh_key at an OpenSSH or PEM private key", parsed);
  }
  return data;
}

function forwardOut(via: Client, to: Hop, where: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut("127.0.0.1", 0, to.address, to.port, (err, stream) => {
      if (err) {
        reject(
          sshError(
            SshError.ConnectFailed,
            `${where}: the jump host could not open a tunnel to ${to.address}:${to.port}: ${err.message}`,
            "check that the address is reachable from the jump host and that its sshd allows TCP forwarding (AllowTcpForwarding)",
            err,
          ),
        );
      } else resolve(stream);
    });
  });
}

type Verdict = HostKeyCheck & { keyType: string; offeredFingerprint: string };

interface ConnectErrorContext {
  where: string;
  hop: Hop;
  verdict: Verdict | undefined;
  recordFailure: unknown;
  methods: string[];
  knownTypes: string[];
  restricted: boolean;
  policy: HostKeyPolicy;
}

function connectError(err: unknown, c: ConnectErrorContext): LvsctlError {
  if (err instanceof LvsctlError) return err;
  const e = err as Error & { level?: string; code?: string };
  const name = knownHostName(c.hop.address, c.hop.port);
  const firstFile = c.policy.knownHostsFiles[0] ?? "~/.ssh/known_hosts";
  if (c.recordFailure !== undefined) {
    return sshError(
      SshError.KnownHostsWriteFailed,
      `${c.where}: cannot record the new host key in ${firstFile}: ${(c.recordFailure as Error).message}`,
      "make the known_hosts file writable, or add the key yourself",
      c.recordFailure,
    );
  }
  const v = c.verdict;
  if (v && v.status !== "match") {
    if (v.status === "changed") {
      const expected = v.expected.map((x) => `${x.fingerprint} (${x.file}:${x.line})`).join(", ");
      const files = [...new Set(v.expected.map((x) => x.file))];
      return sshError(
        SshError.HostKeyChanged,
        `${c.where}: REMOTE HOST KEY CHANGED for ${name}: offered ${v.keyType} ${v.offered}, expected ${expected}. ` +
          "Refusing to connect: someone could be intercepting the connection, or the host was reinstalled",
        `if you know the host was reinstalled, remove the old key with ${files
          .map((f) => `\`ssh-keygen -R '${name}' -f ${f}\``)
          .join(" and ")}, check the new fingerprint out of band, then run again with --accept-new-host-keys`,
        err,
      );
    }
    if (v.status === "revoked") {
      return sshError(
        SshError.HostKeyRevoked,
        `${c.where}: the host key ${v.keyType} ${v.offered} of ${name} is marked @revoked in ${v.at.file}:${v.at.line}; refusing to connect`,
        "the host must get a new host key; do not remove the @revoked line unless you know why it is there",
        err,
      );
    }
    const offered = `${v.keyType} ${v.offeredFingerprint}`;
    const notes = v.notes.length > 0 ? ` (${v.notes.join("; ")})` : "";
    return sshError(
      SshError.HostKeyUnknown,
      `${c.where}: the host key of ${name} is not in ${c.policy.knownHostsFiles.join(" or ")}${notes}; refusing to connect (offered: ${offered})`,
      `check the fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${shortType(v.keyType)}_key.pub), then run again with --accept-new-host-keys to record it in ${firstFile}`,
      err,
    );
  }
  if (e.level === "client-timeout" || e.code === "ETIMEDOUT") {
    return sshError(
      SshError.ConnectTimeout,
      `${c.where}: no SSH login within ${c.hop.connectTimeoutMs} ms (${e.message})`,
      "check that the host is up, the address and port are right and no firewall drops the packets; raise the connect timeout for slow hosts",
      err,
    );
  }
  switch (e.code) {
    case "ECONNREFUSED":
      return sshError(SshError.ConnectRefused, `${c.where}: connection refused`, "sshd is not listening on that address and port; check the port in the inventory and that sshd runs", err);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return sshError(SshError.HostUnreachable, `${c.where}: ${e.message}`, "no route to the host; check the address and the network", err);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return sshError(SshError.DnsFailed, `${c.where}: cannot resolve ${c.hop.address}`, "check the host name or use an address", err);
  }
  if (e.level === "client-authentication") {
    return sshError(
      SshError.AuthFailed,
      `${c.where}: authentication failed for user ${c.hop.user} (tried: ${c.methods.join(", ")})`,
      "check the user, that the public key is in the user's authorized_keys or the password is right, and sshd's MaxAuthTries (an agent holding many keys can exhaust it)",
      err,
    );
  }
  if (e.level === "handshake" || e.level === "protocol") {
    const why = c.restricted
      ? ` (lvsctl only accepts the key types known for this host: ${c.knownTypes.join(", ")})`
      : "";
    return sshError(
      SshError.HandshakeFailed,
      `${c.where}: SSH handshake failed: ${e.message}${why}`,
      c.restricted
        ? `if the host's key type really changed, remove the old entries with \`ssh-keygen -R '${name}'\` and run again with --accept-new-host-keys`
        : "check that the server speaks a key exchange and cipher that ssh2 supports",
      err,
    );
  }
  return sshError(SshError.ConnectFailed, `${c.where}: ${e.message}`, "check the host, port and network", err);
}

function shortType(keyType: string): string {
  if (keyType === "ssh-ed25519") return "ed25519";
  if (keyType.startsWith("ecdsa")) return "ecdsa";
  if (keyType === "ssh-rsa") return "rsa";
  return "*";
}

function firstLine(cmd: string, max = 120): string {
  const one = cmd.split("\n")[0] ?? "";
  return one.length > max || cmd.includes("\n") ? one.slice(0, max) + " ..." : one;
}

/** One host's connection: ssh2 Client + channel cap + become state. */
export class SshConnection implements HostConnection {
  readonly host: string;
  readonly #target: ConnectTarget;
  readonly #client: Client;
  readonly #channels: Semaphore;
  readonly #releaseJumps: () => void;
  readonly #markers: SudoMarkers;
  readonly #pending = new Set<(err: LvsctlError) => void>();
  #become: Promise<BecomeMode> | undefined;
  #lost: LvsctlError | undefined;
  #closing = false;
  #opened = 0;
  #retries = 0;
  #closed: Promise<void>;

  constructor(target: ConnectTarget, client: Client, maxChannels: number, releaseJumps: () => void) {
    this.host = target.name;
    this.#target = target;
    this.#client = client;
    this.#channels = new Semaphore(maxChannels);
    this.#releaseJumps = releaseJumps;
    this.#markers = makeSudoMarkers(randomBytes(8).toString("hex"));
    let reason = "the connection closed";
    client.on("error", (e: Error) => {
      reason = e.message;
    });
    this.#closed = new Promise((resolve) => {
      client.on("close", () => {
        this.#lost ??= sshError(
          SshError.ConnectionLost,
          `${this.host}: the SSH connection was lost (${reason})`,
          "the host went down or the network dropped; re-run to converge (half-written files are never left in place)",
        );
        for (const reject of [...this.#pending]) reject(this.#lost);
        this.#pending.clear();
        this.#releaseJumps();
        resolve();
      });
    });
  }

  stats(): ConnectionStats {
    return {
      openChannels: this.#channels.inUse,
      peakChannels: this.#channels.peak,
      channelsOpened: this.#opened,
      channelOpenRetries: this.#retries,
    };
  }

  async exec(cmd: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const rendered = renderWithEnv(cmd, opts.env);
    const mode = opts.become ? await this.#becomeMode() : undefined;
    return this.#run(rendered, mode, opts);
  }

  async putFile(path: string, content: Buffer | string, opts: PutOptions & { validate?: ValidateArgv }): Promise<void> {
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const script = putFileScript({
      path,
      size: data.length,
      mode: opts.mode,
      token: randomBytes(6).toString("hex"),
      ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
      ...(opts.group !== undefined ? { group: opts.group } : {}),
      ...(opts.validate !== undefined ? { validate: opts.validate } : {}),
    });
    const r = await this.exec(script, { stdin: data, ...(opts.become ? { become: true } : {}) });
    if (r.code === 0) return;
    const output = r.stderr.toString("utf8").trim();
    if (r.code === PutExit.Validate) {
      throw putValidateError(this.host, opts.validate, path, output);
    }
    throw sshError(
      SshError.PutFailed,
      `${this.host}: writing ${path} failed: ${describePutExit(r.code)}` + (output ? `: ${output}` : ""),
      r.code === PutExit.Write
        ? "check that the directory exists and that the login user can write there, or set become"
        : "see the message above; the old file is unchanged",
    );
  }

  openLoopback(port: number, opts: { timeoutMs?: number } = {}): Promise<Duplex> {
    if (this.#lost) return Promise.reject(this.#lost);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const onLost = (err: LvsctlError) => settle(() => reject(err));
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#pending.delete(onLost);
        f();
      };
      const timer = setTimeout(
        () => settle(() => reject(sshError(SshError.ForwardFailed, `${this.host}: no answer within ${timeoutMs} ms to a channel to 127.0.0.1:${port} on the host`, "check that the host is not overloaded and that sshd allows TCP forwarding"))),
        timeoutMs,
      );
      this.#pending.add(onLost);
      try {
        // The originator address and port are informational (RFC 4254 7.2); sshd connects from the host itself.
        this.#client.forwardOut("127.0.0.1", 0, "127.0.0.1", port, (err, stream) => {
          if (err) {
            settle(() =>
              reject(
                sshError(
                  SshError.ForwardFailed,
                  `${this.host}: cannot reach 127.0.0.1:${port} on the host through SSH: ${err.message}`,
                  /prohibit/i.test(err.message)
                    ? "sshd on the host forbids TCP forwarding: set AllowTcpForwarding local (or yes) for the login user"
                    : `nothing answers on 127.0.0.1:${port} there: is the daemon running, and is that its status port?`,
                  err,
                ),
              ),
            );
          } else if (settled) stream.destroy();
          else settle(() => resolve(stream));
        });
      } catch (e) {
        settle(() => reject(this.#lost ?? sshError(SshError.ConnectionLost, `${this.host}: the SSH connection is gone (${(e as Error).message})`, "re-run", e)));
      }
    });
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#lost ??= closedByLvsctlError(this.host);
      this.#client.end();
    }
    // ssh2 emits close once the socket is gone; do not wait forever on a dead peer.
    await Promise.race([this.#closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.#client.destroy();
  }

  #becomeMode(): Promise<BecomeMode> {
    this.#become ??= this.#probeBecome();
    return this.#become;
  }

  async #probeBecome(): Promise<BecomeMode> {
    const user = this.#target.become?.user ?? "root";
    if (user === this.#target.user) return { kind: "direct" };
    const r = await this.#run(renderCommand(sudoProbeCommand(user)), undefined, {});
    const stderr = r.stderr.toString("utf8").trim();
    const verdict = classifySudoProbe(r.code, stderr);
    const password = this.#target.become?.password;
    switch (verdict) {
      case "nopasswd":
        return { kind: "nopasswd", user };
      case "password-required":
        if (password) return { kind: "password", user, password };
        throw sshError(
          SshError.BecomePasswordRequired,
          `${this.host}: sudo to ${user} needs a password for ${this.#target.user} and none is configured`,
          "give the become password (environment variable or prompt), or allow NOPASSWD for this user in sudoers",
        );
      case "no-sudo":
        throw sshError(SshError.BecomeNoSudo, `${this.host}: sudo is not installed (${stderr})`, "install sudo on the host, or log in as root");
      case "requiretty":
        throw sshError(
          SshError.BecomeFailed,
          `${this.host}: sudo requires a terminal here (Defaults requiretty): ${stderr}`,
          `lvsctl runs commands without a pty; drop requiretty for ${this.#target.user} (e.g. \`Defaults:${this.#target.user} !requiretty\` in sudoers), or log in as root`,
        );
      case "denied":
        throw sshError(SshError.BecomeDenied, `${this.host}: ${this.#target.user} may not use sudo to become ${user}: ${stderr}`, "add the user to sudoers (e.g. the sudo group)");
      default:
        throw sshError(SshError.BecomeFailed, `${this.host}: the sudo probe failed (exit ${r.code}): ${stderr}`, "run `sudo -n true` on the host as the login user to see why");
    }
  }

  async #run(rendered: string, mode: BecomeMode | undefined, opts: ExecOptions): Promise<ExecResult> {
    if (this.#lost) throw this.#lost;
    const line = mode ? becomeCommandLine(rendered, mode, this.#markers) : rendered;
    const release = await this.#channels.acquire();
    try {
      return await this.#channel(line, rendered, mode, opts, release);
    } catch (e) {
      if (e instanceof LvsctlError && e.code === SshError.BecomePasswordWrong) {
        // One wrong password is enough: do not retry it on every command and lock the account.
        const stop = Promise.reject(e);
        stop.catch(() => undefined);
        this.#become = stop;
      }
      throw e;
    }
  }

  /**
   * One channel. The semaphore slot is held until the channel closes (or the connection is lost),
   * even when the caller was already answered by a timeout, so at most `max` are ever open.
   */
  #channel(line: string, shown: string, mode: BecomeMode | undefined, opts: ExecOptions, releaseSlot: () => void): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        fn();
      };
      const release = () => {
        this.#pending.delete(onLost);
        releaseSlot();
      };
      const onLost = (err: LvsctlError) => {
        release();
        settle(() => reject(err));
      };
      if (this.#lost) return onLost(this.#lost);
      this.#pending.add(onLost);

      let attempt = 0;
      /** Ask for the channel (again, after a refusal); onChannel handles the answer. */
      const open = () => {
        try {
          this.#client.exec(line, onChannel);
        } catch (e) {
          // ssh2 throws synchronously when the socket is already gone.
          onLost(this.#lost ?? sshError(SshError.ConnectionLost, `${this.host}: the SSH connection is gone (${(e as Error).message})`, "re-run to converge", e));
        }
      };
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err && !this.#lost && attempt < CHANNEL_OPEN_RETRIES_MS.length) {
          // sshd frees a closed session only after the batch of packets it arrived in, so an open
          // right behind a close can be refused ("no more sessions") though we hold < MaxSessions.
          const wait = CHANNEL_OPEN_RETRIES_MS[attempt++]!;
          this.#retries++;
          setTimeout(() => {
            if (this.#lost) return onLost(this.#lost);
            open();
          }, wait);
          return;
        }
        if (err) {
          release();
          settle(() =>
            reject(
              this.#lost ??
                sshError(
                  SshError.ChannelFailed,
                  `${this.host}: cannot open a channel for \`${firstLine(shown)}\` (${attempt + 1} tries): ${err.message}`,
                  "sshd refused a new session; check MaxSessions in its sshd_config (lvsctl opens at most 8 at once)",
                  err,
                ),
            ),
          );
          return;
        }
        this.#opened++;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const sudoSaid: Buffer[] = [];
        let exitCode: number | null = null;
        let exitSignal: string | undefined;
        let timedOut = false;
        const stdin = opts.stdin === undefined ? undefined : typeof opts.stdin === "string" ? Buffer.from(opts.stdin) : opts.stdin;
        const password = mode?.kind === "password" ? mode.password : undefined;
        const scanner = password ? new StderrMarkerScanner(this.#markers) : undefined;
        let prompts = 0;
        let started = false;
        let wrongPassword = false;

        const writePayload = () => {
          if (stdin !== undefined && stdin.length > 0) ch.end(stdin);
          else ch.end();
        };
        const takeStderr = (d: Buffer) => {
          if (d.length === 0) return;
          errOut.push(d);
          opts.onStderr?.(d);
        };

        if (opts.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            timedOut = true;
            try {
              ch.signal("KILL");
            } catch {
              /* the server may not support signals; closing the channel is enough */
            }
            ch.close();
            settle(() =>
              reject(
                sshError(
                  SshError.ExecTimeout,
                  `${this.host}: \`${firstLine(shown)}\` did not finish within ${opts.timeoutMs} ms; it was killed`,
                  "raise the task's timeout, or check why the command hangs (is it waiting for input?)",
                ),
              ),
            );
          }, opts.timeoutMs);
        }

        ch.on("data", (d: Buffer) => {
          out.push(d);
          opts.onStdout?.(d);
        });
        ch.stderr.on("data", (d: Buffer) => {
          if (!scanner) return takeStderr(d);
          // Before the command starts, stderr is sudo's (lecture, "Sorry, try again"): kept for
          // the error message, not mixed into the command's output.
          const r = scanner.push(d);
          sudoSaid.push(r.before);
          takeStderr(r.after);
          for (const hit of r.hits) {
            if (hit === "prompt") {
              prompts++;
              // sudo asks again only when the password was wrong: stop feeding it.
              if (prompts === 1) ch.write(password!.reveal() + "\n");
              else {
                wrongPassword = true;
                ch.end();
              }
            } else {
              started = true;
              writePayload();
            }
          }
        });
        ch.on("exit", (code: number | null, signal?: string) => {
          exitCode = code;
          if (signal) exitSignal = signal;
        });
        ch.on("close", () => {
          release();
          if (scanner) (started ? takeStderr : (b: Buffer) => sudoSaid.push(b))(scanner.flush());
          if (timedOut) return;
          const stderr = Buffer.concat(errOut);
          if (password && !started) {
            const text = Buffer.concat([...sudoSaid, stderr]).toString("utf8").trim();
            settle(() =>
              reject(
                wrongPassword || /incorrect password|Sorry, try again/i.test(text)
                  ? sshError(
                      SshError.BecomePasswordWrong,
                      `${this.host}: sudo rejected the become password for ${this.#target.user}`,
                      "check the become password; lvsctl stops using sudo on this host after one wrong password so the account is not locked",
                    )
                  : sshError(
                      SshError.BecomeFailed,
                      `${this.host}: sudo did not run \`${firstLine(shown)}\`: ${text || `exit ${exitCode}`}`,
                      "run the command with sudo on the host as the login user to see why",
                    ),
              ),
            );
            return;
          }
          const result: ExecResult = { code: exitCode, stdout: Buffer.concat(out), stderr };
          if (exitSignal !== undefined) result.signal = exitSignal;
          settle(() => resolve(result));
        });

        if (!password) writePayload();
      };
      open();
    });
  }
}
