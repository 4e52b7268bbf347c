// The qemu lab: Debian 12 guests with a kernel of their own (Debian's cloud kernel, which has IPVS
// as modules; the machine's kernel has none, lab-facts.md "The host kernel"), under software
// emulation. For what needs a real IPVS table: ipvsadm, keepalived's LVS part, lvsd's IPVS
// programming. Slow (about 16x the host, lab-facts.md): for correctness, never for timing.
//
//   root namespace               lvsqemuS namespace
//   lvsqS 10.78.S.1/24 ===veth=== up0 -+- br0 (bridge) -+- tap0 == qemu lb1: eth0 10.78.S.10/24
//                                                      +- tap1 == qemu lb2: eth0 10.78.S.11/24
//
// qemu runs inside the namespace (`ip netns exec`), so its taps exist nowhere else; this machine
// reaches the guests only through the veth, and guests get no default route: nothing leaves.
// Addresses: .1 this machine, .10-.199 guests, .200-.254 free for tests (VIPs, real servers).
// NAT real servers sit on a second /24 of the same bridge, 10.79.S.0/24 (insideAddress), which
// only they and the gateway VIP use: their replies can only go back through a director.
//
// The image (ensureQemuImage): a copy of the container lab's base tree (base.ts: sshd, keepalived,
// ipvsadm, nodejs 18, the lab key for root) plus udev and the cloud kernel's modules, made into an
// ext4 image with `mkfs.ext4 -d` (no mount), a kernel and a busybox initramfs (INIT_SCRIPT) that
// loads the virtio modules, applies the guest's seed and switch_roots to systemd. Kept under
// .lab/qemu/img-KEY/, KEY a hash of every input, so a changed input builds a new image beside the
// old one (running guests keep their backing file) and an unchanged one is reused.
//
// Per guest: a qcow2 overlay on the image, and a seed (a tar on a second virtio disk, unpacked by
// the initramfs over the root) with hostname, machine-id, /etc/hosts and fresh SSH host keys; the
// address comes on the kernel command line (lvslab.addr=). Console: .lab/qemu/logs/qS-NAME.console.log.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { shellQuote } from "../ssh/types.js";
import { ensureBase, SUITE } from "./base.js";
import { labDir, paths } from "./paths.js";
import { alive, exitTeardown, procStat, run, sleep, sleepSync, withLock, type RunOptions, type RunResult } from "./proc.js";
import { waitUntil } from "./wait.js";

// ---------------------------------------------------------------- inputs of the image

/** Debian's cloud kernel metapackage; the versioned package it depends on is what is unpacked. */
export const KERNEL_PACKAGE = "linux-image-cloud-amd64";
/** Added to the container base: without udev, systemd waits for devices and the network never comes up (lab-facts.md). */
export const GUEST_EXTRA_PACKAGES = ["udev"] as const;
/** Bump when the image's configuration (configureGuestRoot, INIT_SCRIPT) changes. */
export const IMAGE_CONFIG_VERSION = 1;
/** Sparse: the file only takes what the tree uses (about 700 MB). */
export const IMAGE_SIZE = "2G";
export const DEFAULT_MEMORY_MIB = 768;

/**
 * Loaded by the initramfs, dependencies first (order from modules.dep, moduleLoadOrder()):
 * virtio for the disks, the NIC and the entropy source, ext4 and the crc32c it checksums with.
 * Whatever the kernel has built in is skipped.
 */
export const INITRD_MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "crc32c_generic", "ext4"] as const;

/** Units that only cost boot time under emulation: first-boot housekeeping of a fresh image. */
const GUEST_MASKED_UNITS = ["systemd-hwdb-update.service", "ldconfig.service", "systemd-update-utmp-runlevel.service", "systemd-journal-catalog-update.service"] as const;

/**
 * PID 1 of the initramfs (busybox sh). Every wait is bounded; a failure powers the guest off,
 * which ends qemu (-no-reboot), so up() fails at once with the console log instead of timing out.
 */
export const INIT_SCRIPT = `#!/bin/busybox sh
# lvslab qemu initramfs: load the virtio modules, mount /dev/vda, unpack the seed from /dev/vdb,
# configure eth0 from lvslab.addr= and hand over to systemd.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "lvslab-init: $*"; sleep 1; poweroff -f; }
while read -r m; do insmod "/modules/$m" || echo "lvslab-init: insmod $m failed"; done < /modules/order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 -o rw,noatime /dev/vda /newroot || fail "cannot mount /dev/vda"
if [ -b /dev/vdb ]; then tar -xf /dev/vdb -C /newroot || fail "cannot unpack the seed from /dev/vdb"; fi
addr=$(sed -n 's/.*lvslab\\.addr=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
ip link set lo up
if [ -n "$addr" ]; then
  ip link set eth0 up && ip addr add "$addr" dev eth0 || fail "cannot configure eth0 with $addr"
fi
echo "lvslab-init: switching to systemd (eth0 $addr)"
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
`;

/** fstab of the guest: the root only (the initramfs mounted it read-write already). */
const GUEST_FSTAB = "/dev/vda / ext4 rw,noatime 0 0\n";

// ---------------------------------------------------------------- pure parts

/**
 * Pure: the .ko files to insmod, dependencies first, for `wanted` module names, from the text of
 * modules.dep (`kernel/a/b.ko: kernel/c.ko kernel/d.ko`, kmod's depmod(8)). Names are matched with
 * `-` and `_` equal, as modprobe does. Names in `builtin` (modules.builtin) are skipped; a name in
 * neither is an error (the kernel cannot do without it).
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[], builtin: readonly string[] = []): string[] {
  const norm = (n: string): string => n.replace(/-/g, "_");
  const nameOf = (path: string): string => norm((path.split("/").pop() ?? path).replace(/\.ko(\.(xz|zst|gz))?$/, ""));
  const deps = new Map<string, string[]>();
  const pathByName = new Map<string, string>();
  for (const line of modulesDep.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(path, line.slice(colon + 1).trim().split(/\s+/).filter((s) => s !== ""));
    pathByName.set(nameOf(path), path);
  }
  const builtinNames = new Set(builtin.map(nameOf));
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string, chain: string[]): void => {
    if (seen.has(path)) return;
    if (chain.includes(path)) throw new Error(`module dependency cycle: ${[...chain, path].join(" -> ")}`);
    for (const d of deps.get(path) ?? []) visit(d, [...chain, path]);
    seen.add(path);
    out.push(path);
  };
  for (const w of wanted) {
    const path = pathByName.get(norm(w));
    if (path) visit(path, []);
    else if (!builtinNames.has(norm(w))) throw new Error(`module ${w} is neither in modules.dep nor in modules.builtin`);
  }
  return out;
}

export interface CpioEntry {
  name: string;
  /** File content; absent for a directory. */
  data?: Buffer;
  /** Permission bits (the type comes from data). */
  mode: number;
}

