import { test } from "node:test";
import assert from "node:assert/strict";
import { checkAdvert, type FilterInput, type FilterInstance } from "../../../../src/daemon/vrrp/filter.js";
import { passAuthData } from "../../../../src/daemon/vrrp/packet.js";

const inst: FilterInstance = { version: 2, advertIntervalMs: 1000, vips: [{ address: "10.88.0.100" }] };
const good: FilterInput = { source: "10.88.0.3", ttl: 255, version: 2, intervalMs: 1000, authType: 0, addresses: ["10.88.0.100"] };

test("filter: a matching advert passes without warnings", () => {
  assert.deepEqual(checkAdvert(good, inst), { ok: true, warnings: [] });
});

test("filter: each check has its own reason, TTL first", () => {
  const reason = (a: Partial<FilterInput>, i: Partial<FilterInstance> = {}) => {
    const r = checkAdvert({ ...good, ...a }, { ...inst, ...i });
    return r.ok ? "ok" : r.reason;
  };
  assert.equal(reason({ ttl: 64, version: 3 }), "ttl");
  assert.equal(reason({ version: 3 }), "version");
  assert.equal(reason({ authType: 1, authData: passAuthData("x") }), "auth-type");
  assert.equal(reason({ authType: 0 }, { authPass: "secret" }), "auth-type");
  assert.equal(reason({ authType: 1, authData: passAuthData("other") }, { authPass: "secret" }), "auth");
  assert.equal(reason({ authType: 1, authData: passAuthData("secret") }, { authPass: "secret" }), "ok");
  assert.equal(reason({ intervalMs: 2000 }), "interval");
  assert.equal(reason({}, { unicastPeers: ["10.88.0.4"] }), "unicast-peer");
  assert.equal(reason({}, { unicastPeers: ["10.88.0.3"] }), "ok");
  // v3 learns the interval instead of rejecting it, and has no authentication
  assert.equal(reason({ version: 3, intervalMs: 100, authType: 0 }, { version: 3 }), "ok");
});

test("filter: PASS compares the NUL-padded 8 octets (longer passwords are cut, as keepalived does)", () => {
  assert.deepEqual(passAuthData("abc"), Buffer.from([0x61, 0x62, 0x63, 0, 0, 0, 0, 0]));
  assert.deepEqual(passAuthData("123456789"), Buffer.from("12345678"));
});

test("filter: a different address list is accepted with a warning (RFC 3768 §7.1 MAY)", () => {
  assert.deepEqual(checkAdvert({ ...good, addresses: ["10.88.0.101"] }, inst), { ok: true, warnings: ["addresses"] });
});

test("filter: a v3 checksum without the IPv4 pseudo-header is refused unless the instance is lenient", () => {
  const v3: FilterInstance = { version: 3, advertIntervalMs: 100, vips: [{ address: "10.88.0.100" }] };
  const a: FilterInput = { ...good, version: 3, intervalMs: 100 };
  assert.deepEqual(checkAdvert({ ...a, checksum: "pseudo" }, v3), { ok: true, warnings: [] });
  assert.deepEqual(checkAdvert(a, v3), { ok: true, warnings: [] });
  const r = checkAdvert({ ...a, checksum: "message" }, v3);
  assert.equal(r.ok ? "ok" : r.reason, "checksum");
  assert.deepEqual(checkAdvert({ ...a, checksum: "message" }, { ...v3, v3ChecksumLenient: true }), { ok: true, warnings: [] });
});
