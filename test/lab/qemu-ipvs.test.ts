// A real IPVS kernel for the project's tests: one Debian 12 guest under qemu (src/lab/qemu.ts)
// with Debian's cloud kernel. Proves (1) the guest has IPVS: ipvsadm programs a service and a
// destination, and `ipvsadm -Ln`, `ipvsadm -Sn` and /proc/net/ip_vs agree; (2) lvsd's own IPVS
// generic netlink codecs (src/daemon/netlink/ipvs.ts) over lvsd's own socket (the native addon),
// bundled for Debian's Node 18 and run in the guest, resolve the family, add IPv4 and IPv6
// services and destinations that ipvsadm then shows exactly, get the kernel's errno for a
// duplicate, change and delete, and decode the kernel's dump back into what was sent (wanted ==
// actual, the kernel's HASHED flag aside); GET_INFO agrees with ipvsadm's header and the timeouts
// set with SET_CONFIG show in ipvsadm and come back from GET_CONFIG; (3) the lab's power cut and
// cold boot (kill/start), the base of failover drills.
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
import { moduleLoadOrder, newcArchive, parseKernelDepends, projectRoot, QemuLab, qemuPrerequisites } from "../../src/lab/index.js";
import {
  canonicalIpvsAddress,
  canonicalServiceKey,
  FWD_METHODS,
  IP_VS_SVC_F_HASHED,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPVS_DEFAULT_NETMASK,
  ipvsVersionText,
  serviceKeyFamily,
  type DestSpec,
  type ServiceKey,
  type ServiceSpec,
} from "../../src/daemon/netlink/index.js";
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
const keyText = (k: ServiceKey): string => ("fwmark" in k ? `fwm ${k.fwmark}${k.family === "inet6" ? " inet6" : ""}` : `${k.protocol} [${k.address}]:${k.port}`);