/**
 * Pure: a "newc" cpio archive (the initramfs format, kernel's Documentation/driver-api/
 * early-userspace/buffer-format.rst): per entry a 110-byte ASCII header ("070701" and 13 8-digit
 * hex fields), the NUL-terminated name padded to 4 bytes, the data padded to 4; then TRAILER!!!.
 * Owner root, mtime 0, so the same inputs give the same bytes.
 */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number): string => n.toString(16).padStart(8, "0");
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer): void => {
    const nameBytes = Buffer.from(`${name}\0`);
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const header = `070701${[ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex).join("")}`;
    parts.push(Buffer.from(header, "ascii"), nameBytes, pad4(110 + nameBytes.length), data, pad4(data.length));
  };
  for (const e of entries) push(e.name, (e.data ? 0o100000 : 0o040000) | e.mode, e.data ?? Buffer.alloc(0));
  push("TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Pure: the versioned kernel package named by `apt-cache depends KERNEL_PACKAGE`. */
export function parseKernelDepends(aptCacheDepends: string): string | undefined {
  return /^\s*Depends:\s*(linux-image-\d\S*-cloud-amd64)\s*$/m.exec(aptCacheDepends)?.[1];
}

// ---------------------------------------------------------------- processes

type ExecOptions = RunOptions;

const exec = run;

async function execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split("\n").slice(-8).join("\n    ");
    throw new LvsctlError("LAB_COMMAND", `qemu lab: \`${argv.join(" ")}\` exited with ${r.code}\n    ${tail}`, {
      hint: "the qemu lab needs root and the packages named in scripts/install-deps.sh",
    });
  }
  return r.stdout;
}

function execSyncQuiet(argv: readonly string[]): number {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return 1;
  return spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status ?? 1;
}

function onPath(binary: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])) {
    if (dir !== "" && existsSync(join(dir, binary))) return true;
  }
  return false;
}

const QEMU_TOOLS: readonly [binary: string, debianPackage: string][] = [
  ["qemu-system-x86_64", "qemu-system-x86"],
  ["debootstrap", "debootstrap"],
  ["ssh", "openssh-client"],
  ["ssh-keygen", "openssh-client"],
  ["ip", "iproute2"],
  ["qemu-img", "qemu-utils"],
  ["mkfs.ext4", "e2fsprogs"],
  ["apt-get", "apt"],
  ["dpkg-deb", "dpkg"],
  ["tar", "tar"],
];

/** undefined when the qemu lab can run here; otherwise why not, naming the Debian package. */
export function qemuPrerequisites(): string | undefined {
  if (process.platform !== "linux") return "needs Linux (network namespaces, tap devices)";
  if (process.getuid?.() !== 0) return "needs root: the qemu lab creates a network namespace, tap devices and a chroot for its image";
  if (process.arch !== "x64") return `needs an x86-64 machine (Debian's ${KERNEL_PACKAGE} guest kernel)`;
  const missing = QEMU_TOOLS.filter(([b]) => !onPath(b));
  if (missing.length > 0) return `needs ${missing.map(([b, p]) => `${b} (Debian package ${p})`).join(", ")}; see scripts/install-deps.sh`;
  if (!existsSync("/dev/net/tun")) return "needs /dev/net/tun (the tun module) for the guests' tap devices";
  return undefined;
}

// ---------------------------------------------------------------- the image

const qemuDir = (): string => join(labDir(), "qemu");

export interface QemuImage {
  dir: string;
  /** The raw ext4 root image every guest's qcow2 overlay is backed by. */
  image: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  keyFile: string;
  /** True when this call built the image. */
  built: boolean;
  /** Seconds the build took (now or when it was built). */
  buildSeconds: number;
}

interface ImageStamp {
  key: string;
  kernelPackage: string;
  kernelVersion: string;
  buildSeconds: number;
}

/** The hash of every input of the image; the container base enters through its stamp (packages, config version, key). */
function imageKey(): string {
  const h = createHash("sha256");
  h.update(readFileSync(paths.baseStamp()));
  h.update(JSON.stringify({ SUITE, KERNEL_PACKAGE, GUEST_EXTRA_PACKAGES, IMAGE_CONFIG_VERSION, IMAGE_SIZE, INITRD_MODULES, GUEST_MASKED_UNITS, GUEST_FSTAB }));
  h.update(INIT_SCRIPT);
  return h.digest("hex").slice(0, 16);
}

function imagesInUse(): Set<string> {
  const out = new Set<string>();
  for (const slot of qemuSlotsInUse()) {
    const st = readState(slot);
    if (st) out.add(st.imageDir);
  }
  return out;
}

/**
 * Builds (or reuses) the guest image: kernel, initramfs and root image under .lab/qemu/img-KEY/.
 * Builds the container base first if it is missing (base.ts, about a minute). Needs the machine's
 * apt lists (apt-get download) for the kernel, udev and busybox-static packages.
 */
export async function ensureQemuImage(opts: { log?: (line: string) => void } = {}): Promise<QemuImage> {
  const log = opts.log ?? (() => undefined);
  const base = await ensureBase({ log });
  mkdirSync(qemuDir(), { recursive: true });
  return withLock(join(qemuDir(), "build.lock"), 10 * 60_000, "the qemu image build", async () => {
    const key = imageKey();
    const dir = join(qemuDir(), `img-${key}`);
    const files = { image: join(dir, "root.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") };
    let stamp: ImageStamp | undefined;
    try {
      stamp = JSON.parse(readFileSync(join(dir, "image.json"), "utf8")) as ImageStamp;
    } catch {
      stamp = undefined;
    }
    let built = false;
    if (!stamp || stamp.key !== key || !Object.values(files).every((f) => existsSync(f))) {
      stamp = await buildImage(dir, key, base.dir, log);
      built = true;
    }
    // Older images nobody boots from any more.
    const inUse = imagesInUse();
    for (const d of readdirSync(qemuDir())) {
      const full = join(qemuDir(), d);
      if (d.startsWith("img-") && full !== dir && !inUse.has(full)) rmSync(full, { recursive: true, force: true });
    }
    return { dir, ...files, kernelVersion: stamp.kernelVersion, keyFile: base.keyFile, built, buildSeconds: stamp.buildSeconds };
  });
}

