import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../../src/daemon/runtime/fakes.js";
import { CheckScheduler, type HealthChange } from "../../../../src/daemon/check/scheduler.js";
import type { CheckPolicy, CheckResult, CheckSignal, CheckSpec, CheckerSet, CheckTarget } from "../../../../src/daemon/check/types.js";

/** A fake checker per target address: answers from a script, or hangs (ignoring its signal). */
class Script {
  answers = new Map<string, CheckResult | "hang" | "hang-polite">();
  calls: Array<{ address: string; at: number }> = [];
  constructor(private clock: FakeClock) {}
  checker() {
    const c = {
      check: (t: CheckTarget, signal: AbortSignal): Promise<CheckResult> => {
        const address = t.type === "MISC" ? t.argv[0]! : t.address;
        this.calls.push({ address, at: this.clock.now() });
        const a = this.answers.get(address) ?? { ok: true };
        if (a === "hang") return new Promise(() => undefined);
        if (a === "hang-polite") return new Promise((r) => signal.addEventListener("abort", () => r({ ok: false, reason: "read-timeout", detail: "hung" })));
        return Promise.resolve(a);
      },
    };
    return { TCP: c, HTTP: c, SSL: c, MISC: c } as unknown as CheckerSet;
  }
}

const flush = () => new Promise((r) => setImmediate(r));
/** Advances in slices, letting the checkers' promises settle after each (a result lands at the
 * slice's end, so slices divide the test's timings). Step 0 runs what is due now. */
async function step(clock: FakeClock, ms: number, by = 100): Promise<void> {
  if (ms === 0) {
    clock.advance(0);
    await flush();
    await flush();
  }
  for (let t = 0; t < ms; t += by) {
    clock.advance(Math.min(by, ms - t));
    await flush();
    await flush();
  }
}

const pol = (over: Partial<CheckPolicy> = {}): CheckPolicy => ({ delayLoopMs: 1000, retry: 1, delayBeforeRetryMs: 300, rise: 1, alpha: false, timeoutMs: 200, ...over });
const spec = (address: string, over: Partial<CheckPolicy> = {}, weight = 1): CheckSpec => ({
  id: `web/${address}:80`, service: "web", address, port: 80, weight, target: { type: "TCP", address, port: 80 }, policy: pol(over),
});

function rig(specs: CheckSpec[]) {
  const clock = new FakeClock();
  const script = new Script(clock);
  const s = new CheckScheduler({ clock, checkers: script.checker(), initialSpreadMs: 0 });
  const changes: Array<HealthChange & { at: number }> = [];
  s.onChange((c) => changes.push({ ...c, at: clock.now() }));
  s.set(specs);
  return { clock, script, s, changes };
}

test("scheduler: down after retry+1 failures in a row, delay_before_retry between them, delay_loop once down", async () => {
  const { clock, script, s, changes } = rig([spec("10.0.0.1", { retry: 2 })]);
  await step(clock, 0); // first attempt at t=0: up
  assert.equal(changes.length, 0, "a healthy start says nothing");
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "refused" });
  await step(clock, 3000);
  // attempts: 0 ok, 1000 fail, 1300 fail (retry 1), 1600 fail (retry 2) -> down, then every 1000
  assert.deepEqual(script.calls.map((c) => c.at), [0, 1000, 1300, 1600, 2600]);
  assert.equal(changes.length, 1);
  assert.deepEqual({ up: changes[0]!.up, at: changes[0]!.at }, { up: false, at: 1600 });
  assert.equal(changes[0]!.result.ok ? "" : changes[0]!.result.reason, "connect-refused");
  const st = s.snapshot()[0]!;
  assert.equal(st.up, false);
  assert.equal(st.failed["connect-refused"], 4);
  assert.equal(st.last?.reason, "connect-refused");
});

test("scheduler: a failure followed by a success within the retries never speaks", async () => {
  const { clock, script, changes } = rig([spec("10.0.0.1", { retry: 1 })]);
  await step(clock, 0);
  script.answers.set("10.0.0.1", { ok: false, reason: "status", detail: "HTTP 500" });
  await step(clock, 1000);
  script.answers.delete("10.0.0.1");
  await step(clock, 3000);
  assert.deepEqual(changes, []);
});

