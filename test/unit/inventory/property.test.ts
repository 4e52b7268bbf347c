// Properties of resolve() over generated valid clusters: whatever the sizes, a clean inventory
// loads without errors, every instance has exactly one initial MASTER (the highest priority),
// default priorities are distinct, unicast peers are the other directors, and directors differ
// only where they must.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import { formatDiagnostic, parseInventory } from "../../../src/inventory/index.js";

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 150);

const cluster = fc.record({
  directors: fc.integer({ min: 1, max: 5 }),
  realServers: fc.integer({ min: 1, max: 6 }),
  instances: fc.integer({ min: 1, max: 4 }),
  unicast: fc.boolean(),
  version: fc.constantFrom(2, 3),
  kind: fc.constantFrom("DR", "NAT", "TUN"),
  algo: fc.constantFrom("rr", "wrr", "wlc", "sh", "mh"),
  order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  port: fc.integer({ min: 1, max: 65535 }),
});

type Gen = typeof cluster extends fc.Arbitrary<infer T> ? T : never;

function build(c: Gen): unknown {
  const ds = Array.from({ length: c.directors }, (_, i) => `ds${i + 1}`);
  // The directors group lists them in a shuffled order: priorities follow the group, not names.
  const order = [...ds].sort((a, b) => (c.order[ds.indexOf(a)] ?? 0) - (c.order[ds.indexOf(b)] ?? 0) || a.localeCompare(b));
  const rs = Array.from({ length: c.realServers }, (_, i) => `rs${i + 1}`);
  const hosts: Record<string, unknown> = {};
  ds.forEach((d, i) => (hosts[d] = { address: `10.77.0.${11 + i}` }));
  rs.forEach((r, i) => (hosts[r] = { address: `10.77.0.${31 + i}` }));
  return {
    hosts,
    groups: { directors: { hosts: order }, realservers: { hosts: rs } },
    vrrp_instances: Array.from({ length: c.instances }, (_, i) => ({
      name: `VI_${i + 1}`,
      interface: "eth0",
      virtual_router_id: 50 + i,
      version: c.version,
      ...(c.unicast ? { unicast: true } : {}),
      // The first instance also holds the NAT real servers' gateway.
      virtual_ipaddress: [`10.77.0.${100 + i}/24`, ...(i === 0 && c.kind === "NAT" ? ["10.77.0.1/24"] : [])],
    })),
    virtual_servers: Array.from({ length: c.instances }, (_, i) => ({
      vip: `10.77.0.${100 + i}`,
      port: c.port,
      lb_kind: c.kind,
      lb_algo: c.algo,
      real_servers: rs.map((h) => ({ host: h })),
    })),
  };
}

test("generated clean clusters load without any diagnostic and resolve consistently", () => {
  fc.assert(
    fc.property(cluster, (c) => {
      const inv = build(c) as { groups: { directors: { hosts: string[] } } };
      const r = parseInventory(stringify(inv), "gen.yml", { env: {} });
      assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
      assert.ok(r.ok);
      const { directors, services } = r.cluster;
      assert.deepEqual(directors.map((d) => d.host.name), inv.groups.directors.hosts);
      for (let i = 0; i < c.instances; i++) {
        const runs = directors.map((d) => ({ d, inst: d.instances[i]! }));
        const prios = runs.map((x) => x.inst.priority);
        assert.equal(new Set(prios).size, prios.length, "default priorities are distinct");
        assert.deepEqual(prios, [...prios].sort((a, b) => b - a), "priorities fall in group order");
        assert.deepEqual(runs.filter((x) => x.inst.state === "MASTER").map((x) => x.d.host.name), [directors[0]!.host.name]);
        for (const { d, inst } of runs) {
          if (c.unicast) {
            assert.equal(inst.unicastSrcIp, d.host.address);
            assert.deepEqual(inst.unicastPeers, directors.filter((o) => o !== d).map((o) => o.host.address));
          } else {
            assert.deepEqual(inst.unicastPeers, []);
          }
          const { priority: _p, state: _s, unicastSrcIp: _u, unicastPeers: _q, ...same } = inst;
          const { priority: _p0, state: _s0, unicastSrcIp: _u0, unicastPeers: _q0, ...first } = runs[0]!.inst;
          assert.deepEqual(same, first, "directors differ only in priority, state and unicast addresses");
        }
      }
      for (const s of services) for (const rsv of s.realServers) assert.equal(rsv.port, c.port);
    }),
    { numRuns: RUNS },
  );
});

test("breaking one thing in a generated cluster yields exactly that error", () => {
  const breakers: [string, (inv: Record<string, any>) => void][] = [
    ["LVS300", (inv) => inv["vrrp_instances"].push({ ...inv["vrrp_instances"][0], name: "VI_dup", virtual_ipaddress: ["10.77.0.250/24"] })],
    ["LVS201", (inv) => inv["groups"].directors.hosts.push("ghost")],
    ["LVS402", (inv) => (inv["virtual_servers"][0].real_servers[0].port = (inv["virtual_servers"][0].port % 65535) + 1)],
    ["LVS406", (inv) => inv["virtual_servers"][0].real_servers.push({ host: "ds1" })],
    ["LVS307", (inv) => inv["vrrp_instances"][0].virtual_ipaddress.push(inv["vrrp_instances"][0].virtual_ipaddress[0])],
  ];
  fc.assert(
    fc.property(cluster, fc.nat({ max: breakers.length - 1 }), (c, b) => {
      const [code, breakIt] = breakers[b]!;
      if (code === "LVS402" && c.kind === "NAT") return; // NAT may remap ports
      const inv = build(c) as Record<string, any>;
      breakIt(inv);
      const r = parseInventory(stringify(inv), "gen.yml", { env: {} });
      const errors = r.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
      assert.ok(errors.length > 0 && errors.every((e) => e === code), `${code}: ${r.diagnostics.map(formatDiagnostic).join("\n")}`);
    }),
    { numRuns: RUNS },
  );
});
