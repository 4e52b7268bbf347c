// The native checkers' C half (native/lvsd_socket.c checkStart / checkCancel) against servers on
// loopback: the same cases as the node:net checkers' unit test (test/unit/daemon/check/
// checkers.test.ts), each answer judged the same way, plus what only C can get wrong: the read
// cap, cancelling in each phase, a hung server beside working ones, and no file descriptor left
// behind. Needs the built addon (not root); creates nothing outside this process's loopback.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createHttp } from "node:http";
import { addonAvailable, loadAddon } from "../../src/daemon/native/index.js";
import { DIGEST_CAP, genhash, nativeHttpChecker, nativeTcpChecker } from "../../src/daemon/check/index.js";

const SKIP = addonAvailable() ? undefined : "the native addon is not built (npm run build:native)";
const BODY = "hello from rs1\n";
const answer = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
const seen: Array<{ host?: string; ua?: string; url?: string }> = [];
let c: { HTTP: ReturnType<typeof nativeHttpChecker>; TCP: ReturnType<typeof nativeTcpChecker> };
let http: Server, hung: Server, closed: number;
const raw: Record<string, Server> = {};

const port = (s: Server) => (s.address() as AddressInfo).port;
const listen = (s: Server, host = "127.0.0.1") => new Promise<void>((r) => s.listen(0, host, () => r()));
const sig = () => new AbortController().signal;
const url = (path: string, statusCodes: number[] = [], digest?: string) => ({ path, statusCodes, ...(digest ? { digest } : {}) });
const fds = () => readdirSync("/proc/self/fd").length;
const sockets = new Set<Socket>();

