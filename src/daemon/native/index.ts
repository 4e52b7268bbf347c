// The TypeScript face of lvsd's native addon (native/lvsd_socket.c). The addon is loaded lazily,
// at the first open, by explicit path: esbuild cannot bundle `.node` files, so the bundled daemon
// carries `lvsd_socket.node` next to itself, and a source checkout uses native/build/Release/.
// Unit tests never load it: they use FakeSocket (fake.ts).

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LvsctlError } from "../../errors/index.js";
import type { CheckAddon } from "../check/native.js";
import { ADDON_ABI_VERSION } from "./abi.js";
import type {
  Ancillary,
  DatagramSocket,
  ErrnoError,
  ErrorHandler,
  InterfaceLookup,
  MessageHandler,
  SockAddr,
  SocketFactory,
} from "./types.js";

export * from "./abi.js";
export * from "./constants.js";
export * from "./types.js";

/** The addon's raw exports (see the comments above each function in lvsd_socket.c). */
export interface NativeAddon {
  abiVersion: number;
  open(domain: number, type: number, protocol: number, netns?: string): NativeHandle;
  fd(h: NativeHandle): number;
  bind(h: NativeHandle, addr: SockAddr): void;
  getsockname(h: NativeHandle): SockAddr | null;
  setsockopt(h: NativeHandle, level: number, name: number, value: number | Buffer): void;
  getsockopt(h: NativeHandle, level: number, name: number, length: number): Buffer;
  sendto(h: NativeHandle, data: Buffer, dest?: SockAddr | string): number;
  startReading(
    h: NativeHandle,
    cb: (err: ErrnoError | undefined, data: Buffer, from: SockAddr | null, anc: Ancillary, truncated: boolean) => void,
  ): void;
  stopReading(h: NativeHandle): void;
  close(h: NativeHandle): void;
  ifNameToIndex(name: string, netns?: string): number;
  ifIndexToName(index: number, netns?: string): string;
  ifHwAddr(name: string, netns?: string): Buffer;
  /** Health-check connections (src/daemon/check/native.ts). */
  checkCallback: CheckAddon["checkCallback"];
  checkStart: CheckAddon["checkStart"];
  checkCancel: CheckAddon["checkCancel"];
}
/** Opaque handle object owned by the addon. */
export type NativeHandle = object & { readonly __lvsdSocket?: never };

export const ADDON_FILE = "lvsd_socket.node";

/** Where the addon may be, in order: $LVSD_NATIVE_ADDON, next to the running script (the bundled
 * daemon), next to this module (a bundle loaded as a library), and the source checkout's build. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.LVSD_NATIVE_ADDON) out.push(resolve(env.LVSD_NATIVE_ADDON));
  if (process.argv[1]) out.push(join(dirname(resolve(process.argv[1])), ADDON_FILE));
  const here = moduleDir();
  if (here) {
    out.push(join(here, ADDON_FILE));
    // src/daemon/native/ (or dist/src/daemon/native/) -> <root>/native/build/Release/
    out.push(resolve(here, "../../../native/build/Release", ADDON_FILE));
    out.push(resolve(here, "../../../../native/build/Release", ADDON_FILE));
  }
  return [...new Set(out)];
}

function moduleDir(): string | undefined {
  // ESM (tsx, tsc output): import.meta.url. CommonJS bundle (esbuild --format=cjs): __filename.
  try {
    const url = import.meta.url;
    if (typeof url === "string" && url.startsWith("file:")) return dirname(fileURLToPath(url));
  } catch {
    /* not ESM */
  }
  return typeof __filename === "string" ? dirname(__filename) : undefined;
}

let cached: NativeAddon | undefined;

