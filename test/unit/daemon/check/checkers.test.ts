// The real checkers against real servers on 127.0.0.1 (no root needed): plain HTTP, TLS with a
// self-signed certificate made here by openssl, TCP, and MISC programs run as argv.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { createServer as createHttp, type IncomingMessage } from "node:http";
import { createServer as createHttps } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { genhash, httpChecker, httpRequest, miscChecker, miscResult, parseResponse, tcpChecker } from "../../../../src/daemon/check/index.js";

const BODY = "hello from rs1\n";
let http: Server, https: Server, hung: Server, closed: number;
const seen: Array<{ host?: string; ua?: string; url?: string; sni?: string }> = [];
let dir: string;

function handler(req: IncomingMessage, res: import("node:http").ServerResponse, sni?: string) {
  seen.push({ host: req.headers.host, ua: req.headers["user-agent"], url: req.url, ...(sni ? { sni } : {}) });
  if (req.url === "/health") res.end(BODY);
  else if (req.url === "/teapot") {
    res.statusCode = 418;
    res.end("no");
  } else {
    res.statusCode = 404;
    res.end();
  }
}

const port = (s: Server) => (s.address() as AddressInfo).port;
const listen = (s: Server) => new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lvsd-check-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=www.example.test", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")], { stdio: "ignore" });
  http = createHttp((q, s) => handler(q, s));
  https = createHttps({ key: readFileSync(join(dir, "k.pem")), cert: readFileSync(join(dir, "c.pem")) }, (q, s) => handler(q, s, (q.socket as import("node:tls").TLSSocket).servername || "(none)"));
  // accepts and never answers
  hung = createServer(() => undefined);
  await Promise.all([listen(http), listen(https), listen(hung)]);
  // a port nothing listens on
  const tmp = createServer();
  await listen(tmp);
  closed = port(tmp);
  await new Promise((r) => tmp.close(r));
});

