// Property: whatever arrives (adverts good and bad, link flaps, VIPs deleted behind our back,
// reloads, time passing), once the address queue has drained the kernel holds an instance's VIPs
// exactly when that instance is MASTER, and the engine never throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { IncomingAdvert } from "../../../../src/daemon/runtime/ports.js";
import { config, instance, rig, settle } from "./helpers.js";

type Step =
  | { k: "advert"; a: Omit<IncomingAdvert, "ifname" | "addresses" | "authType"> }
  | { k: "link"; ifname: string; up: boolean }
  | { k: "vipDeleted"; which: number }
  | { k: "time"; ms: number }
  | { k: "reload"; priority: number; extraVip: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    k: fc.constant("advert" as const),
    a: fc.record({
      source: fc.constantFrom("10.88.0.1", "10.88.0.3", "10.88.0.9"),
      ttl: fc.constantFrom(255, 255, 255, 64),
      version: fc.constantFrom(2 as const, 2 as const, 3 as const),
      vrid: fc.constantFrom(51, 51, 51, 52),
      priority: fc.integer({ min: 0, max: 255 }),
      intervalMs: fc.constantFrom(1000, 1000, 2000),
    }),
  }),
  fc.record({ k: fc.constant("link" as const), ifname: fc.constantFrom("eth0", "eth1"), up: fc.boolean() }),
  fc.record({ k: fc.constant("vipDeleted" as const), which: fc.nat(1) }),
  fc.record({ k: fc.constant("time" as const), ms: fc.integer({ min: 1, max: 6000 }) }),
  fc.record({ k: fc.constant("reload" as const), priority: fc.integer({ min: 1, max: 254 }), extraVip: fc.boolean() }),
);

const VIPS = ["10.88.0.100", "10.88.0.101"];

test("property: VIPs are on the interface exactly while the instance is MASTER", async () => {
  const seen: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 254 }), fc.array(stepArb, { maxLength: 25 }), async (priority, steps) => {
      const r = rig();
      const cfg = (prio: number, extra: boolean) =>
        config([
          instance({
            priority: prio,
            trackInterfaces: ["eth1"],
            vips: (extra ? VIPS : VIPS.slice(0, 1)).map((address) => ({ address, prefix: 24, dev: "eth0" })),
          }),
        ]);
      let extra = false;
      await r.engine.start(cfg(priority, extra));
      for (const s of steps) {
        switch (s.k) {
          case "advert":
            r.channel.receive({ ...s.a, ifname: "eth0", addresses: [VIPS[0]!], authType: 0 });
            break;
          case "link":
            r.net.setLink(s.ifname, s.up);
            break;
          case "vipDeleted": {
            const v = VIPS[s.which]!;
            if (r.addresses.has("eth0", v)) {
              r.addresses.present.delete(`${v}@eth0`);
              r.net.addressDeleted("eth0", v, 24);
            }
            break;
          }
          case "time":
            r.clock.advance(s.ms);
            break;
          case "reload":
            extra = s.extraVip;
            await r.engine.reload(cfg(s.priority, extra));
            break;
        }
        await settle(r);
        const st = r.engine.state("VI_1")!;
        const want: string[] = st.state === "MASTER" ? (extra ? VIPS : VIPS.slice(0, 1)) : [];
        seen[st.state] = (seen[st.state] ?? 0) + 1;
        const have = VIPS.filter((v) => r.addresses.has("eth0", v));
        assert.deepEqual(have, want, `state ${st.state} after ${JSON.stringify(s)}`);
      }
      await r.engine.shutdown();
      assert.deepEqual(VIPS.filter((v) => r.addresses.has("eth0", v)), [], "VIPs left after shutdown");
    }),
    { numRuns: 150 },
  );
  // the runs really visited every state
  for (const st of ["BACKUP", "MASTER", "FAULT"]) assert.ok((seen[st] ?? 0) > 20, `${st} seen ${seen[st] ?? 0} times`);
});

// fast-check found this one (seed -1006407533): a reload took a VIP out and the next put it back;
// the engine remembered the first delete for 2 s to ignore its echo, and the fake (like a kernel
// whose delete found nothing) sent none, so a real removal of the re-added VIP was ignored.
test("a VIP added back by a reload is put back when someone removes it", async () => {
  const r = rig();
  const cfg = (extra: boolean) =>
    config([instance({ priority: 1, trackInterfaces: ["eth1"], vips: (extra ? VIPS : VIPS.slice(0, 1)).map((address) => ({ address, prefix: 24, dev: "eth0" })) })]);
  await r.engine.start(cfg(false));
  await r.engine.reload(cfg(true));
  r.clock.advance(3997);
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  await r.engine.reload(cfg(false));
  await settle(r);
  await r.engine.reload(cfg(true));
  await settle(r);
  assert.ok(r.addresses.has("eth0", VIPS[1]!), "the reload put the VIP back");
  r.addresses.present.delete(`${VIPS[1]}@eth0`);
  r.net.addressDeleted("eth0", VIPS[1]!, 24);
  await settle(r);
  assert.deepEqual(VIPS.filter((v) => r.addresses.has("eth0", v)), VIPS);
  assert.equal(r.engine.snapshot().instances[0]!.vipsRestored, 1);
  await r.engine.shutdown();
});