test("scheduler: rise successes in a row bring a server back; a failure in between starts the count again", async () => {
  const { clock, script, changes } = rig([spec("10.0.0.1", { retry: 0, rise: 3 })]);
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  await step(clock, 0);
  assert.equal(changes.at(-1)?.up, false, "retry 0: the first failure takes it out");
  script.answers.delete("10.0.0.1");
  await step(clock, 2000); // successes at 1000, 2000
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  await step(clock, 1000); // failure at 3000 resets the count
  script.answers.delete("10.0.0.1");
  await step(clock, 2000); // 4000, 5000: two
  assert.equal(changes.length, 1);
  await step(clock, 1000); // 6000: the third
  assert.equal(changes.length, 2);
  assert.deepEqual({ up: changes[1]!.up, at: changes[1]!.at }, { up: true, at: 6000 });
});

test("scheduler: rise 1 is keepalived's behaviour: one success brings it back", async () => {
  const { clock, script, changes } = rig([spec("10.0.0.1", { retry: 0 })]);
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  await step(clock, 0);
  script.answers.delete("10.0.0.1");
  await step(clock, 1000);
  assert.deepEqual(changes.map((c) => [c.up, c.at]), [[false, 0], [true, 1000]]);
});

test("scheduler: alpha starts down and says up after rise successes; without alpha a healthy start is silent", async () => {
  const { clock, changes, s } = rig([spec("10.0.0.1", { alpha: true, rise: 2 }), spec("10.0.0.2")]);
  assert.deepEqual(s.snapshot().map((x) => x.up), [false, true]);
  await step(clock, 0);
  assert.equal(changes.length, 0);
  await step(clock, 1000);
  assert.deepEqual(changes.map((c) => [c.address, c.up, c.at]), [["10.0.0.1", true, 1000]]);
});

test("scheduler: alpha with a dead server stays down silently (it was never up)", async () => {
  const { clock, script, changes } = rig([spec("10.0.0.1", { alpha: true })]);
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  await step(clock, 5000);
  assert.deepEqual(changes, []);
});

test("scheduler: a hung check is judged at its deadline and never delays the others", async () => {
  const { clock, script, changes, s } = rig([spec("10.0.0.1", { retry: 0, timeoutMs: 200 }), spec("10.0.0.2"), spec("10.0.0.3", { retry: 0, timeoutMs: 200 })]);
  script.answers.set("10.0.0.1", "hang");
  script.answers.set("10.0.0.3", "hang-polite");
  await step(clock, 0);
  await step(clock, 2500, 50);
  // the healthy server was checked on time, every delay_loop
  assert.deepEqual(script.calls.filter((c) => c.address === "10.0.0.2").map((c) => c.at), [0, 1000, 2000]);
  const down = changes.filter((c) => !c.up).sort((a, b) => a.address.localeCompare(b.address));
  assert.deepEqual(down.map((c) => [c.address, c.at]), [["10.0.0.1", 200], ["10.0.0.3", 200]]);
  // a checker that ignores its signal is judged by the scheduler; a polite one gives its phase
  assert.equal(down[0]!.result.ok ? "" : down[0]!.result.reason, "timeout");
  assert.equal(down[1]!.result.ok ? "" : down[1]!.result.reason, "read-timeout");
  // and it is tried again after delay_loop from the judgement, one attempt in flight at most
  assert.deepEqual(script.calls.filter((c) => c.address === "10.0.0.1").map((c) => c.at), [0, 1200, 2400]);
  assert.equal(s.snapshot()[0]!.running, true);
});

