// Property: whatever the event sequence, the machine never throws and its timers match its state.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { initialState, step, type TimerName, type VrrpEvent } from "../../../../src/daemon/vrrp/state.js";
import { params } from "./helpers.js";

const timerArb = fc.constantFrom<TimerName>("masterDown", "advert", "preemptDelay", "garpRepeat", "garpRefresh");
const eventArb: fc.Arbitrary<VrrpEvent> = fc.oneof(
  fc.record({ type: fc.constant("startup" as const), vipsPresent: fc.boolean(), linksDown: fc.subarray(["eth0", "eth1", "eth9"]) }),
  fc.record({
    type: fc.constant("advert" as const),
    advert: fc.record({
      priority: fc.integer({ min: 0, max: 255 }),
      source: fc.constantFrom("10.88.0.1", "10.88.0.2", "10.88.0.3"),
      version: fc.constantFrom(2 as const, 3 as const),
      intervalMs: fc.constantFrom(100, 1000, 2000),
    }),
  }),
  fc.record({ type: fc.constant("timer" as const), timer: timerArb, hold: fc.boolean() }),
  fc.record({ type: fc.constantFrom("linkDown" as const, "linkUp" as const), ifname: fc.constantFrom("eth0", "eth1", "eth9") }),
  fc.record({ type: fc.constant("sync" as const), to: fc.constantFrom("MASTER" as const, "BACKUP" as const, "FAULT" as const, "FAULT_CLEAR" as const) }),
  fc.constant<VrrpEvent>({ type: "shutdown" }),
);

test("property: step never throws; MASTER keeps an advert timer, BACKUP a down timer (or is held), FAULT/STOPPED none", () => {
  fc.assert(
    fc.property(
      fc.record({
        priority: fc.integer({ min: 1, max: 255 }),
        nopreempt: fc.boolean(),
        preemptDelayMs: fc.constantFrom(0, 5000),
        version: fc.constantFrom(2 as const, 3 as const),
      }),
      fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: 5000 })), { maxLength: 40 }),
      (o, events) => {
        let s = initialState(params({ ...o, trackInterfaces: ["eth1"], garp: { initialCount: 5, repeatCount: 5, repeatDelayMs: 5000, lowerPrioCount: 5, refreshMs: 10_000 } }));
        let now = 0;
        for (const [ev, dt] of events) {
          now += dt;
          const r = step(s, ev, now);
          s = r.next;
          for (const e of r.effects) if (e.kind === "setTimer") assert.ok(e.at >= now, `timer ${e.timer} armed in the past`);
          switch (s.state) {
            case "MASTER":
              assert.ok(s.timers.advert !== undefined, "master without advert timer");
              assert.equal(s.timers.masterDown, undefined);
              break;
            case "BACKUP":
              assert.ok(s.timers.masterDown !== undefined || s.masterDownExpired, "backup without master-down timer");
              assert.equal(s.timers.advert, undefined);
              break;
            case "FAULT":
            case "STOPPED":
              assert.deepEqual(s.timers, {});
              break;
            case "INIT":
              break;
          }
          if (s.state === "FAULT") assert.ok(s.linksDown.length > 0 || s.syncFault, "FAULT without a cause");
        }
      },
    ),
    { numRuns: 500 },
  );
});
