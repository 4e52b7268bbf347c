import { test } from "node:test";
import assert from "node:assert/strict";
import { Semaphore } from "../../../src/ssh/semaphore.js";

test("never more than max holders; everyone runs; FIFO hand-over", async () => {
  const s = new Semaphore(3);
  let now = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      s.run(async () => {
        order.push(i);
        now++;
        peak = Math.max(peak, now);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        now--;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.equal(s.peak, 3);
  assert.equal(s.inUse, 0);
  assert.deepEqual(order, [...Array(20).keys()]);
});

test("release is idempotent and errors release the slot", async () => {
  const s = new Semaphore(1);
  const rel = await s.acquire();
  rel();
  rel();
  assert.equal(s.inUse, 0);
  await assert.rejects(s.run(async () => { throw new Error("x"); }), /x/);
  assert.equal(s.inUse, 0);
  assert.throws(() => new Semaphore(0), RangeError);
});
