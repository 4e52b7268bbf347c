// The source build's tarball on the controller: a URL fetched once from a local HTTP server on
// loopback, cached by content, checked against the inventory's sha256; a local file read as is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { defaultCacheDir, obtainTarball, shownUrl } from "../../../src/run/tarball.js";
import { LvsctlError } from "../../../src/errors/index.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const BODY = Buffer.from("keepalived-2.2.7 tarball bytes");

async function server(t: { after(fn: () => void): void }, body = BODY) {
  const hits: string[] = [];
  const auth: (string | undefined)[] = [];
  const s: Server = createServer((req, res) => {
    hits.push(req.url ?? "");
    auth.push(req.headers.authorization);
    if (req.url?.startsWith("/missing")) {
      res.writeHead(404, "Not Found").end();
      return;
    }
    res.writeHead(200, { "content-type": "application/gzip" }).end(body);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  t.after(() => s.close());
  return { hits, auth, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

function tmp(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-tarball-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const code = (c: string, re: RegExp) => (e: unknown) => e instanceof LvsctlError && e.code === c && re.test(e.message);

test("a URL is fetched once and cached by content; a second run reads the cache, also without a sha256 in the inventory", async (t) => {
  const { hits, base } = await server(t);
  const cacheDir = tmp(t);
  const url = `${base}/dl/keepalived-2.2.7.tar.gz`;
  const first = await obtainTarball({ tarball: url }, { baseDir: "/nonexistent", cacheDir });
  assert.equal(first.via, "download");
  assert.equal(first.sha256, sha(BODY));
  assert.equal(first.path, join(cacheDir, "tarballs", sha(BODY), "keepalived-2.2.7.tar.gz"));
  assert.deepEqual(readFileSync(first.path), BODY);
  const second = await obtainTarball({ tarball: url }, { baseDir: "/nonexistent", cacheDir });
  assert.deepEqual(second, { ...first, via: "cache" });
  const third = await obtainTarball({ tarball: url, sha256: sha(BODY).toUpperCase() }, { baseDir: "/nonexistent", cacheDir });
  assert.equal(third.via, "cache");
  assert.deepEqual(hits, ["/dl/keepalived-2.2.7.tar.gz"], "one request in all");
  // A cached file changed on disk is not trusted: fetched again.
  writeFileSync(first.path, "tampered");
  const again = await obtainTarball({ tarball: url }, { baseDir: "/nonexistent", cacheDir });
  assert.equal(again.via, "download");
  assert.deepEqual(readFileSync(again.path), BODY);
  assert.equal(hits.length, 2);
});

test("with the inventory's sha256: a matching download is cached; another is refused naming both digests, and nothing is cached", async (t) => {
  const { base } = await server(t);
  const cacheDir = tmp(t);
  const ok = await obtainTarball({ tarball: `${base}/a/keepalived-2.2.7.tar.gz`, sha256: sha(BODY) }, { baseDir: "/", cacheDir });
  assert.equal(ok.via, "download");
  const other = tmp(t);
  const wrong = "0".repeat(64);
  await assert.rejects(
    obtainTarball({ tarball: `${base}/b/keepalived-2.2.7.tar.gz`, sha256: wrong }, { baseDir: "/", cacheDir: other }),
    (e: unknown) => code("LVS770", new RegExp(`the download of http://127\\.0\\.0\\.1:\\d+/b/keepalived-2\\.2\\.7\\.tar\\.gz has sha256 ${sha(BODY)}, but the inventory says ${wrong}`))(e) && /not the release the inventory names/.test((e as LvsctlError).hint ?? ""),
  );
  assert.deepEqual(readdirSync(other), [], "nothing cached");
});

test("a download that fails says why and what to do; a password in the URL is sent as Basic auth, never shown", async (t) => {
  const { base, auth } = await server(t);
  const cacheDir = tmp(t);
  const url = base.replace("http://", "http://user:s3cret@") + "/missing/keepalived-2.2.7.tar.gz";
  await assert.rejects(obtainTarball({ tarball: url }, { baseDir: "/", cacheDir }), (e: unknown) => {
    assert.ok(e instanceof LvsctlError && e.code === "LVS772", String(e));
    assert.match(e.message, /cannot download the keepalived tarball http:\/\/\*\*\*@127\.0\.0\.1:\d+\/missing\/keepalived-2\.2\.7\.tar\.gz: the server answered 404 Not Found/);
    assert.doesNotMatch(e.message + (e.hint ?? ""), /s3cret/);
    assert.match(e.hint!, /download it yourself and give tarball: its local path/);
    return true;
  });
  assert.deepEqual(auth, [`Basic ${Buffer.from("user:s3cret").toString("base64")}`]);
  // Nothing listening (a port just closed): the cause is named.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(
    obtainTarball({ tarball: `http://127.0.0.1:${port}/keepalived-2.2.7.tar.gz` }, { baseDir: "/", cacheDir }),
    code("LVS772", /cannot download the keepalived tarball http:\/\/127\.0\.0\.1:\d+\/keepalived-2\.2\.7\.tar\.gz: fetch failed \(.*ECONNREFUSED/),
  );
  assert.equal(shownUrl("https://a:b@example.test/x.tgz"), "https://***@example.test/x.tgz");
});

test("an injected fetch stands in for the network", async (t) => {
  const cacheDir = tmp(t);
  const calls: string[] = [];
  const fetch = async (u: string) => {
    calls.push(u);
    return { ok: true, status: 200, statusText: "OK", arrayBuffer: async () => new Uint8Array(BODY).buffer };
  };
  const r = await obtainTarball({ tarball: "https://example.test/keepalived-2.2.7.tar.gz" }, { baseDir: "/", cacheDir, fetch });
  assert.equal(r.sha256, sha(BODY));
  await obtainTarball({ tarball: "https://example.test/keepalived-2.2.7.tar.gz" }, { baseDir: "/", cacheDir, fetch });
  assert.deepEqual(calls, ["https://example.test/keepalived-2.2.7.tar.gz"]);
});

test("a local tarball: relative to the inventory's folder, read as is (no cache), checked against sha256", async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, "keepalived-2.2.7.tar.gz"), BODY);
  const cacheDir = join(dir, "cache");
  const r = await obtainTarball({ tarball: "keepalived-2.2.7.tar.gz", sha256: sha(BODY) }, { baseDir: dir, cacheDir });
  assert.deepEqual(r, { path: join(dir, "keepalived-2.2.7.tar.gz"), sha256: sha(BODY), via: "file" });
  assert.equal(existsSync(cacheDir), false);
  await assert.rejects(obtainTarball({ tarball: "keepalived-2.2.7.tar.gz", sha256: "f".repeat(64) }, { baseDir: dir }), code("LVS770", new RegExp(`has sha256 ${sha(BODY)}, but the inventory says f{64}`)));
  await assert.rejects(obtainTarball({ tarball: "nope.tar.gz" }, { baseDir: dir }), code("LVS771", /cannot read the keepalived tarball .*nope\.tar\.gz: ENOENT/));
});

test("the cache folder: $XDG_CACHE_HOME/lvsctl, else ~/.cache/lvsctl", () => {
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }), "/x/cache/lvsctl");
  assert.equal(defaultCacheDir({ HOME: "/home/u" }), "/home/u/.cache/lvsctl");
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "relative", HOME: "/home/u" }), "/home/u/.cache/lvsctl", "a relative XDG path is ignored, as the spec says");
});