async function buildImage(dir: string, key: string, baseDir: string, log: (line: string) => void): Promise<ImageStamp> {
  const t0 = Date.now();
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const dl = join(tmp, "debs");
  const root = join(tmp, "root");
  mkdirSync(dl, { recursive: true });
  try {
    const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      const s = Date.now();
      const v = await fn();
      log(`qemu lab: ${what} in ${((Date.now() - s) / 1000).toFixed(1)} s`);
      return v;
    };
    // The packages come from this machine's apt sources (no mirror name here). udev is pinned to
    // the base's libudev1 so dpkg accepts it next to what debootstrap installed.
    const kernelPackage = parseKernelDepends(await execOk(["apt-cache", "depends", KERNEL_PACKAGE]));
    if (!kernelPackage) throw new LvsctlError("LAB_QEMU_KERNEL", `qemu lab: \`apt-cache depends ${KERNEL_PACKAGE}\` names no versioned kernel`, { hint: "run apt-get update" });
    const udevVersion = (await execOk(["dpkg-query", `--admindir=${join(baseDir, "var/lib/dpkg")}`, "-W", "-f=${Version}", "libudev1"])).trim();
    const wantDebs = [kernelPackage, "busybox-static", ...GUEST_EXTRA_PACKAGES.map((p) => (p === "udev" ? `udev=${udevVersion}` : p))];
    await step(`apt-get download ${wantDebs.join(" ")}`, async () => {
      const r = await exec(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", ...wantDebs], { cwd: dl, timeoutMs: 5 * 60_000 });
      if (r.code !== 0) {
        throw new LvsctlError("LAB_QEMU_DOWNLOAD", `qemu lab: apt-get download ${wantDebs.join(" ")} failed with ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`, {
          hint: "run apt-get update (the packages come from this machine's apt sources)",
        });
      }
    });
    const debs = readdirSync(dl);
    const deb = (name: string): string => {
      const f = debs.find((d) => d.startsWith(`${name}_`));
      if (!f) throw new Error(`qemu lab: ${name}_*.deb missing after apt-get download (have: ${debs.join(", ")})`);
      return join(dl, f);
    };

    await step(`copy of the base tree`, () => execOk(["cp", "-a", "--reflink=auto", baseDir, root]));
    const kernelVersion = kernelPackage.replace(/^linux-image-/, "");
    await step(`kernel ${kernelVersion} unpacked, depmod, udev installed`, async () => {
      // Unpacked beside the tree, not into it: the package's /lib would replace the merged-/usr
      // symlink lib -> usr/lib with a directory.
      const k = join(tmp, "kernel");
      await execOk(["dpkg-deb", "-x", deb(kernelPackage), k]);
      const mods = [join(k, "usr/lib/modules", kernelVersion), join(k, "lib/modules", kernelVersion)].find((d) => existsSync(d));
      if (!mods) throw new Error(`qemu lab: ${kernelPackage} has no modules directory for ${kernelVersion}`);
      mkdirSync(join(root, "usr/lib/modules"), { recursive: true });
      renameSync(mods, join(root, "usr/lib/modules", kernelVersion));
      renameSync(join(k, "boot", `vmlinuz-${kernelVersion}`), join(tmp, "vmlinuz"));
      await execOk(["chroot", root, "/sbin/depmod", "-a", kernelVersion]);
      for (const p of GUEST_EXTRA_PACKAGES) copyFileSync(deb(p), join(root, "tmp", `${p}.deb`));
      // policy-rc.d: package scripts must not start anything in the chroot.
      writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
      try {
        await execOk(["chroot", root, "dpkg", "-i", ...GUEST_EXTRA_PACKAGES.map((p) => `/tmp/${p}.deb`)], { timeoutMs: 5 * 60_000 });
      } finally {
        rmSync(join(root, "usr/sbin/policy-rc.d"), { force: true });
        for (const p of GUEST_EXTRA_PACKAGES) rmSync(join(root, "tmp", `${p}.deb`), { force: true });
      }
    });
    configureGuestRoot(root);

    mkdirSync(dir, { recursive: true });
    // The kernel is booted with -kernel; the initramfs carries only what it needs (INITRD_MODULES).
    const modDir = join(root, "usr/lib/modules", kernelVersion);
    const builtinFile = join(modDir, "modules.builtin");
    const order = moduleLoadOrder(
      readFileSync(join(modDir, "modules.dep"), "utf8"),
      INITRD_MODULES,
      existsSync(builtinFile) ? readFileSync(builtinFile, "utf8").split("\n").filter((l) => l !== "") : [],
    );
    await step("initramfs", async () => {
      const bb = join(tmp, "busybox");
      await execOk(["dpkg-deb", "-x", deb("busybox-static"), bb]);
      const entries: CpioEntry[] = [
        ...["bin", "dev", "proc", "sys", "newroot", "modules"].map((name) => ({ name, mode: 0o755 })),
        { name: "bin/busybox", data: readFileSync(join(bb, "bin/busybox")), mode: 0o755 },
        { name: "init", data: Buffer.from(INIT_SCRIPT), mode: 0o755 },
        { name: "modules/order", data: Buffer.from(order.map((p) => `${p.split("/").pop()}\n`).join("")), mode: 0o644 },
        ...order.map((p) => ({ name: `modules/${p.split("/").pop()}`, data: readFileSync(join(modDir, p)), mode: 0o644 })),
      ];
      writeFileSync(join(tmp, "initrd.img"), newcArchive(entries));
    });
    await step(`mkfs.ext4 -d (${IMAGE_SIZE} sparse)`, () =>
      execOk(["mkfs.ext4", "-q", "-F", "-L", "lvslab-root", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-d", root, join(tmp, "root.img"), IMAGE_SIZE], { timeoutMs: 5 * 60_000 }),
    );
    for (const f of ["root.img", "vmlinuz", "initrd.img"]) renameSync(join(tmp, f), join(dir, f));
    const stamp: ImageStamp = { key, kernelPackage, kernelVersion, buildSeconds: (Date.now() - t0) / 1000 };
    writeFileSync(join(dir, "image.json"), JSON.stringify(stamp, null, 2));
    log(`qemu lab: image ${key} (kernel ${kernelVersion}) built in ${stamp.buildSeconds.toFixed(1)} s`);
    return stamp;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** What makes the container base a VM's root: an fstab, first-boot housekeeping masked. */
function configureGuestRoot(root: string): void {
  writeFileSync(join(root, "etc/fstab"), GUEST_FSTAB);
  for (const unit of GUEST_MASKED_UNITS) {
    const link = join(root, "etc/systemd/system", unit);
    rmSync(link, { force: true });
    symlinkSync("/dev/null", link);
  }
  writeFileSync(join(root, "etc/lvslab-guest"), `lvslab qemu guest, image config version ${IMAGE_CONFIG_VERSION}\n`);
}

// ---------------------------------------------------------------- slots and network

export const QEMU_MAX_SLOT = 63;
export const QEMU_MAX_GUESTS = 16;
const GUEST_OFFSET = 10;
const FREE_FIRST = 200;
const NAME_RE = /^[a-z][a-z0-9-]{0,29}$/;

export function qemuNetNames(slot: number) {
  return { netns: `lvsqemu${slot}`, rootLink: `lvsq${slot}`, uplink: "up0", bridge: "br0", tap: (i: number) => `tap${i}` };
}
export function qemuSubnet(slot: number) {
  return { cidr: `10.78.${slot}.0/24`, gateway: `10.78.${slot}.1`, prefixLen: 24 };
}
/**
 * A second /24 on the lab's bridge for NAT real servers (the directors' inside network): only the
 * real servers' namespaces and the gateway VIP use it; no guest has an address there of its own
 * and this machine has no route to it, so the real servers' replies can only go through a director.
 */
export function qemuInsideSubnet(slot: number) {
  return { cidr: `10.79.${slot}.0/24`, prefixLen: 24 };
}
export function guestAddress(slot: number, index: number): string {
  return `10.78.${slot}.${GUEST_OFFSET + index}`;
}

interface GuestState {
  name: string;
  index: number;
  address: string;
  pid: number;
}
interface QemuLabState {
  slot: number;
  owner: { pid: number; pidStart: number };
  /** Outlives the process that booted it (`lvsctl lab up`); only an explicit teardown removes it. */
  persistent?: boolean;
  imageDir: string;
  guests: GuestState[];
}

const slotFile = (slot: number): string => join(paths.run(), `qemu-slot-${slot}.json`);
const slotDir = (slot: number): string => join(labDir(), `q${slot}`);
const statePath = (slot: number): string => join(slotDir(slot), "state.json");
/** Console logs outlive the lab (teardown deletes .lab/qS/); emptied when up() boots the slot again. */
const logDir = (): string => join(qemuDir(), "logs");
const qemuLog = (slot: number, name: string): string => join(logDir(), `q${slot}-${name}.qemu.log`);

function readState(slot: number): QemuLabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(slot), "utf8")) as QemuLabState;
  } catch {
    return undefined;
  }
}

