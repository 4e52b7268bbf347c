// A plain HTTP/1.0 GET over a stream the SSH connection opened to a port on the host's loopback
// (`HostConnection.openLoopback`): how lvsctl reads a daemon's status endpoint that listens on
// 127.0.0.1 only (lvsd's GET /status), without opening a port on the network. HTTP/1.0 with
// `Connection: close` so the response ends with the stream (RFC 1945 7.2.2: no chunked encoding,
// the body is everything up to the close). The parser is pure and tested on literal bytes.
import type { Duplex } from "node:stream";
import type { HostConnection } from "./types.js";

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Responses larger than this are cut off with an error: a status page is a few KiB to a few MiB. */
export const MAX_HTTP_RESPONSE = 32 * 1024 * 1024;

/** A whole HTTP/1.x response (status line, headers, body) -> its parts. Throws on anything else. */
export function parseHttpResponse(raw: Buffer): HttpResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(raw.length === 0 ? "the connection closed without a response" : "the response has no end of headers");
  const head = raw.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(head[0] ?? "");
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((head[0] ?? "").slice(0, 60))}`);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  const len = headers["content-length"];
  if (len !== undefined && /^\d+$/.test(len)) {
    const n = Number(len);
    if (body.length < n) throw new Error(`the response was cut short (${body.length} of ${n} bytes)`);
    body = body.subarray(0, n);
  }
  return { status: Number(m[1]), headers, body };
}

/** GET `path` over `stream` (already connected), read to the end, parse. Destroys the stream when done. */
export function httpGetOver(stream: Duplex, path: string, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no whole response within ${timeoutMs} ms`))), timeoutMs);
    stream.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_HTTP_RESPONSE) return finish(() => reject(new Error(`the response is larger than ${MAX_HTTP_RESPONSE} bytes`)));
      chunks.push(d);
    });
    stream.on("error", (e: Error) => finish(() => reject(e)));
    const done = () =>
      finish(() => {
        try {
          resolve(parseHttpResponse(Buffer.concat(chunks)));
        } catch (e) {
          reject(e);
        }
      });
    stream.on("end", done);
    stream.on("close", done);
    stream.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

/**
 * GET http://127.0.0.1:PORT/PATH as seen from the host, through its SSH connection. Throws when
 * the connection cannot open such a channel (nothing listens there, or sshd forbids forwarding)
 * or the answer is not HTTP; a non-2xx status is a result, as exec's non-zero exit is.
 */
export async function httpGetLoopback(conn: HostConnection, port: number, path: string, timeoutMs = 10_000): Promise<HttpResponse> {
  if (!conn.openLoopback) throw new Error(`${conn.host}: this connection cannot open a channel to the host's loopback`);
  const stream = await conn.openLoopback(port, { timeoutMs });
  return httpGetOver(stream, path, timeoutMs);
}