// What a reconciler compares: the spec it wants, with the kernel's defaults and the decoders'
// address text, against what the decoders read (counters and kernelFlags aside).
const wantedService = (s: ServiceSpec) => ({
  key: canonicalServiceKey(s.key),
  scheduler: s.scheduler,
  flags: s.flags ?? 0,
  timeout: s.timeout ?? 0,
  netmask: s.netmask ?? IPVS_DEFAULT_NETMASK[serviceKeyFamily(s.key)],
});
const wantedDest = (d: DestSpec) => ({ address: canonicalIpvsAddress(d.address), port: d.port, fwd: FWD_METHODS[d.fwd], weight: d.weight, uThresh: d.uThresh ?? 0, lThresh: d.lThresh ?? 0 });
const byAddr = (a: { address: string; port: number }, b: { address: string; port: number }): number => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`);

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

  // Both codec tests run the bundled guest script; the first one copies it in.
  let copied = false;
  const runGuest = async (plan: Plan): Promise<Report> => {
    if (!copied) {
      const tb = Date.now();
      await lab.put(GUEST, `${GUEST_DIR}/ipvs-genl.cjs`, await bundleGuestScript());
      await lab.put(GUEST, `${GUEST_DIR}/lvsd_socket.node`, readFileSync(ADDON), 0o755);
      copied = true;
      note(`guest script bundled and copied in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
    }
    const t = Date.now();
    const out = await lab.execOk(GUEST, ["node", `${GUEST_DIR}/ipvs-genl.cjs`, JSON.stringify(plan)]);
    note(`guest node run (${plan.ops.length} requests${plan.dump ? ", dump" : ""}) ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const r = JSON.parse(out) as Report;
    // LVSLAB_IPVS_RAW=1 prints the kernel's replies as hex (the source of the codec fixtures)
    if (r.raw && process.env["LVSLAB_IPVS_RAW"]) note(`kernel replies (hex): ${JSON.stringify(r.raw)}`);
    return r;
  };
  const codes = (r: Report): string[] => r.results.map((x) => (x.ok ? "ok" : (x.code ?? "?")));
  const needsAddon = existsSync(ADDON) ? false : "needs the native addon: run npm run build:native";

  test("lvsd's IPVS netlink codecs, on lvsd's socket, program the real kernel (IPv4 and IPv6) and decode its dump", { skip: needsAddon, timeout: 5 * 60_000 }, async () => {
    await lab.execOk(GUEST, "modprobe ip_vs && ipvsadm -C");

    // IPv6 lives only in the kernel's IPVS table here (no address is configured, no packet sent).
    const VIP6 = "fd00:78::100";
    const RS6A = "fd00:78:0:0::a"; // written long on purpose: the kernel's answer is fd00:78::a
    const RS6B = "fd00:78::b";
    const web: ServiceKey = { protocol: IPPROTO_TCP, address: VIP, port: 80 };
    const dns: ServiceKey = { protocol: IPPROTO_UDP, address: VIP, port: 53 };
    const mark: ServiceKey = { fwmark: 7 };
    const web6: ServiceKey = { protocol: IPPROTO_TCP, address: VIP6, port: 80 };
    const mark6: ServiceKey = { fwmark: 7, family: "inet6" }; // same mark, the other family: another service
    const services: ServiceSpec[] = [
      { key: web, scheduler: "wrr" },
      { key: dns, scheduler: "rr", flags: IP_VS_SVC_F_ONEPACKET },
      { key: mark, scheduler: "sh", flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2, timeout: 300, netmask: 0xffffff00 },
      { key: web6, scheduler: "wrr" },
      { key: mark6, scheduler: "rr", flags: IP_VS_SVC_F_PERSISTENT, timeout: 120, netmask: 64 },
    ];
    const dests: { key: ServiceKey; dest: DestSpec }[] = [
      { key: web, dest: { address: RS1, port: 80, fwd: "dr", weight: 2 } },
      { key: web, dest: { address: RS2, port: 8080, fwd: "nat", weight: 5, uThresh: 100, lThresh: 10 } },
      { key: dns, dest: { address: RS1, port: 53, fwd: "tun", weight: 1 } },
      // an IPv6 tunnel destination of an IPv4 service (the one mixed pool the kernel allows)
      { key: dns, dest: { address: RS6B, port: 53, fwd: "tun", weight: 1 } },
      { key: mark, dest: { address: RS2, port: 0, fwd: "dr", weight: 1 } },
      { key: web6, dest: { address: RS6A, port: 80, fwd: "dr", weight: 2 } },
      { key: web6, dest: { address: RS6B, port: 8080, fwd: "nat", weight: 5, uThresh: 100, lThresh: 10 } },
      { key: mark6, dest: { address: RS6A, port: 0, fwd: "dr", weight: 1 } },
    ];
    const r = await runGuest({
      ops: [
        ...services.map((service) => ({ op: "newService" as const, service })),
        ...dests.map((d) => ({ op: "newDest" as const, ...d })),
        // the kernel's answers to mistakes come back as errno names
        { op: "newService", service: { key: web, scheduler: "wrr" } },
        { op: "newService", service: { key: web6, scheduler: "wrr" } },
        { op: "newDest", key: { protocol: IPPROTO_TCP, address: VIP, port: 81 }, dest: { address: RS1, port: 80, fwd: "dr", weight: 1 } },
        { op: "newDest", key: { fwmark: 9, family: "inet6" }, dest: { address: RS6A, port: 0, fwd: "dr", weight: 1 } },
      ],
      dump: true,
      raw: true,
    });
    assert.ok("id" in r.family, `IPVS family not resolved: ${JSON.stringify(r.family)}`);
    note(`IPVS genl family id ${r.family.id}, version ${r.family.version}, maxattr ${r.family.maxattr}`);
    assert.equal(r.family.version, 1);
    assert.deepEqual(codes(r), [...services.map(() => "ok"), ...dests.map(() => "ok"), "EEXIST", "EEXIST", "ESRCH", "ESRCH"], JSON.stringify(r.results));

    // What ipvsadm (libipvs, the reference) reads from the kernel is exactly what we sent: IPv6
    // addresses, the IPv6 prefix length and the IPv4 mask (both byte orders), the settable flags.
    const sn = await lab.execOk(GUEST, "ipvsadm -Sn");
    note(`ipvsadm -Sn:\n${sn}`);
    assert.deepEqual(
      saved(sn),
      [
        `-A -t ${VIP}:80 -s wrr`,
        `-a -t ${VIP}:80 -r ${RS1}:80 -g -w 2`,
        `-a -t ${VIP}:80 -r ${RS2}:8080 -m -w 5`,
        `-A -u ${VIP}:53 -s rr -o`,
        `-a -u ${VIP}:53 -r ${RS1}:53 -i -w 1 --tun-type ipip`,
        `-a -u ${VIP}:53 -r [fd00:78::b]:53 -i -w 1 --tun-type ipip`,
        `-A -f 7 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port`,
        `-a -f 7 -r ${RS2}:0 -g -w 1`,
        `-A -t [fd00:78::100]:80 -s wrr`,
        `-a -t [fd00:78::100]:80 -r [fd00:78::a]:80 -g -w 2`,
        `-a -t [fd00:78::100]:80 -r [fd00:78::b]:8080 -m -w 5`,
        `-A -f 7 -6 -s rr -p 120 -M 64`,
        `-a -f 7 -6 -r [fd00:78::a]:0 -g -w 1`,
      ].sort(),
    );
    // -Sn leaves the connection thresholds out; --thresholds shows them (upper, lower, conns).
    const th = await lab.execOk(GUEST, "ipvsadm -Ln --thresholds");
    assert.match(th, new RegExp(`^\\s+-> ${re(RS2)}:8080\\s+100\\s+10\\s+0\\s+0\\s*$`, "m"), th);
    assert.match(th, new RegExp(`^\\s+-> ${re(RS1)}:80\\s+0\\s+0\\s+0\\s+0\\s*$`, "m"), th);
    assert.match(th, /^\s+-> \[fd00:78::b\]:8080\s+100\s+10\s+0\s+0\s*$/m, th);

    // Our decoders read the dump back, and wanted == actual: each decoded service is the spec we
    // sent with its defaults filled in (flags: the settable bits; the kernel's HASHED only in
    // kernelFlags), each destination the DestSpec we sent. Counters are zero without traffic.
    assert.deepEqual(r.decodeErrors, []);
    const table = r.table ?? [];
    const byKey = (k: ServiceKey) => table.find((e) => keyText(e.service.key) === keyText(canonicalServiceKey(k)));
    assert.equal(table.length, services.length, JSON.stringify(table.map((e) => e.service.key)));
    for (const spec of services) {
      const got = byKey(spec.key);
      assert.ok(got, `service ${keyText(spec.key)} missing from the dump`);
      const { kernelFlags, stats: _stats, ...actual } = got.service;
      assert.deepEqual(actual, wantedService(spec), keyText(spec.key));
      assert.equal(kernelFlags, (spec.flags ?? 0) | IP_VS_SVC_F_HASHED, `${keyText(spec.key)} kernelFlags`);
      const want = dests.filter((d) => keyText(d.key) === keyText(spec.key)).map((d) => wantedDest(d.dest)).sort(byAddr);
      const actualDests = got.dests.map(({ activeConns, inactConns, persistConns, stats: _s, tunType, tunPort, tunFlags, ...d }) => {
        assert.deepEqual([activeConns, inactConns, persistConns], [0, 0, 0]);
        // Kernels since 5.2 report the tunnel settings of every destination: ipip, no port, no flags.
        assert.deepEqual([tunType ?? 0, tunPort ?? 0, tunFlags ?? 0], [0, 0, 0], `${d.address} tunnel attributes`);
        return d;
      });
      assert.deepEqual(actualDests.sort(byAddr), want, `${keyText(spec.key)} destinations`);
    }

    // Change and delete with our encoders; ipvsadm sees the result. The IPv6 destination of the
    // IPv4 service is found for DEL_DEST only through its own ADDR_FAMILY.
    const r2 = await runGuest({
      ops: [
        { op: "setDest", key: web, dest: { address: RS2, port: 8080, fwd: "nat", weight: 3 } },
        { op: "delDest", key: web, dest: { address: RS1, port: 80 } },
        { op: "delDest", key: dns, dest: { address: RS6B, port: 53 } },
        { op: "setDest", key: web6, dest: { address: RS6B, port: 8080, fwd: "dr", weight: 4 } },
        { op: "setService", service: { key: mark6, scheduler: "wrr" } },
        { op: "delService", key: mark },
        { op: "delService", key: mark },
      ],
      dump: false,
    });
    assert.deepEqual(codes(r2), ["ok", "ok", "ok", "ok", "ok", "ok", "ESRCH"], JSON.stringify(r2.results));
    assert.deepEqual(
      saved(await lab.execOk(GUEST, "ipvsadm -Sn")),
      [
        `-A -t ${VIP}:80 -s wrr`,
        `-a -t ${VIP}:80 -r ${RS2}:8080 -m -w 3`,
        `-A -u ${VIP}:53 -s rr -o`,
        `-a -u ${VIP}:53 -r ${RS1}:53 -i -w 1 --tun-type ipip`,
        `-A -t [fd00:78::100]:80 -s wrr`,
        `-a -t [fd00:78::100]:80 -r [fd00:78::a]:80 -g -w 2`,
        `-a -t [fd00:78::100]:80 -r [fd00:78::b]:8080 -g -w 4`,
        `-A -f 7 -6 -s wrr`,
        `-a -f 7 -6 -r [fd00:78::a]:0 -g -w 1`,
      ].sort(),
    );
    await lab.execOk(GUEST, "ipvsadm -C");
  });

  test("a batch of requests in few datagrams: each answer maps to its own request, a failure does not stop the rest", { skip: needsAddon, timeout: 5 * 60_000 }, async () => {
    await lab.execOk(GUEST, "modprobe ip_vs && ipvsadm -C");
    const web: ServiceKey = { protocol: IPPROTO_TCP, address: VIP, port: 80 };
    const dns: ServiceKey = { protocol: IPPROTO_UDP, address: VIP, port: 53 };
    const ops: Plan["ops"] = [
      { op: "newService", service: { key: web, scheduler: "wrr" } },
      { op: "newDest", key: web, dest: { address: RS1, port: 80, fwd: "dr", weight: 2 } },
      { op: "newService", service: { key: web, scheduler: "wrr" } },
      { op: "newDest", key: { protocol: IPPROTO_TCP, address: VIP, port: 81 }, dest: { address: RS1, port: 80, fwd: "dr", weight: 1 } },
      { op: "newDest", key: web, dest: { address: RS2, port: 80, fwd: "dr", weight: 3 } },
      { op: "newService", service: { key: dns, scheduler: "rr" } },
      { op: "newDest", key: dns, dest: { address: RS1, port: 53, fwd: "dr", weight: 1 } },
    ];
    const want = ["ok", "ok", "EEXIST", "ESRCH", "ok", "ok", "ok"];
    const table = [`-A -t ${VIP}:80 -s wrr`, `-a -t ${VIP}:80 -r ${RS1}:80 -g -w 2`, `-a -t ${VIP}:80 -r ${RS2}:80 -g -w 3`, `-A -u ${VIP}:53 -s rr`, `-a -u ${VIP}:53 -r ${RS1}:53 -g -w 1`].sort();
    // lvsd's way: an ACK asked of each datagram's last message only, the failures answering anyway;
    // 300 bytes a datagram: [0, 1] [2, 3] [4, 5] [6]; the EEXIST comes from a request that asked
    // for no ACK (2), the ESRCH from one that did (3)
    const errors = await runGuest({ ops, dump: false, batch: { acks: "errors", maxBytes: 300 } });
    assert.deepEqual(codes(errors), want, JSON.stringify(errors.results));
    assert.deepEqual(saved(await lab.execOk(GUEST, "ipvsadm -Sn")), table);
    // an ACK for every request, all in one datagram
    await lab.execOk(GUEST, "ipvsadm -C");
    const each = await runGuest({ ops, dump: false, batch: { acks: "each", maxBytes: 65536 } });
    assert.deepEqual(codes(each), want, JSON.stringify(each.results));
    assert.deepEqual(saved(await lab.execOk(GUEST, "ipvsadm -Sn")), table);
    await lab.execOk(GUEST, "ipvsadm -C");
  });

  test("GET_INFO matches ipvsadm's header; timeouts set by SET_CONFIG show in ipvsadm and read back by GET_CONFIG", { skip: needsAddon, timeout: 5 * 60_000 }, async () => {
    await lab.execOk(GUEST, "modprobe ip_vs");
    const timeoutLine = async () => (await lab.execOk(GUEST, "ipvsadm -L --timeout")).trim();
    // Start from values ipvsadm set (not the defaults, which are 900 120 300 already).
    await lab.execOk(GUEST, "ipvsadm --set 1000 100 100");
    const r = await runGuest({ ops: [], dump: false, info: true, config: true, raw: true });
    assert.deepEqual(r.decodeErrors, []);
    const header = (await lab.execOk(GUEST, "ipvsadm -Ln")).split("\n")[0] ?? "";
    note(`ipvsadm header: ${header}; ours: ${JSON.stringify(r.info)}`);
    assert.ok(r.info, "no GET_INFO reply");
    assert.equal(header, `IP Virtual Server version ${ipvsVersionText(r.info.version)} (size=${r.info.connTabSize})`);
    assert.deepEqual(r.timeouts, { tcp: 1000, tcpFin: 100, udp: 100 });

    // Only the timeouts given are sent, and the kernel keeps the others.
    const r1 = await runGuest({ ops: [{ op: "setConfig", timeouts: { udp: 60 } }], dump: false, config: true });
    assert.deepEqual(codes(r1), ["ok"]);
    assert.deepEqual(r1.timeouts, { tcp: 1000, tcpFin: 100, udp: 60 });
    assert.equal(await timeoutLine(), "Timeout (tcp tcpfin udp): 1000 100 60");

    const r2 = await runGuest({ ops: [{ op: "setConfig", timeouts: { tcp: 900, tcpFin: 120, udp: 300 } }], dump: false, config: true });
    assert.deepEqual(codes(r2), ["ok"]);
    assert.equal(await timeoutLine(), "Timeout (tcp tcpfin udp): 900 120 300");
    assert.deepEqual(r2.timeouts, { tcp: 900, tcpFin: 120, udp: 300 });
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
