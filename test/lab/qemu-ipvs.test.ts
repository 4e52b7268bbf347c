// A real IPVS kernel for the project's tests: one Debian 12 guest under qemu (test/lab/lib/qemu.ts)
// with Debian's cloud kernel. Proves (1) the guest has IPVS: ipvsadm programs a service and a
// destination, and `ipvsadm -Ln`, `ipvsadm -Sn` and /proc/net/ip_vs agree; (2) lvsd's own IPVS
// generic netlink codecs (src/daemon/netlink/ipvs.ts) over lvsd's own socket (the native addon),
// bundled for Debian's Node 18 and run in the guest, resolve the family, add services and
// destinations that ipvsadm then shows exactly, get the kernel's errno for a duplicate, change and
// delete, and decode the kernel's dump back into what was sent; (3) the lab's power cut and cold
// boot (kill/start), the base of failover drills.
//
// Needs root, qemu and the lab's tools (qemuPrerequisites()); part 2 also needs the native addon
// (npm run build:native). Cold (no image yet) the image takes about a minute on top of the
// container base; the guest boots in about half a minute under software emulation. Traffic stays
// inside the lab's namespace (10.78.S.0/24); the lab is torn down in after() and on exit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { moduleLoadOrder, newcArchive, parseKernelDepends, projectRoot, QemuLab, qemuPrerequisites } from "./lib/index.js";
import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_SVC_F_HASHED, IP_VS_SVC_F_PERSISTENT, IPPROTO_TCP, IPPROTO_UDP, type ServiceKey } from "../../src/daemon/netlink/index.js";
import type { Plan, Report } from "./qemu-ipvs-guest.js";

const SKIP = qemuPrerequisites();
const ADDON = join(projectRoot, "native/build/Release/lvsd_socket.node");
const GUEST = "lb1";
const GUEST_DIR = "/opt/lvslab";

const notes: string[] = [];
function note(s: string): void {
  notes.push(s);
  console.log(`qemu-ipvs: ${s}`);
}

/** 10.78.1.200 -> 0A4E01C8, as /proc/net/ip_vs prints addresses. */
function hexAddr(ip: string): string {
  return ip.split(".").map((o) => Number(o).toString(16).toUpperCase().padStart(2, "0")).join("");
}
function hexPort(p: number): string {
  return p.toString(16).toUpperCase().padStart(4, "0");
}
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `ipvsadm -Sn` lines, sorted (the kernel lists services in hash order, destinations newest first). */
const saved = (out: string): string[] => out.split("\n").map((l) => l.trim()).filter((l) => l !== "").sort();
const keyText = (k: ServiceKey): string => ("fwmark" in k ? `fwm ${k.fwmark}` : `${k.protocol} ${k.address}:${k.port}`);

