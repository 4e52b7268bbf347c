// The SSH engine against real OpenSSH sshd instances on 127.0.0.1 (high ports), each with its own
// config, TEST-ONLY host keys and authorized_keys in a temp dir. Needs root (sshd, throwaway users
// for password and sudo tests, which are removed again in `finally`). Only loopback is used.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { LvsctlError, Secret } from "../../src/errors/index.js";
import { SshConnector, type SshConnection } from "../../src/ssh/connection.js";
import { SshError } from "../../src/ssh/errors.js";
import { fingerprintSha256 } from "../../src/ssh/known-hosts.js";
import type { ConnectTarget, HostKeyPolicy } from "../../src/ssh/types.js";
import { sh as script, shellCode } from "../../src/command/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/ssh/", import.meta.url));
const SSHD = "/usr/sbin/sshd";

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root: starts sshd and creates throwaway users";
  if (!existsSync(SSHD)) return "needs OpenSSH's sshd at /usr/sbin/sshd (apt-get install openssh-server)";
  for (const tool of ["useradd", "userdel", "chpasswd", "sudo", "ssh"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  return undefined;
}

const sh = (cmd: string) => {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitPort(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect(port, "127.0.0.1");
      c.on("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`sshd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Sshd {
  name: string;
  port: number;
  proc: ChildProcess;
  log: () => string;
  hostKeys: string[]; // public key files
}

class Lab {
  dir = mkdtempSync(join(tmpdir(), "lvsctl-ssh-lab-"));
  sshds: Sshd[] = [];
  users: string[] = [];
  sudoers = `/etc/sudoers.d/lvsctl-test-${randomBytes(3).toString("hex")}`;
  tag = randomBytes(2).toString("hex");
  conns: SshConnection[] = [];
  servers: Server[] = [];
  procs: ChildProcess[] = [];
  netns: string[] = [];
  sockets: Socket[] = [];

  constructor() {
    Lab.removeStale();
    chmodSync(this.dir, 0o755);
    copyFileSync(fixtures + "test-only-client-ed25519", join(this.dir, "client_key"));
    chmodSync(join(this.dir, "client_key"), 0o600);
    writeFileSync(join(this.dir, "authorized_keys"), readFileSync(fixtures + "test-only-client-ed25519.pub"));
    chmodSync(join(this.dir, "authorized_keys"), 0o644);
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  }

  /** Throwaway users and sudoers files left by a run that was killed before its cleanup. */
  static removeStale() {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [user, , , , , home] = line.split(":");
      if (user && home && /^lvt-(np|pw)-[0-9a-f]{4}$/.test(user) && home.includes("lvsctl-ssh-lab-") && !existsSync(home)) {
        spawnSync("userdel", ["-f", user]);
        rmSync(`/run/sudo/ts/${user}`, { force: true });
      }
    }
    for (const f of readdirSync("/etc/sudoers.d")) {
      if (!f.startsWith("lvsctl-test-")) continue;
      const names = readFileSync(join("/etc/sudoers.d", f), "utf8").match(/^lvt-(np|pw)-[0-9a-f]{4}/gm) ?? [];
      if (names.every((u) => spawnSync("id", [u]).status !== 0)) rmSync(join("/etc/sudoers.d", f), { force: true });
    }
  }

  get clientKey() {
    return join(this.dir, "client_key");
  }

  async sshd(name: string, keys: string[], logLevel = "VERBOSE"): Promise<Sshd> {
    const port = await freePort();
    const keyLines = keys.map((k) => {
      const dst = join(this.dir, `${name}_${k}`);
      copyFileSync(fixtures + k, dst);
      chmodSync(dst, 0o600);
      return `HostKey ${dst}`;
    });
    const conf = join(this.dir, `sshd_${name}.conf`);
    writeFileSync(
      conf,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        ...keyLines,
        `PidFile ${join(this.dir, `sshd_${name}.pid`)}`,
        `AuthorizedKeysFile ${join(this.dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin yes",
        // Equal to our cap (OpenSSH's default is 10): a 9th open channel would be refused. sshd
        // frees closed sessions lazily, so this also exercises the channel-open retry.
        "MaxSessions 8",
        "AllowTcpForwarding yes",
        // DEBUG1 logs each direct-tcpip forward (used to prove the jump path); it also sends debug
        // lines to sessions' stderr, so only the jump-only sshds use it.
        `LogLevel ${logLevel}`,
      ].join("\n") + "\n",
    );
    sh(`${SSHD} -t -f ${conf}`);
    // Logs go to a file (-E), not a pipe: a pipe fills while the test blocks in spawnSync, and
    // sshd then blocks writing its log.
    const logFile = join(this.dir, `sshd_${name}.log`);
    const proc = spawn(SSHD, ["-D", "-E", logFile, "-f", conf], { stdio: "ignore" });
    const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
    const s: Sshd = { name, port, proc, log, hostKeys: keys.map((k) => fixtures + k + ".pub") };
    this.sshds.push(s);
    await waitPort(port);
    return s;
  }

  /** A throwaway local user (removed in cleanup), home in the lab dir. */
  user(kind: "np" | "pw", password?: string): string {
    const name = `lvt-${kind}-${this.tag}`;
    const home = join(this.dir, `home-${name}`);
    sh(`useradd -M -d ${home} -s /bin/sh ${name}`);
    this.users.push(name);
    mkdirSync(home, { mode: 0o755 });
    const uid = Number(sh(`id -u ${name}`));
    chownSync(home, uid, uid);
    if (password) spawnSync("chpasswd", { input: `${name}:${password}\n` });
    else sh(`usermod -p '*' ${name}`); // no password, but not locked: key login works
    return name;
  }

  writeSudoers(lines: string[]) {
    writeFileSync(this.sudoers, lines.join("\n") + "\n", { mode: 0o440 });
    sh(`visudo -cf ${this.sudoers}`);
  }

  knownHosts(lines: string[] = []): string {
    const f = join(this.dir, `known_hosts_${randomBytes(3).toString("hex")}`);
    writeFileSync(f, lines.map((l) => l + "\n").join(""));
    return f;
  }

  /** `[127.0.0.1]:port keytype base64` for an sshd's host key(s). */
  khLines(s: Pick<Sshd, "port" | "hostKeys">, which?: string): string[] {
    return s.hostKeys
      .filter((p) => which === undefined || p.includes(which))
      .map((p) => `[127.0.0.1]:${s.port} ${readFileSync(p, "utf8").split(" ").slice(0, 2).join(" ")}`);
  }

  async cleanup() {
    await Promise.allSettled(this.conns.map((c) => c.close()));
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    for (const s of this.sshds) if (s.proc.exitCode === null) s.proc.kill("SIGTERM");
    for (const p of this.procs) if (p.exitCode === null) p.kill("SIGTERM");
    for (const ns of this.netns) spawnSync("ip", ["netns", "del", ns]);
    for (const u of this.users) {
      spawnSync("pkill", ["-KILL", "-u", u]); // only this run's throwaway users' processes
      spawnSync("userdel", ["-f", u]);
      rmSync(`/run/sudo/ts/${u}`, { force: true });
      rmSync(`/var/lib/sudo/lectured/${u}`, { force: true });
    }
    rmSync(this.sudoers, { force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function target(name: string, port: number, over: Partial<ConnectTarget> = {}): ConnectTarget {
  return { name, address: "127.0.0.1", port, user: "root", jump: [], connectTimeoutMs: 5000, ...over };
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LvsctlError, `expected LvsctlError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message + "\n" + (e.hint ?? ""), re);
  return true;
};

/** A TCP relay on 127.0.0.1 that can freeze (stop forwarding, keep sockets) or cut every socket. */
async function relay(lab: Lab, toPort: number) {
  let frozen = false;
  const pairs: [Socket, Socket][] = [];
  const server = createServer((a) => {
    const b = tcpConnect(toPort, "127.0.0.1");
    lab.sockets.push(a, b);
    pairs.push([a, b]);
    a.on("data", (d) => { if (!frozen) b.write(d); });
    b.on("data", (d) => { if (!frozen) a.write(d); });
    a.on("error", () => b.destroy());
    b.on("error", () => a.destroy());
    a.on("close", () => b.destroy());
    b.on("close", () => a.destroy());
  });
  lab.servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => { frozen = true; },
    cut: () => pairs.forEach(([a, b]) => { a.destroy(); b.destroy(); }),
  };
}

test("SSH engine against real OpenSSH sshd", { timeout: 180_000 }, async (t: TestContext) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const lab = new Lab();
  try {
    const a = await lab.sshd("a", ["test-only-host-a-ed25519", "test-only-host-a-ecdsa"]);
    const b = await lab.sshd("b", ["test-only-host-b-ed25519"]);
    const c = await lab.sshd("c", ["test-only-host-a-rsa"], "DEBUG1");
    const j = await lab.sshd("j", ["test-only-host-a-ed25519"], "DEBUG1");
    const trusted: HostKeyPolicy = {
      knownHostsFiles: [lab.knownHosts([...lab.khLines(a), ...lab.khLines(b), ...lab.khLines(c), ...lab.khLines(j)])],
      acceptNew: false,
    };
    const connector = new SshConnector({ defaultAgent: undefined, defaultIdentityFiles: [] });
    const open = async (tg: ConnectTarget, policy = trusted, conn = connector) => {
      const x = await conn.connect(tg, policy);
      lab.conns.push(x);
      return x;
    };
    const root = await open(target("a", a.port, { keyFile: lab.clientKey }));
    // Throwaway users with /bin/sh as login shell: this machine's root runs bash, which sources a
    // heavy ~/.bashrc for every SSH command (about 100 processes), so timings use `np`.
    const PW = "test-only-Pa55";
    const np = lab.user("np");
    const pwUser = lab.user("pw", PW);
    lab.writeSudoers([`${np} ALL=(ALL) NOPASSWD: ALL`, `${pwUser} ALL=(ALL) ALL`]);
    const npConn = await open(target("a", a.port, { user: np, keyFile: lab.clientKey, become: { user: "root" } }));

    await t.test("exec: exit codes, stdout/stderr, stdin, env, signals", async () => {
      assert.equal((await root.exec({ argv: ["true"] })).code, 0);
      const r = await root.exec(shellCode("echo out; echo err >&2; exit 3"));
      assert.deepEqual([r.code, r.stdout.toString(), r.stderr.toString()], [3, "out\n", "err\n"]);
      const cat = await root.exec({ argv: ["cat"] }, { stdin: Buffer.alloc(300_000, 7) });
      assert.equal(cat.stdout.length, 300_000);
      assert.equal((await root.exec({ argv: ["cat"] })).stdout.length, 0, "stdin is closed when none is given");
      assert.equal((await root.exec(shellCode('printf %s "$A"'), { env: { A: "x y'z" } })).stdout.toString(), "x y'z");
      const k = await root.exec(shellCode("kill -9 $$"));
      assert.equal(k.code, null);
      assert.equal(k.signal, "SIGKILL");
      await assert.rejects(
        root.exec({ argv: ["sleep", "5"] }, { timeoutMs: 300 }),
        isCode(SshError.ExecTimeout, /^a: `sleep 5` did not finish within 300 ms/),
      );
    });

    await t.test("30 concurrent execs on one connection: all succeed, at most 8 channels open", async () => {
      const f = join(lab.dir, `home-${np}`, "concurrency.log");
      const conn = npConn;
      const before = conn.stats().channelsOpened;
      const started = Date.now();
      const rs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => conn.exec(script`echo s >> ${f}; sleep 0.2; echo e >> ${f}; echo ${i}`)),
      );
      const ms = Date.now() - started;
      rs.forEach((r, i) => assert.deepEqual([r.code, r.stdout.toString()], [0, `${i}\n`]));
      let now = 0;
      let max = 0;
      for (const l of readFileSync(f, "utf8").trim().split("\n")) {
        now += l === "s" ? 1 : -1;
        max = Math.max(max, now);
      }
      assert.ok(max <= 8 && max >= 2, `server-side concurrency ${max}`);
      assert.ok(conn.stats().peakChannels <= 8, `client peak ${conn.stats().peakChannels}`);
      assert.equal(conn.stats().channelsOpened - before, 30);
      t.diagnostic(`30 x sleep 0.2 on one connection: ${ms} ms, max concurrent seen by the server ${max}, client peak ${conn.stats().peakChannels}, refused opens retried ${conn.stats().channelOpenRetries}`);
    });

    await t.test("putFile: atomic, mode and owner, failing validate keeps the old file", async () => {
      const d = join(lab.dir, "etc");
      mkdirSync(d, { mode: 0o755 });
      const p = join(d, "app.conf");
      await root.putFile(p, "v1\n", { mode: 0o640, owner: "nobody", group: "nogroup" });
      const st = statSync(p);
      assert.equal(readFileSync(p, "utf8"), "v1\n");
      assert.equal(st.mode & 0o7777, 0o640);
      assert.equal(st.uid, Number(sh("id -u nobody")));
      const inodeBefore = st.ino;
      await assert.rejects(
        root.putFile(p, "broken\n", { mode: 0o644, validate: ["sh", "-c", `grep -q '^v' "$1" || { echo "line 1: expected v, got $(cat "$1")"; exit 1; }`, "sh", "%s"] }),
        isCode(SshError.PutValidateFailed, /old file is unchanged:\nline 1: expected v, got broken/),
      );
      assert.equal(readFileSync(p, "utf8"), "v1\n");
      assert.equal(statSync(p).ino, inodeBefore);
      await root.putFile(p, "v2\n", { mode: 0o600, validate: ["grep", "-q", "^v", "%s"] });
      assert.equal(readFileSync(p, "utf8"), "v2\n");
      assert.notEqual(statSync(p).ino, inodeBefore, "replaced by rename, not rewritten in place");
      assert.deepEqual(readdirSync(d), ["app.conf"], "no temp file left");
      await assert.rejects(root.putFile(join(lab.dir, "missing", "x"), "x", { mode: 0o644 }), isCode(SshError.PutFailed, /temp file beside the target/));
    });

    await t.test("putFile: a connection that dies mid-upload leaves the old file and no temp", async () => {
      const rl = await relay(lab, a.port);
      const conn = await open(target("a-relayed", rl.port, { keyFile: lab.clientKey }), { knownHostsFiles: [lab.knownHosts(lab.khLines({ ...a, port: rl.port }))], acceptNew: false });
      const d = join(lab.dir, "cut");
      mkdirSync(d);
      const p = join(d, "big.bin");
      writeFileSync(p, "old");
      const put = conn.putFile(p, Buffer.alloc(64 * 1024 * 1024, 1), { mode: 0o644 });
      // cut once the temp file exists and is growing
      for (let i = 0; i < 200 && !readdirSync(d).some((n) => n.includes(".lvsctl-tmp-")); i++) await new Promise((r) => setTimeout(r, 10));
      rl.cut();
      await assert.rejects(put, isCode(SshError.ConnectionLost, /^a-relayed: the SSH connection was lost/));
      for (let i = 0; i < 100 && readdirSync(d).length > 1; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(readdirSync(d), ["big.bin"]);
      assert.equal(readFileSync(p, "utf8"), "old");
      await assert.rejects(conn.exec({ argv: ["true"] }), isCode(SshError.ConnectionLost));
    });

    await t.test("known_hosts: unknown refused, accept-new records then passes, changed refused", async () => {
      const empty = lab.knownHosts();
      await assert.rejects(
        open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [empty], acceptNew: false }),
        isCode(SshError.HostKeyUnknown, /--accept-new-host-keys/),
      );
      assert.equal(readFileSync(empty, "utf8"), "", "nothing recorded without accept-new");
      const fresh = join(lab.dir, "newhome", ".ssh", "known_hosts");
      const c1 = await open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [fresh], acceptNew: true }, new SshConnector({ defaultIdentityFiles: [] }));
      assert.equal((await c1.exec({ argv: ["true"] })).code, 0);
      assert.equal(readFileSync(fresh, "utf8"), lab.khLines(b).join("\n") + "\n");
      assert.equal(statSync(fresh).mode & 0o777, 0o600);
      assert.equal(statSync(join(lab.dir, "newhome", ".ssh")).mode & 0o777, 0o700);
      const c2 = await open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [fresh], acceptNew: false }, new SshConnector({ defaultIdentityFiles: [] }));
      assert.equal((await c2.exec({ argv: ["true"] })).code, 0);
      // entries hashed by ssh-keygen -H work for a real connection
      const hashed = lab.knownHosts(lab.khLines(b));
      sh(`ssh-keygen -q -H -f ${hashed} && rm -f ${hashed}.old`);
      assert.match(readFileSync(hashed, "utf8"), /^\|1\|/);
      const c3 = await open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [hashed], acceptNew: false }, new SshConnector({ defaultIdentityFiles: [] }));
      assert.equal((await c3.exec({ argv: ["true"] })).code, 0);
      // b's port recorded with a's ed25519 key: changed, even with accept-new.
      const wrong = lab.knownHosts(["# header", `[127.0.0.1]:${b.port} ${lab.khLines(a, "ed25519")[0]!.split(" ").slice(1).join(" ")}`]);
      const expected = fingerprintSha256(Buffer.from(readFileSync(fixtures + "test-only-host-a-ed25519.pub", "utf8").split(" ")[1]!, "base64"));
      const offered = fingerprintSha256(Buffer.from(readFileSync(fixtures + "test-only-host-b-ed25519.pub", "utf8").split(" ")[1]!, "base64"));
      await assert.rejects(
        open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [wrong], acceptNew: true }),
        (e: unknown) => {
          isCode(SshError.HostKeyChanged)(e);
          const err = e as LvsctlError;
          assert.ok(err.message.includes(`offered ssh-ed25519 ${offered}`), err.message);
          assert.ok(err.message.includes(`expected ${expected} (${wrong}:2)`), err.message);
          assert.ok(err.hint?.includes(`ssh-keygen -R '[127.0.0.1]:${b.port}' -f ${wrong}`), err.hint);
          return true;
        },
      );
      assert.equal(readFileSync(wrong, "utf8").split("\n").length, 3, "a changed key is never recorded");
    });

    await t.test("known key types restrict the algorithms: a host known by its ecdsa key is not 'unknown'", async () => {
      // sshd a serves ed25519 and ecdsa; ssh2 prefers ed25519, so without the restriction the
      // ecdsa-only entry would not be consulted.
      const onlyEcdsa = lab.knownHosts(lab.khLines(a, "ecdsa"));
      const x = await open(target("a", a.port, { keyFile: lab.clientKey }), { knownHostsFiles: [onlyEcdsa], acceptNew: false });
      assert.equal((await x.exec({ argv: ["true"] })).code, 0);
      // and a host whose only known type it does not serve fails the handshake with a clear reason
      const rsaForB = lab.knownHosts([`[127.0.0.1]:${b.port} ${lab.khLines(c)[0]!.split(" ").slice(1).join(" ")}`]);
      await assert.rejects(
        open(target("b", b.port, { keyFile: lab.clientKey }), { knownHostsFiles: [rsaForB], acceptNew: true }),
        isCode(SshError.HandshakeFailed, /only accepts the key types known for this host: ssh-rsa/),
      );
    });

    await t.test("auth: passphrase key refused naming the file; wrong password; password login", async () => {
      const enc = fixtures + "test-only-client-passphrase-ed25519";
      await assert.rejects(open(target("a", a.port, { keyFile: enc })), isCode(SshError.KeyEncrypted, new RegExp(`${enc.replace(/[.]/g, "\\.")}.*passphrase[^]*ssh-add`)));
      await assert.rejects(
        open(target("a", a.port, { user: pwUser, password: new Secret("wrong") })),
        (e: unknown) => isCode(SshError.AuthFailed, new RegExp(`user ${pwUser} \\(tried: password\\)`))(e) && !String((e as Error).message).includes("wrong"),
      );
      const pw = await open(target("a", a.port, { user: pwUser, password: new Secret(PW) }));
      assert.equal((await pw.exec({ argv: ["id", "-un"] })).stdout.toString().trim(), pwUser);
      // what the KeyEncrypted hint says to do: load the key into an agent and log in through it
      const sock = join(lab.dir, "agent.sock");
      const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
      lab.procs.push(agent);
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      const askpass = join(lab.dir, "askpass.sh");
      writeFileSync(askpass, "#!/bin/sh\necho test-only-passphrase\n", { mode: 0o700 });
      // ssh-add refuses a key file others can read, and a git checkout gives fixtures mode 0644
      const encPrivate = join(lab.dir, "client-passphrase-key");
      copyFileSync(enc, encPrivate);
      chmodSync(encPrivate, 0o600);
      const add = spawnSync("ssh-add", [encPrivate], { env: { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" }, stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(add.status, 0, add.stderr?.toString());
      writeFileSync(join(lab.dir, "authorized_keys"), readFileSync(fixtures + "test-only-client-ed25519.pub", "utf8") + readFileSync(enc + ".pub", "utf8"));
      const viaAgent = await open(target("a", a.port, { agent: sock }));
      assert.equal((await viaAgent.exec({ argv: ["true"] })).code, 0);
    });

    await t.test("become: sudo NOPASSWD and sudo with a password (with stdin), wrong and missing passwords", async () => {
      const n = npConn;
      assert.equal((await n.exec({ argv: ["id", "-un"] })).stdout.toString().trim(), np);
      assert.equal((await n.exec({ argv: ["id", "-un"] }, { become: true })).stdout.toString().trim(), "root");
      assert.equal((await n.exec({ argv: ["cat"] }, { become: true, stdin: "payload" })).stdout.toString(), "payload");
      const rootDir = join(lab.dir, "rootonly");
      mkdirSync(rootDir, { mode: 0o755 });
      await assert.rejects(n.putFile(join(rootDir, "f"), "x", { mode: 0o644 }), isCode(SshError.PutFailed));
      await n.putFile(join(rootDir, "f"), "as root\n", { mode: 0o600, become: true });
      assert.equal(statSync(join(rootDir, "f")).uid, 0);
      assert.equal(readFileSync(join(rootDir, "f"), "utf8"), "as root\n");

      const secret = PW;
      const p = await open(target("a", a.port, { user: pwUser, password: new Secret(secret), become: { user: "root", password: new Secret(secret) } }));
      const payload = "line1\nline2 with the password text? no\n" + "z".repeat(100_000);
      for (let i = 0; i < 2; i++) {
        const r = await p.exec(shellCode("id -un; cat; echo done >&2"), { become: true, stdin: payload });
        assert.equal(r.code, 0, r.stderr.toString());
        assert.equal(r.stdout.toString(), "root\n" + payload);
        assert.equal(r.stderr.toString(), "done\n", "markers and prompts are stripped from stderr");
        assert.ok(!r.stdout.toString().includes(secret) && !r.stderr.toString().includes(secret));
      }
      await p.putFile(join(rootDir, "g"), "pw\n", { mode: 0o644, owner: "root", become: true, validate: ["test", "-s", "%s"] });
      assert.equal(readFileSync(join(rootDir, "g"), "utf8"), "pw\n");

      const bad = await open(target("a", a.port, { user: pwUser, password: new Secret(secret), become: { user: "root", password: new Secret("not-it") } }));
      await assert.rejects(bad.exec({ argv: ["true"] }, { become: true }), isCode(SshError.BecomePasswordWrong, /stops using sudo/));
      await assert.rejects(bad.exec({ argv: ["true"] }, { become: true }), isCode(SshError.BecomePasswordWrong));
      const none = await open(target("a", a.port, { user: pwUser, password: new Secret(secret) }));
      await assert.rejects(none.exec({ argv: ["true"] }, { become: true }), isCode(SshError.BecomePasswordRequired, new RegExp(`^a: sudo to root needs a password for ${pwUser}`)));
      assert.equal((await none.exec({ argv: ["true"] })).code, 0, "plain commands still work");
    });

    await t.test("jump hosts: one and two hops, each hop's key checked under its own name", async () => {
      const hop = (s: { port: number }, name: string) => ({ name, address: "127.0.0.1", port: s.port, user: "root", keyFile: lab.clientKey, connectTimeoutMs: 5000 });
      const logBefore = j.log().length;
      const one = await open(target("b", b.port, { keyFile: lab.clientKey, jump: [hop(j, "j")] }));
      assert.equal((await one.exec({ argv: ["true"] })).code, 0);
      assert.match(j.log().slice(logBefore), new RegExp(`target 127\\.0\\.0\\.1 port ${b.port}`), "the target was reached through j's tunnel");
      const cBefore = c.log().length;
      const two = await open(target("b", b.port, { keyFile: lab.clientKey, jump: [hop(j, "j"), hop(c, "c")] }));
      assert.equal((await two.exec({ argv: ["echo", "hi"] })).stdout.toString(), "hi\n");
      assert.match(c.log().slice(cBefore), new RegExp(`target 127\\.0\\.0\\.1 port ${b.port}`));
      // two targets behind the same jump host at once share one login to it
      const shared = new SshConnector({ defaultIdentityFiles: [] });
      const jBefore = j.log().length;
      const [x1, x2] = await Promise.all([
        open(target("b", b.port, { keyFile: lab.clientKey, jump: [hop(j, "j")] }), trusted, shared),
        open(target("a", a.port, { keyFile: lab.clientKey, jump: [hop(j, "j")] }), trusted, shared),
      ]);
      assert.equal((await x1.exec({ argv: ["true"] })).code, 0);
      assert.equal((await x2.exec({ argv: ["true"] })).code, 0);
      assert.equal(j.log().slice(jBefore).match(/Accepted publickey for root/g)?.length, 1, "one login to the jump host");
      // the target's key is wrong in known_hosts: the error names the target, not the jump host
      const wrongB = lab.knownHosts([...lab.khLines(j), `[127.0.0.1]:${b.port} ${lab.khLines(a, "ed25519")[0]!.split(" ").slice(1).join(" ")}`]);
      await assert.rejects(
        open(target("b", b.port, { keyFile: lab.clientKey, jump: [hop(j, "j")] }), { knownHostsFiles: [wrongB], acceptNew: false }, new SshConnector({ defaultIdentityFiles: [] })),
        isCode(SshError.HostKeyChanged, /^b \(root@127\.0\.0\.1:\d+\): REMOTE HOST KEY CHANGED/),
      );
      // the jump host's key is unknown: the error names the jump host
      const onlyB = lab.knownHosts(lab.khLines(b));
      await assert.rejects(
        open(target("b", b.port, { keyFile: lab.clientKey, jump: [hop(j, "j")] }), { knownHostsFiles: [onlyB], acceptNew: false }, new SshConnector({ defaultIdentityFiles: [] })),
        isCode(SshError.HostKeyUnknown, /^b: jump host j \(root@127\.0\.0\.1:\d+\): the host key of \[127\.0\.0\.1\]:\d+ is not in/),
      );
    });

    await t.test("keepalive notices a silent peer; connect timeout and refusal name the host", async () => {
      const rl = await relay(lab, a.port);
      const fast = new SshConnector({ keepaliveIntervalMs: 200, keepaliveCountMax: 2, defaultIdentityFiles: [] });
      const conn = await open(target("frozen", rl.port, { keyFile: lab.clientKey }), { knownHostsFiles: [lab.knownHosts(lab.khLines({ ...a, port: rl.port }))], acceptNew: false }, fast);
      const pending = conn.exec({ argv: ["sleep", "30"] });
      const t0 = Date.now();
      rl.freeze();
      await assert.rejects(pending, isCode(SshError.ConnectionLost, /^frozen: the SSH connection was lost \(Keepalive timeout\)/));
      const lostAfter = Date.now() - t0;
      assert.ok(lostAfter < 3000, `noticed after ${lostAfter} ms`);
      t.diagnostic(`keepalive 200 ms x 2: silent peer noticed after ${lostAfter} ms`);

      // a listener that accepts and never speaks (like a dropped handshake)
      const silent = createServer((s) => lab.sockets.push(s));
      lab.servers.push(silent);
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const sp = (silent.address() as { port: number }).port;
      const t1 = Date.now();
      await assert.rejects(
        open(target("blackhole", sp, { keyFile: lab.clientKey, connectTimeoutMs: 700 })),
        isCode(SshError.ConnectTimeout, new RegExp(`^blackhole \\(root@127\\.0\\.0\\.1:${sp}\\): no SSH login within 700 ms`)),
      );
      assert.ok(Date.now() - t1 < 2500);
      const closed = await freePort();
      await assert.rejects(open(target("nobody-home", closed, { keyFile: lab.clientKey })), isCode(SshError.ConnectRefused, /^nobody-home .*connection refused/));
    });

    await t.test("in a network namespace: dropped packets time out, nothing listening is refused, both name the host", async () => {
      const ns = `lvt-ssh-${lab.tag}`;
      sh(`ip netns add ${ns}`);
      lab.netns.push(ns);
      // .2 resolves (static neighbour) to a MAC nobody has: its SYNs leave v0 and are dropped by v1
      sh(
        `ip -n ${ns} link set lo up && ip -n ${ns} link add v0 type veth peer name v1 && ` +
          `ip -n ${ns} addr add 10.231.0.1/24 dev v0 && ip -n ${ns} link set v0 up && ip -n ${ns} link set v1 up && ` +
          `ip -n ${ns} neigh add 10.231.0.2 lladdr 02:00:00:00:02:02 dev v0 nud permanent`,
      );
      const script = join(lab.dir, "ns-connect.mts");
      const connMod = fileURLToPath(new URL("../../src/ssh/connection.ts", import.meta.url));
      writeFileSync(
        script,
        `import { SshConnector } from ${JSON.stringify(connMod)};
const out = [];
for (const [name, address] of [["dropped", "10.231.0.2"], ["empty", "10.231.0.1"]]) {
  const t0 = Date.now();
  try {
    await new SshConnector({ defaultIdentityFiles: [] }).connect(
      { name, address, port: 22, user: "root", keyFile: ${JSON.stringify(lab.clientKey)}, jump: [], connectTimeoutMs: 800 },
      { knownHostsFiles: [], acceptNew: false });
    out.push({ name, ok: true });
  } catch (e) { out.push({ name, code: e.code, message: e.message, ms: Date.now() - t0 }); }
}
console.log(JSON.stringify(out));
`,
      );
      const repo = fileURLToPath(new URL("../../", import.meta.url));
      const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", script], { cwd: repo, encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      const [dropped, empty] = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; code: string; message: string; ms: number }[];
      assert.equal(dropped?.code, SshError.ConnectTimeout, dropped?.message);
      assert.match(dropped!.message, /^dropped \(root@10\.231\.0\.2:22\): no SSH login within 800 ms/);
      assert.ok(dropped!.ms >= 700 && dropped!.ms < 3000, `timed out after ${dropped!.ms} ms`);
      assert.equal(empty?.code, SshError.ConnectRefused, empty?.message);
      assert.match(empty!.message, /^empty \(root@10\.231\.0\.1:22\): connection refused/);
    });

    await t.test("measure: 100 sequential trivial execs on one connection vs ssh per command", async () => {
      const n = 100;
      // ssh(1) per command costs a whole login; 20 of them give a stable per-command time on a busy machine.
      const nSsh = Number(process.env.LVSCTL_SSH_BENCH_N ?? 20);
      const t0 = Date.now();
      const fresh = await open(target("a", a.port, { user: np, keyFile: lab.clientKey }));
      const tConnect = Date.now() - t0;
      const t1 = Date.now();
      for (let i = 0; i < n; i++) assert.equal((await fresh.exec({ argv: ["true"] })).code, 0);
      const tReuse = Date.now() - t1;
      const kh = trusted.knownHostsFiles[0]!;
      const t2 = Date.now();
      for (let i = 0; i < nSsh; i++) {
        const r = spawnSync("ssh", ["-i", lab.clientKey, "-p", String(a.port), "-o", `UserKnownHostsFile=${kh}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-F", "/dev/null", `${np}@127.0.0.1`, "true"]);
        assert.equal(r.status, 0, r.stderr?.toString());
      }
      const tSsh = Date.now() - t2;
      const per = tReuse / n;
      const perSsh = tSsh / nSsh;
      const line = `sequential \`true\`: one ssh2 connection ${n} in ${tReuse} ms (${per.toFixed(1)} ms each, connect ${tConnect} ms) vs ssh per command ${nSsh} in ${tSsh} ms (${perSsh.toFixed(1)} ms each): ${(perSsh / per).toFixed(1)}x per command`;
      t.diagnostic(line);
      console.log(line);
      assert.ok(per < perSsh, line);
    });
  } finally {
    await lab.cleanup();
  }
});