/** Who claimed a slot: the booting process, and whether the lab outlives it (`lvsctl lab`). */
interface QemuSlotOwner {
  pid: number;
  pidStart: number;
  persistent?: boolean;
}

function readOwner(slot: number): QemuSlotOwner | undefined {
  try {
    return JSON.parse(readFileSync(slotFile(slot), "utf8")) as QemuSlotOwner;
  } catch {
    return undefined;
  }
}

function tryClaim(slot: number, persistent: boolean): boolean {
  mkdirSync(paths.run(), { recursive: true });
  try {
    const fd = openSync(slotFile(slot), "wx");
    const owner: QemuSlotOwner = { pid: process.pid, pidStart: procStat(process.pid)?.startTime ?? 0, ...(persistent ? { persistent } : {}) };
    writeFileSync(fd, JSON.stringify(owner));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

function slotOwnerAlive(slot: number): boolean {
  const o = readOwner(slot);
  return o !== undefined && alive(o.pid) && procStat(o.pid)?.startTime === o.pidStart;
}

/** Slots of this lab directory whose lab outlives its process (`lvsctl lab up`), running or half made. */
export function persistentQemuSlots(): number[] {
  return qemuSlotsInUse().filter((s) => readOwner(s)?.persistent === true);
}

/** What a slot's state file says (guests, their qemu pids, the image), or undefined without one. */
export function readQemuSlot(slot: number): { persistent: boolean; guests: { name: string; address: string; pid: number; running: boolean }[] } | undefined {
  const st = readState(slot);
  if (!st) return undefined;
  return {
    persistent: readOwner(slot)?.persistent === true,
    guests: st.guests.map((g) => ({ name: g.name, address: g.address, pid: g.pid, running: g.pid > 0 && alive(g.pid) && isSlotQemu(g.pid, slot) })),
  };
}

/**
 * Namespaces that belong to slot S besides its own (`lvsqS-NAME`: the CLI lab's real servers,
 * qemu-realservers.ts startDetachedRealServers); teardownQemuSlotSync removes them and what runs
 * inside.
 */
export function qemuSideNetnsPrefix(slot: number): string {
  return `lvsq${slot}-`;
}

function qemuSlotsInUse(): number[] {
  const slots = new Set<number>();
  try {
    for (const f of readdirSync(paths.run())) {
      const m = /^qemu-slot-(\d+)\.json$/.exec(f);
      if (m) slots.add(Number(m[1]));
    }
  } catch {
    /* no run dir yet */
  }
  try {
    for (const ns of readdirSync("/run/netns")) {
      const m = /^lvsqemu(\d+)$/.exec(ns);
      if (m) slots.add(Number(m[1]));
    }
  } catch {
    /* no namespaces */
  }
  return [...slots].sort((a, b) => a - b);
}

/** True when `pid` is this slot's qemu (not a pid the kernel has given to something else since). */
function isSlotQemu(pid: number, slot: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => a.includes("qemu-system")) && argv.some((a) => a.startsWith(`lvsq${slot}-`));
  } catch {
    return false;
  }
}