before(async () => {
  if (SKIP) return;
  c = { HTTP: nativeHttpChecker(loadAddon()), TCP: nativeTcpChecker(loadAddon()) };
  http = createHttp((req, res) => {
    seen.push({ host: req.headers.host, ua: req.headers["user-agent"], url: req.url });
    if (req.url === "/health") res.end(BODY);
    else if (req.url === "/teapot") {
      res.statusCode = 418;
      res.end("no");
    } else if (req.url === "/big") res.end(Buffer.alloc(DIGEST_CAP + 100_000, 97));
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  hung = createServer((s) => sockets.add(s)); // accepts, reads, never answers
  const rawServer = (onRequest: (s: Socket) => void) => createServer((s) => s.once("data", () => onRequest(s)));
  raw.silentClose = rawServer((s) => s.end());
  raw.notHttp = rawServer((s) => s.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  raw.resetAfterAnswer = rawServer((s) => s.write(answer, () => s.resetAndDestroy()));
  raw.resetBeforeAnswer = rawServer((s) => s.resetAndDestroy());
  raw.closeAfterAnswer = rawServer((s) => s.end(answer));
  await Promise.all([listen(http), listen(hung), ...Object.values(raw).map((s) => listen(s))]);
  const tmp = createServer();
  await listen(tmp);
  closed = port(tmp);
  await new Promise((r) => tmp.close(r));
});

after(() => {
  if (SKIP) return;
  for (const s of sockets) s.destroy();
  for (const s of [http, hung, ...Object.values(raw)]) {
    s.close();
    (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  }
});

test("native HTTP_GET on loopback: status, digest, keepalived's request, every url", { skip: SKIP }, async () => {
  const t = { type: "HTTP" as const, address: "127.0.0.1", port: port(http) };
  assert.deepEqual(await c.HTTP.check({ ...t, urls: [url("/health", [], genhash(Buffer.from(BODY)))] }, sig()), { ok: true, detail: "HTTP ok /health" });
  assert.equal((await c.HTTP.check({ ...t, urls: [url("/teapot", [418])] }, sig())).ok, true);
  assert.deepEqual(await c.HTTP.check({ ...t, urls: [url("/health"), url("/teapot")] }, sig()), { ok: false, reason: "status", detail: "/teapot: HTTP 418" });
  const dig = await c.HTTP.check({ ...t, urls: [url("/health", [200], "0".repeat(32))] }, sig());
  assert.equal(dig.ok ? "" : dig.reason, "digest");
  assert.match(dig.ok ? "" : dig.detail, new RegExp(genhash(Buffer.from(BODY))));
  assert.deepEqual(seen.at(-1), { host: `127.0.0.1:${port(http)}`, ua: "KeepAliveClient", url: "/health" });
  await c.HTTP.check({ ...t, virtualhost: "www.example.test", urls: [url("/health")] }, sig());
  assert.equal(seen.at(-1)!.host, "www.example.test");
  // past the cap: the status still counts; a digest is not taken over part of a body
  assert.deepEqual(await c.HTTP.check({ ...t, urls: [url("/big", [200])] }, sig()), { ok: true, detail: "HTTP ok /big" });
  const big = await c.HTTP.check({ ...t, urls: [url("/big", [200], "0".repeat(32))] }, sig());
  assert.deepEqual(big, { ok: false, reason: "bad-response", detail: `/big: answer longer than ${DIGEST_CAP} bytes, not digested` });
});

test("native HTTP_GET on loopback: each way an answer can go wrong, labelled as on node:net", { skip: SKIP }, async () => {
  const check = (srv: Server, signal = sig()) => c.HTTP.check({ type: "HTTP" as const, address: "127.0.0.1", port: port(srv), urls: [url("/", [200], genhash(Buffer.from("ok\n")))] }, signal);
  assert.deepEqual(await c.HTTP.check({ type: "HTTP" as const, address: "127.0.0.1", port: closed, urls: [url("/")] }, sig()), { ok: false, reason: "connect-refused", detail: "/: connection refused" });
  assert.deepEqual(await check(raw.silentClose!), { ok: false, reason: "read-error", detail: "/: closed without an answer" });
  assert.deepEqual(await check(raw.notHttp!), { ok: false, reason: "bad-response", detail: "/: not an HTTP response" });
  assert.deepEqual(await check(raw.resetAfterAnswer!), { ok: true, detail: "HTTP ok /" });
  assert.deepEqual(await check(raw.resetBeforeAnswer!), { ok: false, reason: "read-error", detail: "/: ECONNRESET" });
  assert.deepEqual(await check(raw.closeAfterAnswer!), { ok: true, detail: "HTTP ok /" });
  // the address family follows the address; a bindto of the other family is refused at once
  const bad = await c.HTTP.check({ type: "HTTP" as const, address: "127.0.0.1", port: port(raw.closeAfterAnswer!), bindto: "::1", urls: [url("/")] }, sig());
  assert.deepEqual(bad, { ok: false, reason: "connect-error", detail: "/: EINVAL" });
});

test("native TCP_CHECK on loopback: connected, refused, bindto local or not", { skip: SKIP }, async () => {
  assert.deepEqual(await c.TCP.check({ type: "TCP" as const, address: "127.0.0.1", port: port(hung) }, sig()), { ok: true });
  assert.deepEqual(await c.TCP.check({ type: "TCP" as const, address: "127.0.0.1", port: closed }, sig()), { ok: false, reason: "connect-refused", detail: "connection refused" });
  assert.deepEqual(await c.TCP.check({ type: "TCP" as const, address: "127.0.0.1", port: port(http), bindto: "127.0.0.2" }, sig()), { ok: true });
  // bind fails before anything is sent
  assert.deepEqual(await c.TCP.check({ type: "TCP" as const, address: "127.0.0.1", port: port(http), bindto: "192.0.2.1" }, sig()), { ok: false, reason: "connect-error", detail: "EADDRNOTAVAIL" });
});

test("native checks: a hung server is read-timeout at its deadline and stalls no other check; no fd is left", { skip: SKIP }, async () => {
  // (the servers live in this process too: their side of the hung connections is closed before counting)
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 50));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await new Promise((r) => setTimeout(r, 50));
  };
  await settle();
  const fd0 = fds();
  const acs = Array.from({ length: 20 }, () => new AbortController());
  const stuck = acs.map((ac) => c.HTTP.check({ type: "HTTP" as const, address: "127.0.0.1", port: port(hung), urls: [url("/")] }, ac.signal));
  // meanwhile 300 checks against the working server, 100 at a time, all answered
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all(Array.from({ length: 100 }, () => c.HTTP.check({ type: "HTTP" as const, address: "127.0.0.1", port: port(http), urls: [url("/health", [200], genhash(Buffer.from(BODY)))] }, sig())));
    assert.equal(rs.filter((r) => r.ok).length, 100);
  }
  for (const ac of acs) ac.abort();
  for (const r of await Promise.all(stuck)) assert.deepEqual(r, { ok: false, reason: "read-timeout", detail: "/: no complete answer within connect_timeout" });
  // an attempt cancelled before the connection completed is a connect timeout
  const ac2 = new AbortController();
  const p = c.TCP.check({ type: "TCP" as const, address: "127.0.0.1", port: port(hung) }, ac2.signal);
  ac2.abort();
  assert.deepEqual(await p, { ok: false, reason: "connect-timeout", detail: "no connection within connect_timeout" });
  await settle();
  assert.equal(fds(), fd0);
});
