// The JS half of the native checkers (src/daemon/check/native.ts) against a fake addon: what is
// asked of C (address, bindto, request, cap), how each (code, phase, data) is judged, and the
// deadline (the attempt cancelled in C, judged by the phase it was in). The C half runs against
// loopback servers in test/lab/native-checks.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_CAP, DIGEST_CAP, genhash, httpRequest, nativeCheckers, nativeHttpChecker, nativeTcpChecker, type CheckAddon } from "../../../../src/daemon/check/index.js";

type Cb = Parameters<CheckAddon["checkCallback"]>[0];
interface Started { id: number; address: string; port: number; bindto: string | undefined; request: Buffer | undefined; cap: number; phase: number; cancelled: boolean }

class FakeAddon implements CheckAddon {
  started: Started[] = [];
  cb?: Cb;
  /** The next start fails at once with this errno name. */
  failNext?: string;
  checkCallback(cb: Cb): void {
    this.cb = cb;
  }
  checkStart(address: string, port: number, bindto: string | undefined, request: Buffer | undefined, cap: number): number | string {
    assert.ok(this.cb, "checkCallback comes first");
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = undefined;
      return f;
    }
    const s: Started = { id: this.started.length + 1, address, port, bindto, request, cap, phase: 0, cancelled: false };
    this.started.push(s);
    return s.id;
  }
  checkCancel(id: number): number | undefined {
    const s = this.started.find((x) => x.id === id)!;
    s.cancelled = true;
    return s.phase;
  }
  /** Answers the last attempt as C would, on a later turn of the loop. */
  answer(code: string | undefined, phase: number, data?: string, truncated = false) {
    const s = this.started.at(-1)!;
    setImmediate(() => this.cb!(s.id, code, phase, data === undefined ? undefined : Buffer.from(data, "latin1"), truncated));
  }
}

const sig = () => new AbortController().signal;
const OK = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
const digest = genhash(Buffer.from("ok\n"));
const http = (over: object = {}) => ({ type: "HTTP" as const, address: "10.0.0.5", port: 8080, urls: [{ path: "/health", statusCodes: [200], digest }], ...over });
const checkers = (a: CheckAddon) => ({ HTTP: nativeHttpChecker(a), TCP: nativeTcpChecker(a) });
const tick = () => new Promise((r) => setImmediate(r));

test("native HTTP_GET: the request keepalived writes, bindto, and a cap that holds the body only when a digest is asked", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  const p = c.HTTP.check(http({ bindto: "10.0.0.2", virtualhost: "www" }), sig());
  const s = a.started[0]!;
  assert.deepEqual([s.address, s.port, s.bindto, s.cap], ["10.0.0.5", 8080, "10.0.0.2", DIGEST_CAP]);
  assert.deepEqual(s.request, httpRequest({ address: "10.0.0.5", port: 8080, virtualhost: "www" }, "/health"));
  a.answer(undefined, 1, OK);
  assert.deepEqual(await p, { ok: true, detail: "HTTP ok /health" });
  const q = c.HTTP.check(http({ urls: [{ path: "/", statusCodes: [] }] }), sig());
  assert.equal(a.started[1]!.cap, ANSWER_CAP);
  a.answer(undefined, 1, "HTTP/1.1 204 No Content\r\n\r\n");
  assert.deepEqual(await q, { ok: true, detail: "HTTP ok /" });
});

test("native HTTP_GET: each way an attempt can end is labelled as on node:net", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  const run = async (code: string | undefined, phase: number, data?: string, truncated = false) => {
    const p = c.HTTP.check(http(), sig());
    a.answer(code, phase, data, truncated);
    return p;
  };
  assert.deepEqual(await run("ECONNREFUSED", 0), { ok: false, reason: "connect-refused", detail: "/health: connection refused" });
  assert.deepEqual(await run("EHOSTUNREACH", 0), { ok: false, reason: "connect-error", detail: "/health: EHOSTUNREACH" });
  assert.deepEqual(await run(undefined, 1, ""), { ok: false, reason: "read-error", detail: "/health: closed without an answer" });
  assert.deepEqual(await run(undefined, 1, "SSH-2.0-OpenSSH_9.2\r\n\r\n"), { ok: false, reason: "bad-response", detail: "/health: not an HTTP response" });
  // a reset after a complete answer is still an answer; before it, a read error
  assert.deepEqual(await run("ECONNRESET", 1, OK), { ok: true, detail: "HTTP ok /health" });
  assert.deepEqual(await run("ECONNRESET", 1, "HTTP/1.0 200"), { ok: false, reason: "read-error", detail: "/health: ECONNRESET" });
  assert.deepEqual(await run("EPIPE", 1, ""), { ok: false, reason: "read-error", detail: "/health: EPIPE" });
  assert.deepEqual(await run(undefined, 1, "HTTP/1.0 500 Oops\r\n\r\n"), { ok: false, reason: "status", detail: "/health: HTTP 500" });
  const d = await run(undefined, 1, "HTTP/1.0 200 OK\r\n\r\nother\n");
  assert.equal(d.ok ? "" : d.reason, "digest");
  // more than the cap came: a digest of part of a body would be wrong, so none is taken
  assert.deepEqual(await run(undefined, 1, OK, true), { ok: false, reason: "bad-response", detail: `/health: answer longer than ${DIGEST_CAP} bytes, not digested` });
  // failed at once (socket, bind or connect): a connect error, and nothing to cancel
  a.failNext = "EADDRNOTAVAIL";
  assert.deepEqual(await c.HTTP.check(http({ bindto: "192.0.2.1" }), sig()), { ok: false, reason: "connect-error", detail: "/health: EADDRNOTAVAIL" });
});