/** The guest side: qemu-ipvs-guest.ts as one CommonJS file for Node 18, the addon loaded beside it. */
async function bundleGuestScript(): Promise<Buffer> {
  const r = await build({
    entryPoints: [join(projectRoot, "test/lab/qemu-ipvs-guest.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    define: { "import.meta.url": "__lvslab_import_meta_url" },
    banner: { js: `const __lvslab_import_meta_url = require("url").pathToFileURL(__filename).href;` },
    write: false,
    logLevel: "warning",
  });
  const out = r.outputFiles[0];
  assert.ok(out, "esbuild produced no output");
  return Buffer.from(out.contents);
}

describe("qemu guest: a real IPVS kernel", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  let VIP = "";
  let RS1 = "";
  let RS2 = "";
  const t0 = Date.now();

  before(
    async () => {
      lab = await QemuLab.up({ guests: [GUEST], log: note });
      VIP = lab.freeAddress(0);
      RS1 = lab.freeAddress(1);
      RS2 = lab.freeAddress(2);
      note(`image ${lab.image.built ? "built" : "reused"} (${(lab.timings.imageMs / 1000).toFixed(1)} s, kernel ${lab.image.kernelVersion}), boot to SSH ${(lab.timings.bootMs / 1000).toFixed(1)} s`);
    },
    { timeout: 12 * 60_000 },
  );
  after(async () => {
    await lab?.down();
    note(`whole file ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("the guest runs its own kernel, with systemd and sshd", async () => {
    const uname = (await lab.execOk(GUEST, "uname -r")).trim();
    assert.equal(uname, lab.image.kernelVersion);
    assert.equal((await lab.execOk(GUEST, "cat /proc/1/comm")).trim(), "systemd");
    assert.equal((await lab.execOk(GUEST, "hostname")).trim(), GUEST);
    assert.match(await lab.execOk(GUEST, "ip -4 -o addr show dev eth0"), new RegExp(` ${re(lab.guest(GUEST).address)}/24 `));
  });

  test("ipvsadm programs the guest kernel's IPVS table; -Ln, -Sn and /proc/net/ip_vs agree", { timeout: 5 * 60_000 }, async () => {
    await lab.execOk(GUEST, "modprobe ip_vs && ipvsadm -C");
    assert.match(await lab.execOk(GUEST, "cat /proc/modules"), /^ip_vs /m);
    await lab.execOk(GUEST, `ipvsadm -A -t ${VIP}:80 -s wrr && ipvsadm -a -t ${VIP}:80 -r ${RS1}:80 -g -w 2`);

    const ln = await lab.execOk(GUEST, "ipvsadm -Ln");
    assert.match(ln, new RegExp(`^TCP\\s+${re(VIP)}:80 wrr\\s*$`, "m"), ln);
    assert.match(ln, new RegExp(`^\\s+-> ${re(RS1)}:80\\s+Route\\s+2\\s+0\\s+0\\s*$`, "m"), ln);
    assert.deepEqual(saved(await lab.execOk(GUEST, "ipvsadm -Sn")), [`-A -t ${VIP}:80 -s wrr`, `-a -t ${VIP}:80 -r ${RS1}:80 -g -w 2`]);

    const proc = await lab.execOk(GUEST, "cat /proc/net/ip_vs");
    assert.match(proc, new RegExp(`^TCP\\s+${hexAddr(VIP)}:${hexPort(80)} wrr\\s*$`, "m"), proc);
    assert.match(proc, new RegExp(`^\\s+-> ${hexAddr(RS1)}:${hexPort(80)}\\s+Route\\s+2\\s+0\\s+0\\s*$`, "m"), proc);
    assert.equal(proc.split("\n").filter((l) => /^(TCP|UDP|SCTP|FWM)\s/.test(l)).length, 1, proc);

    await lab.execOk(GUEST, "ipvsadm -C");
    assert.deepEqual(saved(await lab.execOk(GUEST, "ipvsadm -Sn")), []);
  });

  test("lvsd's IPVS netlink codecs, on lvsd's socket, program the real kernel and decode its dump", { skip: existsSync(ADDON) ? false : "needs the native addon: run npm run build:native", timeout: 5 * 60_000 }, async () => {
    const tb = Date.now();
    await lab.put(GUEST, `${GUEST_DIR}/ipvs-genl.cjs`, await bundleGuestScript());
    await lab.put(GUEST, `${GUEST_DIR}/lvsd_socket.node`, readFileSync(ADDON), 0o755);
    note(`guest script bundled and copied in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
    const run = async (plan: Plan): Promise<Report> => {
      const t = Date.now();
      const out = await lab.execOk(GUEST, ["node", `${GUEST_DIR}/ipvs-genl.cjs`, JSON.stringify(plan)]);
      note(`guest node run (${plan.ops.length} requests${plan.dump ? ", dump" : ""}) ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return JSON.parse(out) as Report;
    };
    await lab.execOk(GUEST, "modprobe ip_vs && ipvsadm -C");

    const web: ServiceKey = { protocol: IPPROTO_TCP, address: VIP, port: 80 };
    const dns: ServiceKey = { protocol: IPPROTO_UDP, address: VIP, port: 53 };
    const mark: ServiceKey = { fwmark: 7 };
    const plan: Plan = {
      ops: [
        { op: "newService", service: { key: web, scheduler: "wrr" } },
        { op: "newDest", key: web, dest: { address: RS1, port: 80, fwd: "dr", weight: 2 } },
        { op: "newDest", key: web, dest: { address: RS2, port: 8080, fwd: "nat", weight: 5, uThresh: 100, lThresh: 10 } },
        { op: "newService", service: { key: dns, scheduler: "rr" } },
        { op: "newDest", key: dns, dest: { address: RS1, port: 53, fwd: "tun", weight: 1 } },
        { op: "newService", service: { key: mark, scheduler: "sh", flags: IP_VS_SVC_F_PERSISTENT, timeout: 300 } },
        { op: "newDest", key: mark, dest: { address: RS2, port: 0, fwd: "dr", weight: 1 } },
        // the kernel's answers to mistakes come back as errno names
        { op: "newService", service: { key: web, scheduler: "wrr" } },
        { op: "newDest", key: { protocol: IPPROTO_TCP, address: VIP, port: 81 }, dest: { address: RS1, port: 80, fwd: "dr", weight: 1 } },
      ],
      dump: true,
    };
    const r = await run(plan);
    assert.ok("id" in r.family, `IPVS family not resolved: ${JSON.stringify(r.family)}`);
    note(`IPVS genl family id ${r.family.id}, version ${r.family.version}, maxattr ${r.family.maxattr}`);
    assert.equal(r.family.version, 1);
    assert.deepEqual(r.results.map((x) => (x.ok ? "ok" : x.code)), ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "EEXIST", "ESRCH"], JSON.stringify(r.results));

    // What ipvsadm (libipvs, the reference) reads from the kernel is exactly what we sent.
    assert.deepEqual(
      saved(await lab.execOk(GUEST, "ipvsadm -Sn")),
      [
        `-A -t ${VIP}:80 -s wrr`,
        `-a -t ${VIP}:80 -r ${RS1}:80 -g -w 2`,
        `-a -t ${VIP}:80 -r ${RS2}:8080 -m -w 5`,
        `-A -u ${VIP}:53 -s rr`,
        `-a -u ${VIP}:53 -r ${RS1}:53 -i -w 1 --tun-type ipip`,
        `-A -f 7 -s sh -p 300`,
        `-a -f 7 -r ${RS2}:0 -g -w 1`,
      ].sort(),
    );
    // -Sn leaves the connection thresholds out; --thresholds shows them (upper, lower, conns).
    const th = await lab.execOk(GUEST, "ipvsadm -Ln --thresholds");
    assert.match(th, new RegExp(`^\\s+-> ${re(RS2)}:8080\\s+100\\s+10\\s+0\\s+0\\s*$`, "m"), th);
    assert.match(th, new RegExp(`^\\s+-> ${re(RS1)}:80\\s+0\\s+0\\s+0\\s+0\\s*$`, "m"), th);

    // Our decoders read the dump back: the same services and destinations (the kernel adds HASHED
    // to every service in its table; counters are zero without traffic).
    assert.deepEqual(r.decodeErrors, []);
    const table = (r.table ?? []).map((e) => ({ ...e, dests: [...e.dests].sort((a, b) => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`)) }));
    table.sort((a, b) => keyText(a.service.key).localeCompare(keyText(b.service.key)));
    const svc = (key: ServiceKey, scheduler: string, flags = 0, timeout = 0) => ({ key, scheduler, flags: flags | IP_VS_SVC_F_HASHED, timeout, netmask: 0xffffffff });
    const dest = (address: string, port: number, fwd: number, weight: number, uThresh = 0, lThresh = 0) => ({ address, port, fwd, weight, uThresh, lThresh, activeConns: 0, inactConns: 0, persistConns: 0 });
    const want = [
      { service: svc(web, "wrr"), dests: [dest(RS1, 80, IP_VS_CONN_F_DROUTE, 2), dest(RS2, 8080, IP_VS_CONN_F_MASQ, 5, 100, 10)] },
      { service: svc(dns, "rr"), dests: [dest(RS1, 53, IP_VS_CONN_F_TUNNEL, 1)] },
      { service: svc(mark, "sh", IP_VS_SVC_F_PERSISTENT, 300), dests: [dest(RS2, 0, IP_VS_CONN_F_DROUTE, 1)] },
    ].sort((a, b) => keyText(a.service.key).localeCompare(keyText(b.service.key)));
    assert.deepEqual(table, want);

    // Change and delete with our encoders; ipvsadm sees the result.
    const r2 = await run({
      ops: [
        { op: "setDest", key: web, dest: { address: RS2, port: 8080, fwd: "nat", weight: 3 } },
        { op: "delDest", key: web, dest: { address: RS1, port: 80 } },
        { op: "delService", key: dns },
        { op: "delService", key: mark },
        { op: "delService", key: mark },
      ],
      dump: false,
    });
    assert.deepEqual(r2.results.map((x) => (x.ok ? "ok" : x.code)), ["ok", "ok", "ok", "ok", "ESRCH"], JSON.stringify(r2.results));
    assert.deepEqual(saved(await lab.execOk(GUEST, "ipvsadm -Sn")), [`-A -t ${VIP}:80 -s wrr`, `-a -t ${VIP}:80 -r ${RS2}:8080 -m -w 3`].sort());
  });

  test("a power cut and a cold boot: the disk keeps what was synced, the kernel's IPVS table is gone", { timeout: 6 * 60_000 }, async () => {
    await lab.execOk(GUEST, `modprobe ip_vs && ipvsadm -A -t ${VIP}:443 -s rr && echo kept > /root/marker && sync`);
    await lab.kill(GUEST);
    assert.equal(lab.isRunning(GUEST), false);
    const dead = await lab.exec(GUEST, "true", { timeoutMs: 5000 });
    assert.notEqual(dead.code, 0, "SSH to a powered-off guest must not succeed");
    const t = Date.now();
    await lab.start(GUEST);
    note(`cold boot after a power cut ${((Date.now() - t) / 1000).toFixed(1)} s`);
    assert.equal((await lab.execOk(GUEST, "cat /root/marker")).trim(), "kept");
    assert.doesNotMatch(await lab.execOk(GUEST, "cat /proc/modules"), /^ip_vs /m);
    assert.deepEqual(saved(await lab.execOk(GUEST, "modprobe ip_vs && ipvsadm -Sn")), []);
  });
});

