// directorSysctls(): the director baseline, decided from the services, then director.sysctls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { directorSysctls, formatDiagnostic, parseInventory, type Cluster, type ResolvedService } from "../../../src/inventory/index.js";
import { BASE, VI } from "./helpers.js";

const IPVS = ["net.ipv4.vs.expire_nodest_conn=1", "net.ipv4.vs.expire_quiescent_template=1"];
const NAT4 = ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"];

function svc(patch: Partial<ResolvedService>): ResolvedService {
  return { name: "s", protocol: "TCP", lbAlgo: "rr", lbKind: "NAT", realServers: [], ...patch };
}
const rs = (address: string) => ({ address, port: 80, weight: 1, inhibitOnFailure: false });
const kv = (c: Pick<Cluster, "services" | "directorSysctls">) => directorSysctls(c).map((l) => `${l.key}=${l.value}`);

test("DR only: the two IPVS expiry keys, nothing forwarded", () => {
  assert.deepEqual(kv({ services: [svc({ lbKind: "DR", vip: "192.0.2.1", port: 80 })], directorSysctls: {} }), IPVS);
});

test("VRRP-only (no virtual service): no IPVS key, an explicit one still goes in", () => {
  assert.deepEqual(kv({ services: [], directorSysctls: {} }), []);
  assert.deepEqual(kv({ services: [], directorSysctls: { "net.ipv4.vs.conntrack": "1" } }), ["net.ipv4.vs.conntrack=1"]);
});

test("NAT: forwarding in each family a service uses, ICMP redirects off for IPv4 only", () => {
  assert.deepEqual(kv({ services: [svc({ vip: "192.0.2.1", port: 80 })], directorSysctls: {} }), [...NAT4, ...IPVS]);
  assert.deepEqual(kv({ services: [svc({ vip: "2001:db8::1", port: 80 })], directorSysctls: {} }), ["net.ipv6.conf.all.forwarding=1", ...IPVS]);
  assert.deepEqual(
    kv({ services: [svc({ vip: "192.0.2.1", port: 80 }), svc({ vip: "2001:db8::1", port: 80 })], directorSysctls: {} }),
    ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0", ...IPVS],
  );
  // A fwmark service has no VIP: its real servers tell the family.
  assert.deepEqual(kv({ services: [svc({ fwmark: 1, realServers: [rs("2001:db8::10")] })], directorSysctls: {} }), ["net.ipv6.conf.all.forwarding=1", ...IPVS]);
  assert.deepEqual(kv({ services: [svc({ fwmark: 1, realServers: [rs("10.0.0.10")] })], directorSysctls: {} }), [...NAT4, ...IPVS]);
});

test("the first forwarding line carries the NAT comment, overrides and additions carry none of their own", () => {
  const v6 = directorSysctls({ services: [svc({ vip: "2001:db8::1", port: 80 })], directorSysctls: {} });
  assert.match(v6[0]!.why ?? "", /^NAT: replies/);
  const both = directorSysctls({ services: [svc({ vip: "192.0.2.1", port: 80 }), svc({ vip: "2001:db8::1", port: 80 })], directorSysctls: {} });
  assert.equal(both[1]!.key, "net.ipv6.conf.all.forwarding");
  assert.equal(both[1]!.why, undefined);
});

test("director.sysctls from the inventory: replaces a baseline value in place, adds new keys at the end by name", () => {
  const r = parseInventory(
    BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, lb_kind: NAT, real_servers: [{ host: rs1 }] }\n" +
      "director:\n  sysctls: { net.ipv4.vs.expire_nodest_conn: 0, net.ipv4.vs.conntrack: 1, net.core.somaxconn: \"4096\" }\n",
    "inv.yml",
    { env: {} },
  );
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join("\n"));
  const lines = directorSysctls(r.cluster);
  assert.deepEqual(
    lines.map((l) => `${l.key}=${l.value}`),
    [...NAT4, "net.ipv4.vs.expire_nodest_conn=0", "net.ipv4.vs.expire_quiescent_template=1", "net.core.somaxconn=4096", "net.ipv4.vs.conntrack=1"],
  );
  assert.match(lines.find((l) => l.key === "net.ipv4.vs.expire_nodest_conn")!.why ?? "", /removed real server/, "an overridden baseline key keeps its place and comment");
});

test("NAT: each of the director's interfaces gets its own send_redirects 0, optional (all/ alone leaves an existing interface's switch on)", () => {
  const lines = directorSysctls({ services: [svc({ vip: "192.0.2.1", port: 80 })], directorSysctls: {} }, ["eth0", "eth1.100", "eth0"]);
  assert.deepEqual(
    lines.map((l) => `${l.optional ? "-" : ""}${l.key}=${l.value}`),
    [...NAT4, "-net.ipv4.conf.eth0.send_redirects=0", "-net.ipv4.conf.eth1/100.send_redirects=0", ...IPVS],
  );
  assert.match(lines[3]!.why ?? "", /either one enables redirects/);
  // DR and IPv6-only NAT send no redirects to worry about: no interface lines.
  assert.deepEqual(directorSysctls({ services: [svc({ lbKind: "DR", vip: "192.0.2.1", port: 80 })], directorSysctls: {} }, ["eth0"]).map((l) => `${l.key}=${l.value}`), IPVS);
  assert.deepEqual(directorSysctls({ services: [svc({ vip: "2001:db8::1", port: 80 })], directorSysctls: {} }, ["eth0"]).map((l) => l.key), ["net.ipv6.conf.all.forwarding", "net.ipv4.vs.expire_nodest_conn", "net.ipv4.vs.expire_quiescent_template"]);
});
