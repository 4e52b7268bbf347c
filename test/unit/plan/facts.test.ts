import { argv } from "../../../src/command/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  emptyRequest,
  factScript,
  mergeRequests,
  parseFacts,
  parseIpAddr,
  parseOsRelease,
  parsePackages,
  parseRouteLine,
  sysctlKey,
  sysctlPath,
} from "../../../src/plan/facts.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/plan/${name}`, import.meta.url), "utf8");

// The request test/fixtures/plan/facts-debian12.txt was gathered with (a lab container: Debian 12
// with systemd, a VIP on lo, a default route, files under /opt/b).
const debianReq = mergeRequests({
  sysctls: ["net.ipv4.conf.*.arp_ignore", "net.ipv4.conf.all.arp_announce", "net.ipv4.ip_forward", "net.ipv4.tcp_rmem"],
  sha256: ["/etc/hostname", "/etc/nonexistent"],
  stats: ["/etc/hostname"],
  exists: ["/etc", "/nope"],
  contents: ["/etc/hostname", "/nope"],
  manifests: ["/opt/b", "/nodir"],
  units: ["ssh.service", "nope.service", "sshd.service", "systemd-networkd-wait-online.service"],
  packages: ["openssh-server", "nonexist"],
  routeTo: ["10.77.1.1", "127.0.0.1"],
  guards: [argv("test", "-d", "/etc"), argv("test", "-d", "/nope")],
  optional: ["node"],
});

test("a real Debian 12 output (systemd container) parses into every fact", () => {
  const f = parseFacts(fixture("facts-debian12.txt"), debianReq);
  assert.equal(f.os.family, "debian");
  assert.equal(f.os.versionId, "12");
  assert.equal(f.packageManager, "apt");
  assert.equal(f.init, "systemd");
  assert.equal(f.nodeVersion, "18.20.4");
  assert.deepEqual(
    f.addresses.filter((a) => a.family === "inet").map((a) => `${a.dev} ${a.address}/${a.prefix}`),
    ["lo 127.0.0.1/8", "lo 10.77.9.9/32", "eth0 10.77.1.10/24"],
  );
  assert.deepEqual(f.links.map((l) => l.name), ["lo", "eth0"]);
  assert.equal(f.links[1]!.mac, "de:9c:30:16:31:ef");
  assert.deepEqual(f.defaultRoutes, [{ to: "default", via: "10.77.1.1", dev: "eth0" }]);
  assert.deepEqual(f.routes["10.77.1.1"], { to: "10.77.1.1", dev: "eth0", src: "10.77.1.10" });
  assert.equal(f.routes["127.0.0.1"]!.type, "local");
  assert.equal(f.sysctls["net.ipv4.conf.eth0.arp_ignore"], "0");
  assert.equal(f.sysctls["net.ipv4.ip_forward"], "1");
  assert.equal(f.sysctls["net.ipv4.tcp_rmem"], "4096 131072 33554432", "a whole multi-value sysctl, tabs normalised");
  assert.equal(f.sha256["/etc/hostname"], "fa347eb70a4d91f765ee8d48e892e3a7e07df3d4d76d1feb2a0feea19d9c83f6");
  assert.equal(f.sha256["/etc/nonexistent"], undefined);
  assert.deepEqual(f.stats["/etc/hostname"], { mode: 0o644, owner: "root", group: "root" });
  assert.deepEqual(f.exists, ["/etc"]);
  assert.equal(f.contents["/etc/hostname"]!.toString(), "r1\n");
  assert.equal(f.contents["/nope"], undefined);
  assert.deepEqual(Object.keys(f.manifests["/opt/b"]!).sort(), ["a", "sub/c"]);
  assert.equal(f.manifests["/nodir"], undefined);
  assert.deepEqual(f.units, {
    "nope.service": { enabled: "not-found", active: "inactive" },
    "ssh.service": { enabled: "enabled", active: "active" },
    "sshd.service": { enabled: "enabled", active: "active" }, // an alias answers as ssh.service
    "systemd-networkd-wait-online.service": { enabled: "masked", active: "inactive" },
  });
  assert.deepEqual(f.packages, { "openssh-server": "1:9.2p1-2+deb12u10" });
  assert.deepEqual(f.guards, { "test -d /etc": 0, "test -d /nope": 1 });
});

