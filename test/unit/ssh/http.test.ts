// HTTP/1.0 over a loopback channel: the response parser on literal bytes, and the fake's
// openLoopback as the status tests use it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHttpResponse, httpGetLoopback } from "../../../src/ssh/http.js";
import { FakeConnection } from "../../../src/ssh/fake.js";
import { SshError } from "../../../src/ssh/errors.js";
import { LvsctlError } from "../../../src/errors/index.js";

test("parseHttpResponse: status, lower-case headers, body cut at content-length; not HTTP or cut short throws", () => {
  const r = parseHttpResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}trailing"));
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.body.toString(), "{}");
  // Node's http server answers an HTTP/1.0 request without content-length: the body runs to the close.
  assert.equal(parseHttpResponse(Buffer.from("HTTP/1.0 503 Service Unavailable\r\n\r\nstatus unavailable\n")).body.toString(), "status unavailable\n");
  assert.throws(() => parseHttpResponse(Buffer.from("")), /closed without a response/);
  assert.throws(() => parseHttpResponse(Buffer.from("SSH-2.0-OpenSSH_9.2\r\n\r\n")), /not an HTTP response/);
  assert.throws(() => parseHttpResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")), /cut short \(3 of 10 bytes\)/);
});

test("fake openLoopback: the request reaches the answer; an unserved port is refused like sshd refuses it", async () => {
  const c = new FakeConnection("ds1").onLoopback(9120, (req) => `HTTP/1.1 200 OK\r\n\r\n${req.split("\r\n")[0]}`);
  const r = await httpGetLoopback(c, 9120, "/status");
  assert.equal(r.body.toString(), "GET /status HTTP/1.0");
  await assert.rejects(httpGetLoopback(c, 9121, "/status"), (e) => e instanceof LvsctlError && e.code === SshError.ForwardFailed);
  assert.deepEqual(c.loopbackOpens, [9120, 9121]);
});
