import { test } from "node:test";
import assert from "node:assert/strict";
import { FIRST_PASS_BOUND_MS, startOrder } from "../../../../src/daemon/core/startup.js";

test("start order: with services to program and nothing adopted, VRRP waits for the first IPVS pass, bounded", () => {
  const o = startOrder({ needsIpvs: true, adoption: "none" });
  assert.equal(o.engine, "after-first-pass");
  assert.equal(o.engine === "after-first-pass" && o.boundMs, FIRST_PASS_BOUND_MS);
  assert.deepEqual(startOrder({ needsIpvs: true, adoption: "none" }, 2500), { engine: "after-first-pass", boundMs: 2500, why: o.why });
});

test("start order: a crash restart that adopts its VIPs starts VRRP at once, services or not", () => {
  assert.equal(startOrder({ needsIpvs: true, adoption: "adopting" }).engine, "now");
  assert.equal(startOrder({ needsIpvs: false, adoption: "adopting" }).engine, "now");
});

test("start order: a VRRP-only config, or an adoption check that failed, starts VRRP at once", () => {
  assert.equal(startOrder({ needsIpvs: false, adoption: "none" }).engine, "now");
  assert.equal(startOrder({ needsIpvs: true, adoption: "unknown" }).engine, "now");
});