test("scheduler: misc_dynamic weight changes speak while up; the same weight again does not", async () => {
  const { clock, script, changes } = rig([{ ...spec("10.0.0.1"), target: { type: "MISC", argv: ["10.0.0.1"], dynamic: true }, weight: 5 }]);
  script.answers.set("10.0.0.1", { ok: true, weight: 3 });
  await step(clock, 0);
  await step(clock, 2000);
  script.answers.set("10.0.0.1", { ok: true });
  await step(clock, 1000);
  assert.deepEqual(changes.map((c) => [c.up, c.weight, c.at]), [[true, 3, 0], [true, 5, 3000]]);
});

test("scheduler: reload keeps an unchanged check's state and timer, restarts a changed one's timing, drops a removed one", async () => {
  const { clock, script, s } = rig([spec("10.0.0.1", { retry: 0 }), spec("10.0.0.2"), spec("10.0.0.3")]);
  script.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  await step(clock, 500);
  const before = script.calls.length;
  const diff = s.set([spec("10.0.0.1", { retry: 0 }), spec("10.0.0.2", { delayLoopMs: 2000 })]);
  assert.deepEqual(diff, { added: [], changed: ["web/10.0.0.2:80"], removed: ["web/10.0.0.3:80"] });
  assert.equal(s.health("web/10.0.0.1:80")?.up, false, "state kept");
  assert.equal(s.health("web/10.0.0.3:80"), undefined);
  await step(clock, 0);
  assert.deepEqual(script.calls.slice(before).map((c) => c.address), ["10.0.0.2"], "the changed one runs now; the unchanged keeps its timer");
  await step(clock, 600);
  assert.deepEqual(script.calls.slice(before).map((c) => c.address), ["10.0.0.2", "10.0.0.1"]);
});

test("scheduler: first attempts are spread over min(delay_loop, initialSpreadMs)", () => {
  const clock = new FakeClock();
  const script = new Script(clock);
  const s = new CheckScheduler({ clock, checkers: script.checker(), initialSpreadMs: 1000 });
  s.set([1, 2, 3, 4].map((k) => spec(`10.0.0.${k}`)));
  clock.advance(999);
  assert.deepEqual(script.calls.map((c) => c.at), [0, 250, 500, 750]);
  s.stop();
});

test("scheduler: thousands of checks share one clock: 5000 checks, each run once per delay_loop", async () => {
  const clock = new FakeClock();
  const script = new Script(clock);
  const s = new CheckScheduler({ clock, checkers: script.checker(), initialSpreadMs: 1000 });
  s.set(Array.from({ length: 5000 }, (_, k) => spec(`10.${k >> 8}.${k & 255}.1`)));
  assert.equal(clock.pending(), 1, "one clock timer for all of them");
  for (let t = 0; t < 3000; t += 100) {
    clock.advance(100);
    await flush();
  }
  assert.equal(script.calls.length, 15000);
  s.stop();
  assert.equal(clock.pending(), 0);
});

test("scheduler: the signal an attempt gets aborts at its deadline, calls each listener once, and not one removed before", async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const checker = {
    check: (_t: CheckTarget, signal: CheckSignal): Promise<CheckResult> =>
      new Promise((r) => {
        assert.equal(signal.aborted, false);
        const removed = () => calls.push("removed");
        signal.addEventListener("abort", () => calls.push(`first aborted=${signal.aborted}`));
        signal.addEventListener("abort", removed);
        signal.addEventListener("abort", () => {
          calls.push("last");
          r({ ok: false, reason: "read-timeout", detail: "hung" });
        }, { once: true });
        signal.removeEventListener("abort", removed);
      }),
  };
  const s = new CheckScheduler({ clock, checkers: { TCP: checker, HTTP: checker, SSL: checker, MISC: checker } as unknown as CheckerSet, initialSpreadMs: 0 });
  const changes: HealthChange[] = [];
  s.onChange((c) => changes.push(c));
  s.set([spec("10.0.0.1", { retry: 0, timeoutMs: 200 })]);
  await step(clock, 0);
  await step(clock, 300, 50);
  s.stop();
  assert.deepEqual(calls, ["first aborted=true", "last"]);
  assert.deepEqual(changes.map((c) => [c.up, c.result.ok ? "" : c.result.reason]), [[false, "read-timeout"]]);
});