after(() => {
  for (const s of [http, https, hung]) {
    s.close();
    (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  }
  rmSync(dir, { recursive: true, force: true });
});

const sig = () => new AbortController().signal;
const url = (path: string, statusCodes: number[] = [], digest?: string) => ({ path, statusCodes, ...(digest ? { digest } : {}) });

test("genhash: MD5 of the body, lower-case hex (what keepalived's genhash prints)", () => {
  assert.equal(genhash(Buffer.from(BODY)), execFileSync("md5sum", { input: BODY }).toString().split(" ")[0]);
  assert.equal(genhash(Buffer.alloc(0)), "d41d8cd98f00b204e9800998ecf8427e");
});

test("request: keepalived's template, HTTP/1.0, Host the virtualhost or address:port", () => {
  assert.equal(httpRequest({ address: "10.0.0.1", port: 8080 }, "/x").toString(), "GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:8080\r\n\r\n");
  assert.equal(httpRequest({ address: "fd00::1", port: 80, virtualhost: "www" }, "/").toString(), "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www\r\n\r\n");
  assert.equal(httpRequest({ address: "fd00::1", port: 80 }, "/").toString().split("\r\n")[2], "Host: [fd00::1]:80");
});

test("parse: status and body, cut at Content-Length; not HTTP is undefined", () => {
  assert.deepEqual(parseResponse(Buffer.from("HTTP/1.1 204 No\r\nContent-Length: 2\r\n\r\nabcd")), { status: 204, body: Buffer.from("ab") });
  assert.equal(parseResponse(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")), undefined);
  assert.equal(parseResponse(Buffer.from("HTTP/1.1 200 OK\r\n")), undefined);
});

test("HTTP_GET: 2xx by default, the url's codes when given, digest compared, every url must pass", async () => {
  const t = { type: "HTTP" as const, address: "127.0.0.1", port: port(http) };
  assert.deepEqual(await httpChecker.check({ ...t, urls: [url("/health", [], genhash(Buffer.from(BODY)))] }, sig()), { ok: true, detail: "HTTP ok /health" });
  assert.equal((await httpChecker.check({ ...t, urls: [url("/teapot", [418])] }, sig())).ok, true);
  const bad = await httpChecker.check({ ...t, urls: [url("/health"), url("/teapot")] }, sig());
  assert.deepEqual(bad, { ok: false, reason: "status", detail: "/teapot: HTTP 418" });
  const dig = await httpChecker.check({ ...t, urls: [url("/health", [200], "0".repeat(32))] }, sig());
  assert.equal(dig.ok ? "" : dig.reason, "digest");
  assert.match(dig.ok ? "" : dig.detail, new RegExp(genhash(Buffer.from(BODY))));
  const last = seen.at(-1)!;
  assert.equal(last.ua, "KeepAliveClient");
  assert.equal(last.host, `127.0.0.1:${port(http)}`);
  await httpChecker.check({ ...t, virtualhost: "www.example.test", urls: [url("/health")] }, sig());
  assert.equal(seen.at(-1)!.host, "www.example.test");
});

test("HTTP_GET: refused, and a server that accepts and never answers is read-timeout at the deadline", async () => {
  const r = await httpChecker.check({ type: "HTTP", address: "127.0.0.1", port: closed, urls: [url("/")] }, sig());
  assert.deepEqual(r, { ok: false, reason: "connect-refused", detail: "/: connection refused" });
  const ac = new AbortController();
  const p = httpChecker.check({ type: "HTTP", address: "127.0.0.1", port: port(hung), urls: [url("/")] }, ac.signal);
  setTimeout(() => ac.abort(), 100);
  const h = await p;
  assert.equal(h.ok ? "" : h.reason, "read-timeout");
});

test("HTTP_GET: how each way an answer can go wrong is labelled (raw servers, one behaviour per port)", async () => {
  // each server does one thing to every connection, once it has read the request
  const raw = async (onRequest: (s: import("node:net").Socket) => void) => {
    const srv = createServer((s) => s.once("data", () => onRequest(s)));
    await listen(srv);
    return srv;
  };
  const answer = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
  const servers = {
    silentClose: await raw((s) => s.end()),
    notHttp: await raw((s) => s.end("SSH-2.0-OpenSSH_9.2\r\n\r\n")),
    resetAfterAnswer: await raw((s) => s.write(answer, () => s.resetAndDestroy())),
    resetBeforeAnswer: await raw((s) => s.resetAndDestroy()),
    closeAfterAnswer: await raw((s) => s.end(answer)),
  };
  const check = (srv: Server, signal = sig()) => httpChecker.check({ type: "HTTP", address: "127.0.0.1", port: port(srv), urls: [url("/", [200], genhash(Buffer.from("ok\n")))] }, signal);
  try {
    assert.deepEqual(await check(servers.silentClose), { ok: false, reason: "read-error", detail: "/: closed without an answer" });
    assert.deepEqual(await check(servers.notHttp), { ok: false, reason: "bad-response", detail: "/: not an HTTP response" });
    // a reset after a complete answer is still an answer
    assert.deepEqual(await check(servers.resetAfterAnswer), { ok: true, detail: "HTTP ok /" });
    assert.deepEqual(await check(servers.resetBeforeAnswer), { ok: false, reason: "read-error", detail: "/: ECONNRESET" });
    assert.deepEqual(await check(servers.closeAfterAnswer), { ok: true, detail: "HTTP ok /" });
    // a deadline already passed: judged in the connect phase, nothing is opened
    const ac = new AbortController();
    ac.abort();
    assert.deepEqual(await check(servers.closeAfterAnswer, ac.signal), { ok: false, reason: "connect-timeout", detail: "/: no connection within connect_timeout" });
    // options node:net refuses at once are a connect error, not a checker that threw
    const bad = await httpChecker.check({ type: "HTTP", address: "127.0.0.1", port: port(servers.closeAfterAnswer), bindto: "not-an-address", urls: [url("/")] }, sig());
    assert.deepEqual(bad, { ok: false, reason: "connect-error", detail: "/: ERR_INVALID_IP_ADDRESS" });
    // the second url is fetched on its own connection after the first passed
    const two = await httpChecker.check({ type: "HTTP", address: "127.0.0.1", port: port(servers.closeAfterAnswer), urls: [url("/a", [200]), url("/b", [200])] }, sig());
    assert.deepEqual(two, { ok: true, detail: "2 urls ok" });
  } finally {
    for (const s of Object.values(servers)) s.close();
  }
});

test("SSL_GET: self-signed accepted without verification, SNI sent only when named, digest over TLS", async () => {
  const t = { type: "SSL" as const, address: "127.0.0.1", port: port(https), urls: [url("/health", [200], genhash(Buffer.from(BODY)))] };
  assert.equal((await httpChecker.check(t, sig())).ok, true);
  assert.equal(seen.at(-1)!.sni, "(none)");
  assert.equal((await httpChecker.check({ ...t, sni: "www.example.test", virtualhost: "www.example.test" }, sig())).ok, true);
  assert.deepEqual(seen.at(-1), { host: "www.example.test", ua: "KeepAliveClient", url: "/health", sni: "www.example.test" });
  // asked to verify: a self-signed certificate fails the handshake
  const v = await httpChecker.check({ ...t, sni: "www.example.test", verifyCert: true }, sig());
  assert.equal(v.ok ? "" : v.reason, "tls-error");
  // plain HTTP to a TLS port is not an HTTP answer
  const p = await httpChecker.check({ ...t, type: "HTTP" }, sig());
  assert.equal(p.ok, false);
});

test("TCP_CHECK: a connection is success; refused is connect-refused; bindto must be a local address", async () => {
  assert.deepEqual(await tcpChecker.check({ type: "TCP", address: "127.0.0.1", port: port(hung) }, sig()), { ok: true });
  assert.deepEqual(await tcpChecker.check({ type: "TCP", address: "127.0.0.1", port: closed }, sig()), { ok: false, reason: "connect-refused", detail: "connection refused" });
  assert.deepEqual(await tcpChecker.check({ type: "TCP", address: "127.0.0.1", port: port(http), bindto: "127.0.0.2" }, sig()), { ok: true });
  const b = await tcpChecker.check({ type: "TCP", address: "127.0.0.1", port: port(http), bindto: "192.0.2.1" }, sig());
  assert.deepEqual(b, { ok: false, reason: "connect-error", detail: "EADDRNOTAVAIL" });
});

test("MISC_CHECK: exit codes as keepalived reads them; argv, no shell; killed at the deadline", async () => {
  assert.deepEqual(miscResult(0, false), { ok: true, detail: "exit 0" });
  assert.deepEqual(miscResult(1, true), { ok: false, reason: "exit-status", detail: "exit 1" });
  assert.deepEqual(miscResult(7, false), { ok: false, reason: "exit-status", detail: "exit 7" });
  assert.deepEqual(miscResult(7, true), { ok: true, weight: 5, detail: "exit 7: weight 5" });
  assert.deepEqual(miscResult(2, true), { ok: true, weight: 0, detail: "exit 2: weight 0" });
  assert.deepEqual(await miscChecker.check({ type: "MISC", argv: ["/bin/sh", "-c", "exit 12"], dynamic: true }, sig()), { ok: true, weight: 10, detail: "exit 12: weight 10" });
  // a shell metacharacter in an argument is just a byte: `true; exit 1` would be a shell line
  assert.deepEqual(await miscChecker.check({ type: "MISC", argv: ["/bin/true", ";", "exit", "1"], dynamic: false }, sig()), { ok: true, detail: "exit 0" });
  const missing = await miscChecker.check({ type: "MISC", argv: ["/nonexistent/check"], dynamic: false }, sig());
  assert.equal(missing.ok ? "" : missing.reason, "script-error");
  const ac = new AbortController();
  const t0 = Date.now();
  const p = miscChecker.check({ type: "MISC", argv: ["/bin/sh", "-c", "sleep 30 & sleep 30"], dynamic: false }, ac.signal);
  setTimeout(() => ac.abort(), 100);
  const r = await p;
  assert.equal(r.ok ? "" : r.reason, "script-timeout");
  assert.ok(Date.now() - t0 < 5000);
});