/** Kills the slot's qemu processes, closes SSH control masters, deletes the namespace (taps, bridge, veth) and the slot's files. Idempotent; returns what it could not undo. */
export function teardownQemuSlotSync(slot: number): string[] {
  const problems: string[] = [];
  const st = readState(slot);
  const pids = (st?.guests ?? []).map((g) => g.pid).filter((p) => p > 0 && isSlotQemu(p, slot));
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const g of st?.guests ?? []) closeMaster(slot, g.name);
  const deadline = Date.now() + 5000;
  while (pids.some((p) => alive(p)) && Date.now() < deadline) sleepSync(20);
  for (const p of pids) if (alive(p)) problems.push(`qemu pid ${p} did not exit`);
  problems.push(...removeSideNetnsSync(slot));
  const n = qemuNetNames(slot);
  if (existsSync(`/run/netns/${n.netns}`) && execSyncQuiet(["ip", "netns", "del", n.netns]) !== 0) problems.push(`ip netns del ${n.netns} failed`);
  if (existsSync(`/sys/class/net/${n.rootLink}`)) execSyncQuiet(["ip", "link", "del", n.rootLink]);
  rmSync(slotDir(slot), { recursive: true, force: true });
  rmSync(slotFile(slot), { force: true });
  return problems;
}

/** Kills every process in the slot's side namespaces (`ip netns pids`) and deletes them. */
function removeSideNetnsSync(slot: number): string[] {
  const problems: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync("/run/netns").filter((ns) => ns.startsWith(qemuSideNetnsPrefix(slot)));
  } catch {
    return problems;
  }
  for (const ns of names) {
    const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 });
    const pids = (r.stdout ?? "").split("\n").map((l) => Number(l.trim())).filter((p) => p > 0);
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const deadline = Date.now() + 5000;
    while (pids.some((p) => alive(p)) && Date.now() < deadline) sleepSync(20);
    for (const p of pids) if (alive(p)) problems.push(`pid ${p} in ${ns} did not exit`);
    if (execSyncQuiet(["ip", "netns", "del", ns]) !== 0 && existsSync(`/run/netns/${ns}`)) problems.push(`ip netns del ${ns} failed`);
  }
  return problems;
}