test("native HTTP_GET: every url on its own connection, in order; the first failure ends the check", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  const t = http({ urls: [{ path: "/a", statusCodes: [200] }, { path: "/b", statusCodes: [200] }, { path: "/c", statusCodes: [200] }] });
  const p = c.HTTP.check(t, sig());
  a.answer(undefined, 1, OK);
  await tick();
  await tick();
  assert.equal(a.started.length, 2);
  assert.match(a.started[1]!.request!.toString(), /^GET \/b /);
  a.answer(undefined, 1, "HTTP/1.0 404 No\r\n\r\n");
  assert.deepEqual(await p, { ok: false, reason: "status", detail: "/b: HTTP 404" });
  assert.equal(a.started.length, 2);
});

test("native checks: the deadline cancels the attempt in C and is judged by its phase; a passed one starts nothing", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  let ac = new AbortController();
  let p = c.HTTP.check(http(), ac.signal);
  a.started[0]!.phase = 1; // connected, the answer not complete
  ac.abort();
  assert.deepEqual(await p, { ok: false, reason: "read-timeout", detail: "/health: no complete answer within connect_timeout" });
  assert.equal(a.started[0]!.cancelled, true);
  ac = new AbortController();
  p = c.HTTP.check(http(), ac.signal);
  ac.abort();
  assert.deepEqual(await p, { ok: false, reason: "connect-timeout", detail: "/health: no connection within connect_timeout" });
  ac = new AbortController();
  const tcp = c.TCP.check({ type: "TCP", address: "10.0.0.5", port: 22 }, ac.signal);
  ac.abort();
  assert.deepEqual(await tcp, { ok: false, reason: "connect-timeout", detail: "no connection within connect_timeout" });
  const before = a.started.length;
  ac = new AbortController();
  ac.abort();
  assert.deepEqual(await c.TCP.check({ type: "TCP", address: "10.0.0.5", port: 22 }, ac.signal), { ok: false, reason: "connect-timeout", detail: "deadline passed before the attempt" });
  assert.equal((await c.HTTP.check(http(), ac.signal)).ok, false);
  assert.equal(a.started.length, before);
});

test("native TCP_CHECK: no request, no buffer; the connection is the answer", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  const p = c.TCP.check({ type: "TCP", address: "10.0.0.5", port: 22, bindto: "10.0.0.2" }, sig());
  const s = a.started[0]!;
  assert.deepEqual([s.address, s.port, s.bindto, s.request, s.cap], ["10.0.0.5", 22, "10.0.0.2", undefined, 0]);
  a.answer(undefined, 0);
  assert.deepEqual(await p, { ok: true });
  const r = c.TCP.check({ type: "TCP", address: "10.0.0.5", port: 23 }, sig());
  a.answer("ECONNREFUSED", 0);
  assert.deepEqual(await r, { ok: false, reason: "connect-refused", detail: "connection refused" });
  a.failNext = "EADDRNOTAVAIL";
  assert.deepEqual(await c.TCP.check({ type: "TCP", address: "10.0.0.5", port: 22, bindto: "192.0.2.1" }, sig()), { ok: false, reason: "connect-error", detail: "EADDRNOTAVAIL" });
});

test("native checkers: SSL_GET and MISC_CHECK are not the addon's", async () => {
  const a = new FakeAddon();
  const c = checkers(a);
  const set = nativeCheckers(a);
  assert.notEqual(set.SSL, set.HTTP);
  // an SSL target handed to the HTTP checker still goes to node:tls: a passed deadline, no start
  const ac = new AbortController();
  ac.abort();
  const r = await c.HTTP.check({ ...http(), type: "SSL" as const }, ac.signal);
  assert.equal(r.ok ? "" : r.reason, "connect-timeout");
  assert.equal(a.started.length, 0);
});
