// The ssh2 adapter against an in-process ssh2 Server on 127.0.0.1 (no root, no sshd): channel cap,
// exec results, timeouts, host key decisions and the sudo password dialogue, with a scripted
// "remote" that plays sudo's part. The real-sshd version is test/lab/ssh-engine.test.ts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ssh2 from "ssh2";
import type { ParsedKey, ServerChannel } from "ssh2";
import { LvsctlError, Secret } from "../../../src/errors/index.js";
import { SshConnector } from "../../../src/ssh/connection.js";
import { SshError, isUnreachable } from "../../../src/ssh/errors.js";
import { fingerprintSha256 } from "../../../src/ssh/known-hosts.js";
import { httpGetLoopback } from "../../../src/ssh/http.js";
import type { ConnectTarget, HostKeyPolicy } from "../../../src/ssh/types.js";

const fixtures = fileURLToPath(new URL("../../fixtures/ssh/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "lvsctl-ssh-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const parsedClientPub = ssh2.utils.parseKey(readFileSync(fixtures + "test-only-client-ed25519.pub"));
if (parsedClientPub instanceof Error) throw parsedClientPub;
const clientPub: ParsedKey = parsedClientPub;
const SUDO_PASSWORD = "test-only-sudo";

interface ServerStats {
  open: number;
  peak: number;
  commands: string[];
  stdinSeen: string[];
  /** direct-tcpip channels asked for (openLoopback), as "ADDR:PORT". */
  forwards: string[];
}

/** The port the scripted remote "listens" on for direct-tcpip channels, answering as lvsd's status endpoint would. */
const STATUS_PORT = 9120;

/** A scripted remote: a few commands, and sudo's -S dialogue played on stderr/stdin. */
function runCommand(cmd: string, ch: ServerChannel, stats: ServerStats): void {
  let stdin = "";
  ch.on("data", (d: Buffer) => (stdin += d.toString("latin1")));
  const done = (code: number) => {
    ch.exit(code);
    ch.end();
  };
  if (cmd === "true") return done(0);
  if (cmd === "hold") return void setTimeout(() => done(0), 40);
  if (cmd === "sleep") {
    ch.on("signal", () => undefined);
    return; // never exits by itself
  }
  if (cmd === "cat") {
    ch.on("end", () => {
      stats.stdinSeen.push(stdin);
      ch.write(stdin);
      done(0);
    });
    return;
  }
  if (cmd === "sudo -n -u root -- true") {
    ch.stderr.write("sudo: a password is required\n");
    return done(1);
  }
  const m = /^sudo -S -p '(\[lvsctl-sudo-prompt-[a-f0-9]+\])' -u root -- sh -c /.exec(cmd);
  if (m) {
    const prompt = m[1]!;
    const started = prompt.replace("prompt", "started");
    let tries = 0;
    ch.stderr.write("We trust you have received the usual lecture\n" + prompt);
    let ran = false;
    const onData = () => {
      if (ran) return;
      const nl = stdin.indexOf("\n");
      if (nl < 0) return;
      const line = stdin.slice(0, nl);
      stdin = stdin.slice(nl + 1);
      if (line === SUDO_PASSWORD) {
        ran = true;
        // sudo checks the password for a moment; a reader that buffers would swallow what arrives
        // in that time (this fake drops it). Then the command announces itself and reads stdin.
        let eof = false;
        ch.on("end", () => (eof = true));
        setTimeout(() => (stdin = ""), 30);
        setTimeout(() => {
          ch.stderr.write(started);
          const finish = () => {
            stats.stdinSeen.push(stdin);
            ch.write(stdin);
            done(0);
          };
          if (eof) finish();
          else ch.on("end", finish);
        }, 60);
      } else if (++tries < 3) ch.stderr.write("Sorry, try again.\n" + prompt);
    };
    ch.on("data", onData);
    ch.on("end", () => {
      if (!ran) {
        ch.stderr.write("sudo: no password was provided\nsudo: 1 incorrect password attempt\n");
        done(1);
      }
    });
    return;
  }
  ch.stderr.write(`sh: 1: ${cmd}: not found\n`);
  done(127);
}

async function startServer(hostKey: string, maxSessions = 8) {
  const stats: ServerStats = { open: 0, peak: 0, commands: [], stdinSeen: [], forwards: [] };
  const server = new ssh2.Server({ hostKeys: [readFileSync(fixtures + hostKey)] }, (client) => {
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      if (ctx.method === "publickey" && ctx.key.data.equals(clientPub.getPublicSSH())) {
        if (ctx.signature && ctx.blob && clientPub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject();
        return ctx.accept();
      }
      if (ctx.method === "password" && ctx.password === "test-only-login") return ctx.accept();
      ctx.reject(["publickey", "password"]);
    });
    client.on("ready", () => {
      client.on("tcpip", (accept, reject, info) => {
        stats.forwards.push(`${info.destIP}:${info.destPort}`);
        if (info.destIP !== "127.0.0.1" || info.destPort !== STATUS_PORT) return reject();
        const ch = accept();
        let req = "";
        ch.on("data", (d: Buffer) => {
          req += d.toString("latin1");
          if (!req.includes("\r\n\r\n")) return;
          const body = JSON.stringify({ asked: req.split("\r\n")[0] });
          ch.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        });
      });
      client.on("session", (accept, reject) => {
        if (stats.open >= maxSessions) return reject();
        stats.open++;
        stats.peak = Math.max(stats.peak, stats.open);
        const session = accept();
        let closed = false;
        const close = () => {
          if (!closed) {
            closed = true;
            stats.open--;
          }
        };
        session.on("close", close);
        session.on("exec", (acc, _rej, info) => {
          stats.commands.push(info.command);
          const ch = acc();
          ch.on("close", close);
          runCommand(info.command, ch, stats);
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  after(() => server.close());
  return { port, stats };
}

const pubLine = (port: number, pubFile: string) => `[127.0.0.1]:${port} ${readFileSync(fixtures + pubFile, "utf8").split(" ").slice(0, 2).join(" ")}\n`;
let khN = 0;
function knownHosts(text: string): string {
  const f = join(dir, `kh${khN++}`);
  writeFileSync(f, text);
  return f;
}
const target = (port: number, over: Partial<ConnectTarget> = {}): ConnectTarget => ({
  name: "fake1",
  address: "127.0.0.1",
  port,
  user: "deploy",
  keyFile: fixtures + "test-only-client-ed25519",
  jump: [],
  connectTimeoutMs: 5000,
  ...over,
});
const connector = () => new SshConnector({ defaultIdentityFiles: [], defaultAgent: undefined });
const code = (c: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LvsctlError, String(e));
  assert.equal(e.code, c, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

test("exec results, 30 concurrent commands capped at 8 channels, timeouts name host and command", async () => {
  const { port, stats } = await startServer("test-only-host-a-ed25519");
  const policy: HostKeyPolicy = { knownHostsFiles: [knownHosts(pubLine(port, "test-only-host-a-ed25519.pub"))], acceptNew: false };
  const conn = await connector().connect(target(port), policy);
  try {
    assert.equal((await conn.exec({ argv: ["true"] })).code, 0);
    const nf = await conn.exec({ argv: ["nope"] });
    assert.equal(nf.code, 127);
    assert.match(nf.stderr.toString(), /not found/);
    assert.equal((await conn.exec({ argv: ["cat"] }, { stdin: "abc" })).stdout.toString(), "abc");
    const rs = await Promise.all(Array.from({ length: 30 }, () => conn.exec({ argv: ["hold"] })));
    assert.ok(rs.every((r) => r.code === 0));
    assert.ok(stats.peak <= 8 && stats.peak >= 2, `server saw ${stats.peak} sessions at once`);
    assert.equal(conn.stats().peakChannels, 8);
    await assert.rejects(conn.exec({ argv: ["sleep"] }, { timeoutMs: 100 }), code(SshError.ExecTimeout, /^fake1: `sleep` did not finish within 100 ms/));
    assert.equal((await conn.exec({ argv: ["true"] })).code, 0, "the connection is still usable");
  } finally {
    await conn.close();
  }
  await assert.rejects(conn.exec({ argv: ["true"] }), code(SshError.ConnectionLost));
});

test("host keys: unknown refused, accept-new records, changed refused with both fingerprints", async () => {
  const { port } = await startServer("test-only-host-b-ed25519");
  const empty = knownHosts("");
  await assert.rejects(connector().connect(target(port), { knownHostsFiles: [empty], acceptNew: false }), (e) => code(SshError.HostKeyUnknown)(e) && isUnreachable(e));
  assert.equal(readFileSync(empty, "utf8"), "");
  const c1 = await connector().connect(target(port), { knownHostsFiles: [empty], acceptNew: true });
  await c1.close();
  assert.equal(readFileSync(empty, "utf8"), pubLine(port, "test-only-host-b-ed25519.pub"));
  const wrong = knownHosts("# old\n" + pubLine(port, "test-only-host-a-ed25519.pub"));
  const fpA = fingerprintSha256(Buffer.from(readFileSync(fixtures + "test-only-host-a-ed25519.pub", "utf8").split(" ")[1]!, "base64"));
  const fpB = fingerprintSha256(Buffer.from(readFileSync(fixtures + "test-only-host-b-ed25519.pub", "utf8").split(" ")[1]!, "base64"));
  await assert.rejects(connector().connect(target(port), { knownHostsFiles: [wrong], acceptNew: true }), (e: unknown) => {
    code(SshError.HostKeyChanged)(e);
    const m = (e as LvsctlError).message;
    assert.ok(m.includes(`offered ssh-ed25519 ${fpB}`) && m.includes(`expected ${fpA} (${wrong}:2)`), m);
    assert.match((e as LvsctlError).hint ?? "", /ssh-keygen -R/);
    return true;
  });
});

test("auth errors: passphrase-protected key names the file and the agent; wrong password lists methods", async () => {
  const { port } = await startServer("test-only-host-a-ed25519");
  const policy: HostKeyPolicy = { knownHostsFiles: [knownHosts(pubLine(port, "test-only-host-a-ed25519.pub"))], acceptNew: false };
  const enc = fixtures + "test-only-client-passphrase-ed25519";
  await assert.rejects(connector().connect(target(port, { keyFile: enc }), policy), (e: unknown) => {
    code(SshError.KeyEncrypted)(e);
    assert.ok((e as LvsctlError).message.includes(enc));
    assert.match((e as LvsctlError).hint ?? "", /ssh-add/);
    return true;
  });
  await assert.rejects(
    connector().connect(target(port, { keyFile: undefined, password: new Secret("nope") }), policy),
    code(SshError.AuthFailed, /^fake1 \(deploy@127\.0\.0\.1:\d+\): authentication failed for user deploy \(tried: password\)/),
  );
  const ok = await connector().connect(target(port, { keyFile: undefined, password: new Secret("test-only-login") }), policy);
  await ok.close();
});

test("sudo with a password: prompt answered on stderr, payload after the command starts, markers stripped", async () => {
  const { port, stats } = await startServer("test-only-host-a-ed25519");
  const policy: HostKeyPolicy = { knownHostsFiles: [knownHosts(pubLine(port, "test-only-host-a-ed25519.pub"))], acceptNew: false };
  const conn = await connector().connect(target(port, { become: { user: "root", password: new Secret(SUDO_PASSWORD) } }), policy);
  try {
    const r = await conn.exec({ argv: ["cat"] }, { become: true, stdin: "the payload\n" });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.toString(), "the payload\n");
    assert.equal(r.stderr.toString(), "", "sudo's lecture is not the command's stderr");
    assert.ok(!r.stderr.toString().includes("lvsctl-sudo"), "markers stripped");
    assert.equal(stats.stdinSeen.at(-1), "the payload\n", "the command saw only the payload, not the password");
    assert.equal(stats.commands.filter((c) => c.startsWith("sudo -n")).length, 1, "probed once");
    await conn.exec({ argv: ["cat"] }, { become: true });
    assert.equal(stats.commands.filter((c) => c.startsWith("sudo -n")).length, 1, "still probed once");
    assert.ok(!stats.commands.some((c) => c.includes(SUDO_PASSWORD)), "the password is never in a command line");
  } finally {
    await conn.close();
  }
  const bad = await connector().connect(target(port, { become: { user: "root", password: new Secret("wrong") } }), policy);
  try {
    const before = stats.commands.length;
    await assert.rejects(bad.exec({ argv: ["cat"] }, { become: true }), code(SshError.BecomePasswordWrong, /^fake1: sudo rejected the become password/));
    await assert.rejects(bad.exec({ argv: ["cat"] }, { become: true }), code(SshError.BecomePasswordWrong));
    assert.equal(stats.commands.length - before, 2, "probe + one try; the second call did not try again");
  } finally {
    await bad.close();
  }
  const none = await connector().connect(target(port), policy);
  try {
    await assert.rejects(none.exec({ argv: ["cat"] }, { become: true }), code(SshError.BecomePasswordRequired, /^fake1: sudo to root needs a password for deploy/));
  } finally {
    await none.close();
  }
});

test("openLoopback: a direct-tcpip channel to the host's 127.0.0.1:PORT carries an HTTP/1.0 GET; a port nobody serves is a clear error", async () => {
  const { port, stats } = await startServer("test-only-host-a-ed25519");
  const policy: HostKeyPolicy = { knownHostsFiles: [knownHosts(pubLine(port, "test-only-host-a-ed25519.pub"))], acceptNew: false };
  const conn = await connector().connect(target(port), policy);
  try {
    const r = await httpGetLoopback(conn, STATUS_PORT, "/status");
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { asked: "GET /status HTTP/1.0" });
    await assert.rejects(httpGetLoopback(conn, STATUS_PORT + 1, "/status"), code(SshError.ForwardFailed, /^fake1: cannot reach 127\.0\.0\.1:9121 on the host through SSH/));
    assert.deepEqual(stats.forwards, [`127.0.0.1:${STATUS_PORT}`, `127.0.0.1:${STATUS_PORT + 1}`]);
    assert.equal(stats.commands.length, 0, "no command ran on the host");
    assert.equal((await conn.exec({ argv: ["true"] })).code, 0, "the connection is still usable");
  } finally {
    await conn.close();
  }
});