/** Slots with a running qemu of a lab (`-name lvsqS-NAME`), whoever started it. */
function slotsWithQemu(): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (!argv.some((a) => a.includes("qemu-system"))) continue;
      for (const a of argv) {
        const m = /^lvsq(\d+)-/.exec(a);
        if (m && alive(Number(d))) out.add(Number(m[1]));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Tears down qemu labs whose process is gone (a crashed or killed test run). A namespace that no
 * slot file here claims but whose qemu still runs belongs to another lab directory (LVSLAB_DIR)
 * and is left alone, and so is a persistent lab (`lvsctl lab up`: `lvsctl lab down` removes it).
 */
export function cleanupStaleQemu(log: (line: string) => void = () => undefined): string[] {
  const out: string[] = [];
  const running = slotsWithQemu();
  for (const slot of qemuSlotsInUse()) {
    if (slotOwnerAlive(slot) || readOwner(slot)?.persistent === true) continue;
    if (!existsSync(slotFile(slot)) && running.has(slot)) continue;
    const problems = teardownQemuSlotSync(slot);
    const line = `qemu slot ${slot}: stale lab removed${problems.length ? `; problems: ${problems.join("; ")}` : ""}`;
    log(`qemu lab: ${line}`);
    out.push(line);
  }
  return out;
}

/** Ends the shared SSH connection to a guest, if there is one. */
function closeMaster(slot: number, name: string): void {
  const ctl = controlPath(slot, name);
  if (existsSync(ctl)) execSyncQuiet(["ssh", "-F", "/dev/null", "-o", `ControlPath=${ctl}`, "-O", "exit", "lvslab-qemu"]);
  rmSync(ctl, { force: true });
}

/** The SSH control socket of a guest: in the slot directory, or in /tmp when that path is too long for a unix socket (108 bytes). */
function controlPath(slot: number, name: string): string {
  const p = join(slotDir(slot), `${name}.ssh`);
  return p.length < 100 ? p : join(tmpdir(), `lvsq${slot}-${name}.ssh`);
}

// ---------------------------------------------------------------- teardown on exit

const { track, untrack } = exitTeardown<QemuLab>();

// ---------------------------------------------------------------- the lab

export interface QemuGuest {
  name: string;
  index: number;
  /** 10.78.S.(10+index) on eth0 */
  address: string;
  mac: string;
  /** The serial console (kernel and systemd messages): read it when a guest does not come up. */
  consoleLog: string;
}

export interface QemuLabUpOptions {
  /** Names (`[a-z][a-z0-9-]*`) or a count (`prefix`1..N); 1..16, and 1-2 on a 2-core machine. */
  guests: number | string[];
  prefix?: string;
  /** 1..63 (subnet 10.78.S.0/24); default the first free one. */
  slot?: number;
  memoryMiB?: number;
  /** Per guest, from qemu's start to sshd answering; default 5 minutes (TCG on a busy machine). */
  bootTimeoutMs?: number;
  /**
   * The lab may outlive this process (`lvsctl lab up`): qemu runs in a session of its own and the
   * stale-lab sweep of other runs leaves the slot alone. Until detach() it is still torn down when
   * this process exits or is interrupted, so a failed or interrupted `up` leaves nothing behind.
   */
  persistent?: boolean;
  log?: (line: string) => void;
}

export interface QemuExecOptions {
  input?: string | Buffer;
  /** Default 120 s (everything in the guest is slow). */
  timeoutMs?: number;
}

export interface QemuLabTimings {
  /** ensureQemuImage(), including the container base when it had to be built. */
  imageMs: number;
  /** From the first qemu start until every guest's sshd answered and a first SSH command ran. */
  bootMs: number;
}

export class QemuLab {
  readonly slot: number;
  readonly dir: string;
  readonly subnet: string;
  /** This machine's address in the lab. */
  readonly gateway: string;
  readonly netns: string;
  readonly guests: QemuGuest[];
  readonly image: QemuImage;
  readonly keyFile: string;
  /** Plain `NAME,ADDRESS TYPE BASE64` lines, ed25519 + ecdsa per guest. */
  readonly knownHostsFile: string;
  readonly timings: QemuLabTimings = { imageMs: 0, bootMs: 0 };
  #state: QemuLabState;
  #down = false;
  #memoryMiB: number;

  private constructor(state: QemuLabState, image: QemuImage, memoryMiB: number) {
    this.#state = state;
    this.slot = state.slot;
    this.dir = slotDir(state.slot);
    this.subnet = qemuSubnet(state.slot).cidr;
    this.gateway = qemuSubnet(state.slot).gateway;
    this.netns = qemuNetNames(state.slot).netns;
    this.image = image;
    this.keyFile = image.keyFile;
    this.knownHostsFile = join(this.dir, "known_hosts");
    this.#memoryMiB = memoryMiB;
    this.guests = state.guests.map((g) => ({
      name: g.name,
      index: g.index,
      address: g.address,
      mac: `52:54:00:4e:${state.slot.toString(16).padStart(2, "0")}:${g.index.toString(16).padStart(2, "0")}`,
      consoleLog: join(logDir(), `q${state.slot}-${g.name}.console.log`),
    }));
  }

  /** Builds or reuses the image, boots every guest, resolves when each answers an SSH command. */
  static async up(opts: QemuLabUpOptions): Promise<QemuLab> {
    const why = qemuPrerequisites();
    if (why) throw new LvsctlError("LAB_QEMU_PREREQ", `qemu lab: ${why}`);
    const log = opts.log ?? (() => undefined);
    const names = guestNames(opts);
    cleanupStaleQemu(log);
    const t0 = Date.now();
    const image = await ensureQemuImage({ log });
    const imageMs = Date.now() - t0;

    let slot: number | undefined;
    if (opts.slot !== undefined) {
      if (!Number.isInteger(opts.slot) || opts.slot < 1 || opts.slot > QEMU_MAX_SLOT) throw new LvsctlError("LAB_SLOT", `qemu lab: slot ${opts.slot} is outside 1..${QEMU_MAX_SLOT}`);
      if (!tryClaim(opts.slot, opts.persistent === true)) throw new LvsctlError("LAB_SLOT_BUSY", `qemu lab: slot ${opts.slot} is in use`);
      slot = opts.slot;
    } else {
      // A namespace without a slot file here is another lab directory's lab: skip its slot.
      for (let s = 1; s <= QEMU_MAX_SLOT && slot === undefined; s++) if (!existsSync(`/run/netns/${qemuNetNames(s).netns}`) && tryClaim(s, opts.persistent === true)) slot = s;
      if (slot === undefined) throw new LvsctlError("LAB_SLOT_BUSY", "qemu lab: every slot is in use");
    }
    const state: QemuLabState = {
      slot,
      owner: { pid: process.pid, pidStart: procStat(process.pid)?.startTime ?? 0 },
      ...(opts.persistent ? { persistent: true } : {}),
      imageDir: image.dir,
      guests: names.map((name, index) => ({ name, index, address: guestAddress(slot, index), pid: 0 })),
    };
    const lab = new QemuLab(state, image, opts.memoryMiB ?? DEFAULT_MEMORY_MIB);
    lab.timings.imageMs = imageMs;
    track(lab);
    try {
      rmSync(lab.dir, { recursive: true, force: true });
      mkdirSync(lab.dir, { recursive: true });
      mkdirSync(logDir(), { recursive: true });
      lab.#save();
      await lab.#createNetwork();
      await lab.#boot(opts.bootTimeoutMs ?? 5 * 60_000, log);
      return lab;
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
  }

  guest(name: string): QemuGuest {
    const g = this.guests.find((x) => x.name === name);
    if (!g) throw new LvsctlError("LAB_NO_HOST", `qemu lab: no guest ${JSON.stringify(name)} in slot ${this.slot}`, { hint: `guests: ${this.guests.map((x) => x.name).join(", ")}` });
    return g;
  }

  /** An address in the lab's subnet no guest uses (VIPs, pretend real servers): k = 0..54. */
  freeAddress(k: number): string {
    if (!Number.isInteger(k) || k < 0 || FREE_FIRST + k > 254) throw new LvsctlError("LAB_NO_ADDRESS", `qemu lab: free address ${k} is outside 0..${254 - FREE_FIRST}`);
    return `10.78.${this.slot}.${FREE_FIRST + k}`;
  }

  /** An address in the inside /24 (qemuInsideSubnet: NAT real servers, the gateway VIP): k = 0..253 gives 10.79.S.(1+k). */
  insideAddress(k: number): string {
    if (!Number.isInteger(k) || k < 0 || k > 253) throw new LvsctlError("LAB_NO_ADDRESS", `qemu lab: inside address ${k} is outside 0..253`);
    return `10.79.${this.slot}.${1 + k}`;
  }

  /** argv for OpenSSH's client to the guest as root: the lab key, strict checking on the lab's
   * known_hosts, and a shared connection (an SSH login costs about 2 s in the guest). */
  sshArgs(name: string): string[] {
    const g = this.guest(name);
    return [
      "ssh", "-F", "/dev/null", "-i", this.keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${this.knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
      "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
      "-o", "ControlMaster=auto", "-o", `ControlPath=${controlPath(this.slot, g.name)}`, "-o", "ControlPersist=120",
      "-o", "LogLevel=ERROR", `root@${g.address}`,
    ];
  }

  /** Runs a command in the guest over SSH (a string for sh, or argv, quoted here). Never throws
   * for a non-zero exit; 255 is OpenSSH's own failure. */
  exec(name: string, cmd: string | readonly string[], opts: QemuExecOptions = {}): Promise<RunResult> {
    const line = typeof cmd === "string" ? cmd : cmd.map(shellQuote).join(" ");
    const o: ExecOptions = { timeoutMs: opts.timeoutMs ?? 120_000 };
    if (opts.input !== undefined) o.input = opts.input;
    return exec([...this.sshArgs(name), "--", line], o);
  }

  /** exec(), throwing on a non-zero exit with the command, its stderr and the console's tail. */
  async execOk(name: string, cmd: string | readonly string[], opts: QemuExecOptions = {}): Promise<string> {
    const r = await this.exec(name, cmd, opts);
    if (r.code !== 0) {
      const shown = typeof cmd === "string" ? cmd : cmd.join(" ");
      throw new LvsctlError("LAB_COMMAND", `qemu lab: \`${shown}\` on ${name} exited with ${r.code}\n    ${r.stderr.trim().split("\n").slice(-8).join("\n    ")}`, {
        hint: r.code === 255 ? `SSH failed; the console: ${this.guest(name).consoleLog}` : undefined,
      });
    }
    return r.stdout;
  }

  /** Writes a file in the guest (through SSH's stdin), creating its directory. */
  async put(name: string, path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const dir = path.replace(/\/[^/]*$/, "") || "/";
    await this.execOk(name, `mkdir -p ${shellQuote(dir)} && cat > ${shellQuote(path)} && chmod ${mode.toString(8)} ${shellQuote(path)}`, { input: data });
  }

  /** The last lines of a guest's serial console. */
  consoleTail(name: string, lines = 30): string {
    try {
      return readFileSync(this.guest(name).consoleLog, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no console log)";
    }
  }

  /** True while the guest's qemu runs. */
  isRunning(name: string): boolean {
    const pid = this.#gs(this.guest(name).name).pid;
    return pid > 0 && alive(pid) && isSlotQemu(pid, this.slot);
  }

  /**
   * A power cut: qemu is killed, the guest's SSH connection closed. Its disk keeps what the guest
   * had flushed (run `sync` first to keep a file for sure); start() boots it again. From this
   * machine and the other guests, it is a dead host: connections time out or get EHOSTUNREACH.
   */
  async kill(name: string): Promise<void> {
    const g = this.guest(name);
    const pid = this.#gs(name).pid;
    if (pid > 0 && isSlotQemu(pid, this.slot)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
      await waitUntil(`qemu of ${name} (pid ${pid}) to exit`, () => !alive(pid), { timeoutMs: 10_000 });
    }
    closeMaster(this.slot, g.name);
  }

  /** Boots a guest that is not running (after kill(), a reboot or a poweroff inside) on the same disk. */
  async start(name: string, opts: { bootTimeoutMs?: number; log?: (line: string) => void } = {}): Promise<void> {
    const g = this.guest(name);
    if (this.isRunning(name)) throw new LvsctlError("LAB_RUNNING", `qemu lab: ${name} is running`, { hint: "kill() it first" });
    closeMaster(this.slot, g.name);
    this.#spawn(g);
    await this.#waitSsh(g, opts.bootTimeoutMs ?? 5 * 60_000, Date.now(), opts.log ?? (() => undefined));
  }

  /**
   * Lets a persistent lab outlive this process: no teardown at exit any more (teardownQemuSlotSync
   * of its slot removes it, as `lvsctl lab down` does). Refused for a lab that is not persistent.
   */
  detach(): void {
    if (!this.#state.persistent) throw new LvsctlError("LAB_NOT_PERSISTENT", `qemu lab: slot ${this.slot} was not booted with persistent: true`);
    untrack(this);
  }

  /** Kills the guests, deletes the namespace (taps, bridge, veth) and the overlays. Safe twice. */
  async down(): Promise<void> {
    this.downSync();
  }

  downSync(): void {
    if (this.#down) return;
    this.#down = true;
    untrack(this);
    const problems = teardownQemuSlotSync(this.slot);
    if (problems.length > 0) throw new LvsctlError("LAB_TEARDOWN", `qemu lab: slot ${this.slot} teardown left things behind:\n    ${problems.join("\n    ")}`);
  }

  #save(): void {
    writeFileSync(statePath(this.slot), JSON.stringify(this.#state, null, 2));
  }

  async #createNetwork(): Promise<void> {
    const n = qemuNetNames(this.slot);
    const s = qemuSubnet(this.slot);
    const batch = async (cmds: string[], netns?: string): Promise<void> => {
      await execOk(netns ? ["ip", "-n", netns, "-batch", "-"] : ["ip", "-batch", "-"], { input: cmds.join("\n") + "\n" });
    };
    await batch([`netns add ${n.netns}`, `link add ${n.rootLink} type veth peer name ${n.uplink} netns ${n.netns}`]);
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${n.rootLink}/disable_ipv6`, "1");
    } catch {
      /* noise reduction only */
    }
    await batch([`addr add ${s.gateway}/${s.prefixLen} dev ${n.rootLink}`, `link set ${n.rootLink} up`]);
    await batch([
      "link set lo up",
      `link add ${n.bridge} type bridge mcast_snooping 0`,
      `link set ${n.uplink} master ${n.bridge}`,
      ...this.guests.flatMap((g) => [`tuntap add dev ${n.tap(g.index)} mode tap`, `link set ${n.tap(g.index)} master ${n.bridge}`, `link set ${n.tap(g.index)} up`]),
      `link set ${n.uplink} up`,
      `link set ${n.bridge} up`,
    ], n.netns);
  }

  /** The seed of one guest: a tar the initramfs unpacks over the root (hostname, machine-id, hosts, host keys). */
  async #seed(g: QemuGuest): Promise<{ tar: string; knownHosts: string[] }> {
    const dir = join(this.dir, `${g.name}.seed`);
    mkdirSync(join(dir, "etc/ssh"), { recursive: true });
    writeFileSync(join(dir, "etc/hostname"), `${g.name}\n`);
    writeFileSync(join(dir, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
    writeFileSync(join(dir, "etc/hosts"), ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", ...this.guests.map((x) => `${x.address} ${x.name}`), ""].join("\n"));
    const knownHosts: string[] = [];
    const files = ["etc/hostname", "etc/machine-id", "etc/hosts"];
    for (const t of ["ed25519", "ecdsa"]) {
      const f = join(dir, `etc/ssh/ssh_host_${t}_key`);
      await execOk(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", `root@${g.name}`, "-f", f]);
      const [type, blob] = readFileSync(`${f}.pub`, "utf8").trim().split(/\s+/);
      knownHosts.push(`${g.name},${g.address} ${type} ${blob}`);
      files.push(`etc/ssh/ssh_host_${t}_key`, `etc/ssh/ssh_host_${t}_key.pub`);
    }
    const tar = join(this.dir, `${g.name}.seed.tar`);
    await execOk(["tar", "--no-recursion", "--owner=0", "--group=0", "-C", dir, "-cf", tar, ...files]);
    rmSync(dir, { recursive: true, force: true });
    return { tar, knownHosts };
  }

  async #boot(bootTimeoutMs: number, log: (line: string) => void): Promise<void> {
    const known: string[] = [];
    for (const g of this.guests) {
      const s = await this.#seed(g);
      known.push(...s.knownHosts);
      await execOk(["qemu-img", "create", "-q", "-f", "qcow2", "-b", this.image.image, "-F", "raw", join(this.dir, `${g.name}.qcow2`)]);
    }
    writeFileSync(this.knownHostsFile, known.join("\n") + "\n");
    for (const g of this.guests) {
      writeFileSync(g.consoleLog, "");
      writeFileSync(qemuLog(this.slot, g.name), "");
    }
    const t0 = Date.now();
    for (const g of this.guests) this.#spawn(g);
    await Promise.all(this.guests.map((g) => this.#waitSsh(g, bootTimeoutMs, t0, log)));
    this.timings.bootMs = Date.now() - t0;
    log(`qemu lab: slot ${this.slot}: ${this.guests.length} guests up in ${(this.timings.bootMs / 1000).toFixed(1)} s`);
  }

  /** Starts the guest's qemu inside the lab's namespace (its disk and seed must exist). */
  #spawn(g: QemuGuest): void {
    const n = qemuNetNames(this.slot);
    const argv = [
      "ip", "netns", "exec", n.netns,
      "qemu-system-x86_64", "-name", `lvsq${this.slot}-${g.name}`,
      "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", String(this.#memoryMiB),
      // -no-reboot: a reboot or a panic in the guest ends qemu; start() boots it again.
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      // appended to: after kill() and start(), the crashed boot's messages stay above the new ones
      "-chardev", `file,id=console,path=${g.consoleLog},append=on`, "-serial", "chardev:console",
      "-kernel", this.image.kernel, "-initrd", this.image.initrd,
      "-append", `console=ttyS0 root=/dev/vda net.ifnames=0 panic=-1 mitigations=off lvslab.addr=${g.address}/${qemuSubnet(this.slot).prefixLen}`,
      // cache=writeback (qemu's default) honours the guest's flushes, so a kill() is a power cut
      // the guest's journal survives, not a corrupted qcow2.
      "-drive", `file=${join(this.dir, `${g.name}.qcow2`)},if=virtio,format=qcow2,cache=writeback`,
      "-drive", `file=${join(this.dir, `${g.name}.seed.tar`)},if=virtio,format=raw,readonly=on`,
      "-netdev", `tap,id=net0,ifname=${n.tap(g.index)},script=no,downscript=no`,
      "-device", `virtio-net-pci,netdev=net0,mac=${g.mac},romfile=`,
      "-device", "virtio-rng-pci",
    ];
    const err = openSync(qemuLog(this.slot, g.name), "a");
    // A persistent lab's qemu leaves the terminal's session: closing the terminal (SIGHUP) or a
    // Ctrl-C after `lab up` returned must not reach it.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", err, err], detached: this.#state.persistent === true });
    closeSync(err);
    // `ip netns exec` execs qemu: the child's pid is qemu's. The lab kills it in teardown.
    child.unref();
    child.on("error", () => undefined);
    this.#gs(g.name).pid = child.pid ?? 0;
    this.#save();
  }

  /** Resolves when the guest's sshd answers and a first SSH command ran (opening the shared connection). */
  async #waitSsh(g: QemuGuest, timeoutMs: number, t0: number, log: (line: string) => void): Promise<void> {
    const pid = this.#gs(g.name).pid;
    const detail = (): string => {
      let q = "";
      try {
        q = readFileSync(qemuLog(this.slot, g.name), "utf8").trim().slice(-500);
      } catch {
        /* none */
      }
      return `qemu: ${q}\nconsole (${g.consoleLog}):\n${this.consoleTail(g.name, 25)}`;
    };
    await waitUntil(`${g.name}'s sshd (${g.address}:22)`, async () => {
      if (!alive(pid)) throw new LvsctlError("LAB_QEMU_EXITED", `qemu for ${g.name} exited`);
      return sshBanner(g.address, 22, 2000);
    }, { timeoutMs, everyMs: 500, detail });
    log(`qemu lab: ${g.name} sshd answers after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitUntil(`an SSH command on ${g.name}`, async () => (await this.exec(g.name, "true", { timeoutMs: 60_000 })).code === 0, {
      timeoutMs: 120_000,
      everyMs: 1000,
      detail,
    });
  }

  #gs(name: string): GuestState {
    const gs = this.#state.guests.find((x) => x.name === name);
    if (!gs) throw new LvsctlError("LAB_NO_HOST", `qemu lab: no guest ${JSON.stringify(name)} in slot ${this.slot}`);
    return gs;
  }
}

function guestNames(opts: QemuLabUpOptions): string[] {
  const names = typeof opts.guests === "number" ? Array.from({ length: opts.guests }, (_, i) => `${opts.prefix ?? "vm"}${i + 1}`) : [...opts.guests];
  if (names.length < 1 || names.length > QEMU_MAX_GUESTS) throw new LvsctlError("LAB_TOO_MANY", `qemu lab: ${names.length} guests; 1..${QEMU_MAX_GUESTS}`);
  for (const n of names) if (!NAME_RE.test(n)) throw new LvsctlError("LAB_NAME", `qemu lab: guest name ${JSON.stringify(n)} is not [a-z][a-z0-9-]{0,29}`);
  if (new Set(names).size !== names.length) throw new LvsctlError("LAB_NAME", "qemu lab: guest names repeat");
  return names;
}

/** True when something at host:port sends an SSH identification string within `ms`. */
function sshBanner(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (v: boolean): void => {
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on("data", (d) => {
      clearTimeout(timer);
      done(d.toString("latin1").startsWith("SSH-"));
    });
    sock.on("error", () => {
      clearTimeout(timer);
      done(false);
    });
  });
}