/** Loads the addon (once). `path` overrides the search. Throws LvsctlError NATIVE_ADDON_MISSING. */
export function loadAddon(path?: string): NativeAddon {
  if (cached && path === undefined) return cached;
  const candidates = path !== undefined ? [resolve(path)] : addonCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new LvsctlError(
      "NATIVE_ADDON_MISSING",
      `lvsd's native socket addon (${ADDON_FILE}) was not found; looked in: ${candidates.join(", ")}`,
      { hint: "run `npm run build:native` in the source tree, or ship lvsd_socket.node next to the daemon bundle" },
    );
  }
  const mod = { exports: {} as NativeAddon };
  try {
    process.dlopen(mod, found);
  } catch (cause) {
    throw new LvsctlError("NATIVE_ADDON_LOAD", `cannot load ${found}: ${(cause as Error).message}`, {
      hint: "rebuild it with `npm run build:native` on a machine of the same architecture",
      cause,
    });
  }
  if (mod.exports.abiVersion !== ADDON_ABI_VERSION) {
    throw new LvsctlError(
      "NATIVE_ADDON_LOAD",
      `${found} has ABI version ${String(mod.exports.abiVersion)}, this lvsd expects ${ADDON_ABI_VERSION}`,
      { hint: "rebuild it with `npm run build:native`" },
    );
  }
  if (path === undefined) cached = mod.exports;
  return mod.exports;
}

/** The path loadAddon() would load, or undefined (e.g. to hand to a worker thread). */
export function findAddon(): string | undefined {
  return addonCandidates().find((p) => existsSync(p));
}

/** True when the addon can be found (tests use this to skip with a reason). */
export function addonAvailable(): boolean {
  return findAddon() !== undefined;
}

/** The real socket: a thin wrapper over one addon handle. */
export class RawSocket implements DatagramSocket {
  readonly domain: number;
  #addon: NativeAddon;
  #h: NativeHandle;
  #closed = false;

  private constructor(addon: NativeAddon, h: NativeHandle, domain: number) {
    this.#addon = addon;
    this.#h = h;
    this.domain = domain;
  }

  /** socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol), optionally created inside the
   * network namespace at `netns` (e.g. /run/netns/NAME; the calling thread returns at once). */
  static open(
    domain: number,
    type: number,
    protocol: number,
    opts: { netns?: string; addon?: NativeAddon } = {},
  ): RawSocket {
    const addon = opts.addon ?? loadAddon();
    return new RawSocket(addon, addon.open(domain, type, protocol, opts.netns), domain);
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** The file descriptor (-1 once closed); for diagnostics only. */
  get fd(): number {
    return this.#addon.fd(this.#h);
  }
  bind(addr: SockAddr): void {
    this.#addon.bind(this.#h, addr);
  }
  setsockopt(level: number, name: number, value: number | Buffer): void {
    this.#addon.setsockopt(this.#h, level, name, value);
  }
  getsockopt(level: number, name: number, length: number): Buffer {
    return this.#addon.getsockopt(this.#h, level, name, length);
  }
  localAddress(): SockAddr | null {
    return this.#addon.getsockname(this.#h);
  }
  send(data: Buffer, dest?: SockAddr | string): number {
    return this.#addon.sendto(this.#h, data, dest);
  }
  onMessage(handler: MessageHandler, onError?: ErrorHandler): void {
    if (this.#closed) throw new Error("onMessage on a closed socket");
    this.#addon.stopReading(this.#h);
    this.#addon.startReading(this.#h, (err, data, from, ancillary, truncated) => {
      if (err) {
        if (onError) onError(err);
        return;
      }
      handler({ data, from, ancillary, truncated });
    });
  }
  pause(): void {
    if (!this.#closed) this.#addon.stopReading(this.#h);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#addon.close(this.#h);
  }
}

export const nativeSockets: SocketFactory = {
  open: (domain, type, protocol, opts) => RawSocket.open(domain, type, protocol, opts ?? {}),
};

export const nativeInterfaces: InterfaceLookup = {
  nameToIndex: (name, netns) => loadAddon().ifNameToIndex(name, netns),
  indexToName: (index, netns) => loadAddon().ifIndexToName(index, netns),
  hwAddr: (name, netns) => loadAddon().ifHwAddr(name, netns),
};
