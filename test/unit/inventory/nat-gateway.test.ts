// The NAT gateway a real server routes through: given, or the one non-service VRRP VIP on its network.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inSubnet, natGateway } from "../../../src/inventory/topology.js";

test("inSubnet: IPv4 and IPv6 prefixes, embedded IPv4, families never mix", () => {
  assert.ok(inSubnet("10.77.0.31", "10.77.0.1", 24));
  assert.ok(!inSubnet("10.77.1.31", "10.77.0.1", 24));
  assert.ok(inSubnet("10.77.1.31", "10.77.0.1", 16));
  assert.ok(inSubnet("fd00:77::31", "fd00:77::1", 64));
  assert.ok(!inSubnet("fd00:78::31", "fd00:77::1", 64));
  assert.ok(inSubnet("2001:db8:0:0:1::5", "2001:db8::", 48));
  assert.ok(inSubnet("::ffff:10.0.0.5", "::ffff:10.0.0.1", 120));
  assert.ok(!inSubnet("10.0.0.5", "::ffff:10.0.0.1", 96));
});

test("natGateway: the given one; else exactly one VRRP VIP on the network that is no service's", () => {
  const vips = [{ address: "10.77.0.110", prefix: 24 }, { address: "10.77.0.1", prefix: 24 }, { address: "10.77.5.1", prefix: 32 }];
  const services = new Set(["10.77.0.110"]);
  assert.deepEqual(natGateway("10.77.0.9", "10.77.0.31", vips, services), { gateway: "10.77.0.9", inferred: false });
  assert.deepEqual(natGateway(undefined, "10.77.0.31", vips, services), { gateway: "10.77.0.1", inferred: true });
  assert.equal(natGateway(undefined, "10.77.0.31", vips, new Set()), undefined, "two candidates: none chosen");
  assert.equal(natGateway(undefined, "10.77.5.31", vips, services), undefined, "a /32 VIP tells no network");
});