test("node is gathered only when asked for (it costs a Node start-up on every host)", () => {
  assert.doesNotMatch(factScript(emptyRequest()).shell, /node --version/);
  assert.match(factScript(mergeRequests({ optional: ["node"] })).shell, /node --version/);
});

test("a Rocky 9 real server: VLAN sysctls, veth names, rpm-style packages", () => {
  const f = parseFacts(fixture("facts-rs1.txt"), mergeRequests({ units: ["lvs-rs-vip.service", "nginx.service"] }));
  assert.equal(f.os.family, "redhat");
  assert.equal(f.packageManager, "dnf");
  assert.equal(f.init, "systemd");
  assert.equal(f.nodeVersion, undefined);
  assert.ok(f.addresses.some((a) => a.dev === "ens3" && a.address === "10.0.0.21"));
  assert.ok(f.addresses.some((a) => a.dev === "lo" && a.address === "10.0.0.100" && a.prefix === 32));
  assert.equal(f.links[2]!.name, "eth1.100");
  // A dot in an interface name is a slash in the sysctl key (sysctl(8)).
  assert.equal(f.sysctls["net.ipv4.conf.eth1/100.arp_ignore"], "0");
  assert.equal(f.routes["10.0.0.11"]!.dev, "ens3");
  assert.deepEqual(f.units["lvs-rs-vip.service"], { enabled: "enabled", active: "active" });
});

test("incomplete output (cut connection) is an error, not empty facts", () => {
  const text = fixture("facts-rs1.txt").replace(/@@lvsctl-fact end@@\n?$/, "");
  assert.throws(() => parseFacts(text, emptyRequest()), /incomplete/);
});

test("sysctl keys and /proc/sys paths map both ways, VLAN dots included", () => {
  assert.equal(sysctlPath("net.ipv4.conf.eth0/100.arp_ignore"), "/proc/sys/net/ipv4/conf/eth0.100/arp_ignore");
  assert.equal(sysctlKey("/proc/sys/net/ipv4/conf/eth0.100/arp_ignore"), "net.ipv4.conf.eth0/100.arp_ignore");
});

test("the script quotes paths and leaves sysctl globs for the shell", () => {
  const s = factScript(mergeRequests({ sha256: ["/etc/it's here"], sysctls: ["net.ipv4.conf.*.arp_ignore"] })).shell;
  assert.ok(s.includes(`'/etc/it'\\''s here'`));
  assert.ok(s.includes("/proc/sys/net/ipv4/conf/*/arp_ignore"));
  // one exec: one script with a final end marker
  assert.match(s, /m end; true\n$/);
  // read-only: nothing in the base script writes
  assert.doesNotMatch(factScript(emptyRequest()).shell, /\b(rm|mv|tee|sysctl -w|systemctl (start|enable|restart))\b|>\s*\/(?!dev\/null)/);
});

test("os-release: quoting and families", () => {
  assert.equal(parseOsRelease('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"').family, "debian");
  assert.equal(parseOsRelease("ID=fedora\n").family, "redhat");
  assert.equal(parseOsRelease("ID=opensuse-leap\nID_LIKE=\"suse opensuse\"").family, "suse");
  assert.equal(parseOsRelease("").family, "unknown");
});

test("ip -o addr: IPv6 and peer-suffixed names", () => {
  const a = parseIpAddr("5: veth0@if4    inet6 FD00::5/64 scope global \\       valid_lft forever preferred_lft forever\n");
  assert.deepEqual(a, [{ dev: "veth0", family: "inet6", address: "fd00::5", prefix: 64, scope: "global" }]);
});

test("routes: unreachable and via", () => {
  assert.deepEqual(parseRouteLine("unreachable 10.9.9.9 uid 0", "10.9.9.9"), { to: "10.9.9.9", type: "unreachable" });
  assert.deepEqual(parseRouteLine("8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache", "8.8.8.8"), { to: "8.8.8.8", via: "192.0.2.1", dev: "eth0", src: "192.0.2.2" });
});

test("packages: half-installed (rc) is not installed", () => {
  assert.deepEqual(parsePackages("keepalived\trc \t1:2.2.7-1\nipvsadm\tii \t1:1.31-1\n"), { ipvsadm: "1:1.31-1" });
});
