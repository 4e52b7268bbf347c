// HTTP_GET and SSL_GET (keepalived check_http.c): for each url, in order, one connection, the
// request keepalived writes (HTTP/1.0, its User-Agent, Host: virtualhost or address:port), the
// whole answer read until the server closes; the status must be among the url's codes (any 2xx
// when none are given) and, when a digest is given, the MD5 of the body must match it, as
// genhash computes it (the bytes after the header, cut at Content-Length when there is one).
// All urls must pass. TLS: no certificate verification unless verifyCert (keepalived has none);
// SNI only when a name is given (keepalived enable_sni / sni_name).
import * as crypto from "node:crypto";
import { abortReason, connectError, dial, type Phase } from "./connect.js";
import type { Checker, CheckResult, CheckSignal, HttpTarget, HttpUrlSpec } from "./types.js";

/** keepalived check_http.c request_template (http_protocol 1.0, no Connection header). */
export function httpRequest(t: Pick<HttpTarget, "address" | "port" | "virtualhost">, path: string): Buffer {
  const host = t.virtualhost ?? (t.address.includes(":") ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`);
  return Buffer.from(`GET ${path} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: ${host}\r\n\r\n`, "latin1");
}

export interface ParsedResponse {
  status: number;
  body: Buffer;
}

/** Status line, headers and body of a complete HTTP/1.x answer; undefined when it is not one. */
export function parseResponse(b: Buffer): ParsedResponse | undefined {
  const end = b.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = b.subarray(0, end).toString("latin1");
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(head);
  if (!m) return undefined;
  let body = b.subarray(end + 4);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) body = body.subarray(0, Number(cl[1]));
  return { status: Number(m[1]), body };
}

// crypto.hash (node 20.12+) digests in one call; createHash makes a Hash object with a native
// handle that the collector has to finalize, one a check (bench/checks)
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: "hex") => string }).hash;

/** keepalived's genhash: MD5 of the body, lower-case hex. */
export function genhash(body: Buffer): string {
  return oneShot ? oneShot("md5", body, "hex") : crypto.createHash("md5").update(body).digest("hex");
}

export function judge(u: HttpUrlSpec, r: ParsedResponse): CheckResult {
  const okStatus = u.statusCodes.length === 0 ? r.status >= 200 && r.status <= 299 : u.statusCodes.includes(r.status);
  if (!okStatus) return { ok: false, reason: "status", detail: `${u.path}: HTTP ${r.status}` };
  if (u.digest !== undefined) {
    const got = genhash(r.body);
    if (got !== u.digest) return { ok: false, reason: "digest", detail: `${u.path}: MD5 ${got}, expected ${u.digest}` };
  }
  return { ok: true };
}

// One url on one connection. A check runs a thousand of these a second, so an attempt is one
// socket, one abort listener and one promise, with the phase in a local: no promise per phase
// and no listener added and removed as the phase moves on (bench/checks).
function fetchOne(t: HttpTarget, u: HttpUrlSpec, signal: CheckSignal): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    let phase: Phase = "connect";
    const aborted = (): CheckResult => ({ ok: false, reason: abortReason(phase), detail: `${u.path}: ${phase === "read" ? "no complete answer" : "no connection"} within connect_timeout` });
    if (signal.aborted) return resolve(aborted());
    const tls = t.type === "SSL" ? { ...(t.sni ? { servername: t.sni } : {}), verify: t.verifyCert ?? false } : undefined;
    let s: ReturnType<typeof dial>;
    try {
      s = dial(t, tls);
    } catch (e) {
      // options node:net refuses at once (a bindto that is not an address): a connect error
      const m = connectError(e as NodeJS.ErrnoException, phase);
      return resolve({ ok: false, reason: m.reason, detail: `${u.path}: ${m.detail}` });
    }
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      s.destroy();
      resolve(r);
    };
    const onAbort = () => finish(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    if (tls) s.once("connect", () => (phase = "tls"));
    s.once(tls ? "secureConnect" : "connect", () => {
      phase = "read";
      s.write(httpRequest(t, u.path));
    });
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (phase !== "read") {
        const m = connectError(e, phase);
        return finish({ ok: false, reason: m.reason, detail: `${u.path}: ${m.detail}` });
      }
      // a reset after a complete answer is still an answer
      const r = parseResponse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      finish(r ? judge(u, r) : { ok: false, reason: "read-error", detail: `${u.path}: ${e.code ?? e.message}` });
    });
    s.once("end", () => {
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const r = parseResponse(all);
      if (r) finish(judge(u, r));
      else finish({ ok: false, reason: all.length === 0 ? "read-error" : "bad-response", detail: `${u.path}: ${all.length === 0 ? "closed without an answer" : "not an HTTP response"}` });
    });
  });
}

export const httpChecker: Checker<HttpTarget> = {
  async check(t, signal) {
    for (const u of t.urls) {
      const r = await fetchOne(t, u, signal);
      if (!r.ok) return r;
    }
    return { ok: true, detail: t.urls.length === 1 ? `HTTP ok ${t.urls[0]!.path}` : `${t.urls.length} urls ok` };
  },
};