// The image's pure parts run everywhere (no root, no qemu).
describe("qemu lab image helpers", () => {
  test("moduleLoadOrder: dependencies first, each once; builtins skipped; - and _ alike", () => {
    const dep = [
      "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/virtio/virtio_ring.ko:",
      "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
      "kernel/net/core/failover.ko:",
      "",
    ].join("\n");
    assert.deepEqual(moduleLoadOrder(dep, ["virtio-blk", "virtio_net", "ext4"], ["kernel/fs/ext4/ext4.ko"]), [
      "kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/virtio/virtio.ko",
      "kernel/drivers/block/virtio_blk.ko",
      "kernel/net/core/failover.ko",
      "kernel/drivers/net/net_failover.ko",
      "kernel/drivers/net/virtio_net.ko",
    ]);
    assert.throws(() => moduleLoadOrder(dep, ["ip_vs"]), /ip_vs is neither in modules\.dep nor in modules\.builtin/);
  });

  test("newcArchive: 110-byte ASCII headers, names and data padded to 4 bytes, then TRAILER!!!", () => {
    const a = newcArchive([{ name: "init", data: Buffer.from("hi\n"), mode: 0o755 }]);
    const h = a.subarray(0, 110).toString("ascii");
    const field = (i: number): number => parseInt(h.slice(6 + 8 * i, 14 + 8 * i), 16);
    assert.equal(h.slice(0, 6), "070701");
    assert.equal(field(1), 0o100755); // mode: regular file, rwxr-xr-x
    assert.equal(field(6), 3); // filesize
    assert.equal(field(11), 5); // namesize, with the NUL
    assert.equal(a.subarray(110, 115).toString("latin1"), "init\0");
    assert.equal(a.subarray(116, 119).toString(), "hi\n"); // 110 + 5 padded to 116
    assert.equal(a.subarray(120, 126).toString(), "070701"); // 116 + 3 padded to 120
    assert.equal(a.subarray(230, 241).toString("latin1"), "TRAILER!!!\0");
    assert.equal(a.length, 244);
    assert.deepEqual(newcArchive([{ name: "init", data: Buffer.from("hi\n"), mode: 0o755 }]), a, "the same inputs give the same bytes");
  });

  test("parseKernelDepends: the versioned cloud kernel behind the metapackage", () => {
    const out = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
    assert.equal(parseKernelDepends(out), "linux-image-6.1.0-56-cloud-amd64");
    assert.equal(parseKernelDepends("linux-image-cloud-amd64\n"), undefined);
  });
});
