// A source build's tarball, on the controller: directors often have no internet, so a URL is
// fetched here, once, and uploaded to each director by the build task (src/plan/ops/build.ts).
//
// The cache is keyed by content: <cache>/tarballs/<sha256>/<file name>, written whole (a temp file
// renamed into place), plus <cache>/urls/<sha256 of the URL> holding the content's sha256, so a URL
// whose digest the inventory does not give is still fetched only once. A cached file is hashed again
// before use: one changed on disk is fetched anew. When the inventory gives a sha256, a download or a
// local file that does not match it is refused, naming both digests, and nothing is cached.
//
// The cache folder: $XDG_CACHE_HOME/lvsctl, else ~/.cache/lvsctl. Node's fetch, injectable for tests.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { LvsctlError } from "../errors/index.js";

export interface TarballSpec {
  /** A local path (relative to `baseDir`) or an http(s) URL. */
  tarball: string;
  /** Lowercase hex, when the inventory gives one. */
  sha256?: string;
}

export interface TarballDeps {
  /** Folder of the inventory: a relative tarball path is read from here. */
  baseDir: string;
  env?: Record<string, string | undefined>;
  /** Default: $XDG_CACHE_HOME/lvsctl or ~/.cache/lvsctl. */
  cacheDir?: string;
  fetch?: (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Pick<Response, "ok" | "status" | "statusText" | "arrayBuffer">>;
  /** Default 10 minutes. */
  timeoutMs?: number;
}

export interface LocalTarball {
  /** Where the bytes are on the controller (the cache, or the user's own file). */
  path: string;
  sha256: string;
  /** How it was had: the user's file, the cache, or a download just now. */
  via: "file" | "cache" | "download";
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

export function isUrl(tarball: string): boolean {
  return /^https?:\/\//i.test(tarball);
}

/** The URL as it may be shown: without a user or password in it. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//***@");
  }
}

export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache"), "lvsctl");
}

function splitCredentials(url: string): { bare: string; headers: Record<string, string> } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { bare: url, headers: {} };
  }
  if (!u.username && !u.password) return { bare: url, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64");
  u.username = "";
  u.password = "";
  return { bare: u.toString(), headers: { authorization: `Basic ${auth}` } };
}

function readIf(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function mismatch(what: string, want: string, got: string): LvsctlError {
  return new LvsctlError("LVS770", `${what} has sha256 ${got}, but the inventory says ${want} (director.keepalived.sha256)`, {
    hint: "the file is not the release the inventory names (a changed or truncated download, a wrong URL): check where it comes from, then fix tarball: or sha256:",
  });
}

/** A file name for the cache: the URL's last segment when it is a plain one. */
function fileName(url: string): string {
  const last = decodeURIComponent(new URL(url).pathname.replace(/\/+$/, "").replace(/^.*\//, ""));
  return /^[A-Za-z0-9._+~-]+$/.test(last) && !last.startsWith(".") ? last : "tarball";
}

/** Write whole or not at all: a temp file beside the target, renamed over it. */
function writeAtomic(path: string, content: Buffer | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/**
 * The tarball without any download: the user's local file, or a URL's bytes from the cache;
 * undefined when a URL is not cached yet (`deploy --check` says what it would fetch instead).
 */
export function localTarball(spec: TarballSpec, deps: TarballDeps): LocalTarball | undefined {
  const want = spec.sha256?.toLowerCase();
  if (!isUrl(spec.tarball)) {
    const path = resolve(deps.baseDir, spec.tarball);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new LvsctlError("LVS771", `cannot read the keepalived tarball ${path}: ${(e as Error).message}`, {
        hint: "director.keepalived.tarball is a path relative to the inventory's folder, or an http(s) URL",
        cause: e,
      });
    }
    const got = sha256(bytes);
    if (want !== undefined && got !== want) throw mismatch(path, want, got);
    return { path, sha256: got, via: "file" };
  }

  const url = spec.tarball;
  const cache = deps.cacheDir ?? defaultCacheDir(deps.env);
  const urlKey = join(cache, "urls", sha256(url));
  const known = want ?? readIf(urlKey)?.toString("utf8").trim();
  const cachedPath = (digest: string) => join(cache, "tarballs", digest, fileName(url));
  if (known !== undefined && /^[0-9a-f]{64}$/.test(known)) {
    const bytes = readIf(cachedPath(known));
    if (bytes !== undefined && sha256(bytes) === known) return { path: cachedPath(known), sha256: known, via: "cache" };
  }
  return undefined;
}

/** The tarball as a local file with its sha256: read, or fetched once and cached. */
export async function obtainTarball(spec: TarballSpec, deps: TarballDeps): Promise<LocalTarball> {
  const had = localTarball(spec, deps);
  if (had) return had;
  const want = spec.sha256?.toLowerCase();
  const url = spec.tarball;
  const cache = deps.cacheDir ?? defaultCacheDir(deps.env);
  const urlKey = join(cache, "urls", sha256(url));
  const cachedPath = (digest: string) => join(cache, "tarballs", digest, fileName(url));

  const doFetch = deps.fetch ?? ((u: string, init: { signal: AbortSignal; headers: Record<string, string> }) => fetch(u, init));
  // fetch refuses a URL with a user and password in it (and its error repeats the URL): they go
  // as HTTP Basic authentication instead, as curl sends them.
  const { bare, headers } = splitCredentials(url);
  let bytes: Buffer;
  try {
    const res = await doFetch(bare, { signal: AbortSignal.timeout(deps.timeoutMs ?? 10 * 60_000), headers });
    if (!res.ok) throw new Error(`the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    const raw = e instanceof Error ? (e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message) : String(e);
    const why = raw.split(url).join(shownUrl(url));
    throw new LvsctlError("LVS772", `cannot download the keepalived tarball ${shownUrl(url)}: ${why}`, {
      hint: "the controller (this machine) fetches it once and uploads it to the directors; check the URL and this machine's network, or download it yourself and give tarball: its local path",
      cause: e,
    });
  }
  const got = sha256(bytes);
  if (want !== undefined && got !== want) throw mismatch(`the download of ${shownUrl(url)}`, want, got);
  const path = cachedPath(got);
  try {
    mkdirSync(join(cache, "tarballs", got), { recursive: true });
    mkdirSync(join(cache, "urls"), { recursive: true });
    writeAtomic(path, bytes);
    writeAtomic(urlKey, got + "\n");
  } catch (e) {
    throw new LvsctlError("LVS773", `cannot write the downloaded tarball into the cache ${cache}: ${(e as Error).message}`, {
      hint: "make the folder writable, or point XDG_CACHE_HOME at a writable one",
      cause: e,
    });
  }
  return { path, sha256: got, via: "download" };
}
