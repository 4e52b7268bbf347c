import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../../src/daemon/runtime/fakes.js";
import { TimerQueue, untimed, type Timed } from "../../../../src/daemon/check/timer-queue.js";

type Item = Timed & { name: string };
const item = (name: string): Item => ({ ...untimed(), name });

function rig() {
  const clock = new FakeClock();
  const fired: Array<[string, number]> = [];
  const q = new TimerQueue<Item>(clock, (i) => fired.push([i.name, clock.now()]));
  return { clock, fired, q };
}

test("timer queue: items of several delays fire in time order, ties in the order they were armed, on one clock timer", () => {
  const { clock, fired, q } = rig();
  const [a, b, c, d] = ["a", "b", "c", "d"].map(item) as [Item, Item, Item, Item];
  q.after(a, 1000);
  q.after(b, 300);
  q.after(c, 1000);
  q.after(d, 300, -700); // armed "earlier": due at -400, so at once
  assert.equal(clock.pending(), 1);
  clock.advance(2000);
  assert.deepEqual(fired, [["d", 0], ["b", 300], ["a", 1000], ["c", 1000]]);
  assert.equal(q.size, 0);
});

test("timer queue: a removed item never fires; re-arming moves it; an item armed at any time is placed in order", () => {
  const { clock, fired, q } = rig();
  const [a, b, c, d] = ["a", "b", "c", "d"].map(item) as [Item, Item, Item, Item];
  q.after(a, 100);
  q.after(b, 100);
  q.after(c, 100);
  q.remove(b);
  q.after(a, 500); // re-armed: now behind c
  q.at(d, 50);
  q.at(b, 20); // before d, in the same lane
  assert.equal(q.size, 4);
  clock.advance(1000);
  assert.deepEqual(fired, [["b", 20], ["d", 50], ["c", 100], ["a", 500]]);
  assert.equal(clock.pending(), 0, "nothing left armed once all fired");
});

test("timer queue: an item armed from a firing one and already due fires in the same pass; clear drops the clock timer", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  const later = item("later");
  const q: TimerQueue<Item> = new TimerQueue<Item>(clock, (i) => {
    fired.push(`${i.name}@${clock.now()}`);
    if (i.name === "first") q.after(item("now"), 0);
    if (i.name === "now") q.after(later, 100);
  });
  q.after(item("first"), 10);
  clock.advance(10);
  assert.deepEqual(fired, ["first@10", "now@10"]);
  assert.equal(q.queued(later), true);
  assert.equal(clock.pending(), 1);
  q.clear();
  assert.equal(clock.pending(), 0);
  assert.equal(q.queued(later), false);
  clock.advance(1000);
  assert.deepEqual(fired, ["first@10", "now@10"]);
});
