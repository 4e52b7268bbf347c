// One clock timer for every check's next run and every attempt's deadline. At a thousand checks a
// second, a timer per run and another per attempt (each a Timeout object that lives for
// delay_loop or connect_timeout, so it survives the young generation and is collected late) cost
// more than the scheduler's own logic (bench/checks). Here the items themselves are the list
// nodes: nothing is allocated to arm, re-arm or cancel one.
//
// Items sit in lanes, one per delay (delay_loop, delay_before_retry, connect_timeout, ...): an item
// armed at now + d lands at the tail of lane d, and the clock only moves forward, so each lane
// stays sorted with an O(1) insertion (an item armed at an arbitrary time is inserted in order
// from the tail). The earliest item of all is the smallest lane head, and there are only as many
// lanes as distinct delays in the config. Items due at the same time fire in the order they were
// armed, as separate clock timers would.
import type { Clock, TimerHandle } from "../runtime/ports.js";

/** The links an item carries; owned by the queue (undefined `lane`: not queued). */
export interface Timed {
  tAt: number;
  tSeq: number;
  tLane: Lane | undefined;
  tPrev: Timed | undefined;
  tNext: Timed | undefined;
}

interface Lane {
  head: Timed | undefined;
  tail: Timed | undefined;
}

/** Fields a new item starts with. */
export const untimed = (): Timed => ({ tAt: 0, tSeq: 0, tLane: undefined, tPrev: undefined, tNext: undefined });

export class TimerQueue<T extends Timed> {
  readonly #clock: Clock;
  readonly #fire: (item: T) => void;
  readonly #lanes = new Map<number, Lane>();
  /** Items armed at an arbitrary time (not now + a delay). */
  readonly #anyTime: Lane = { head: undefined, tail: undefined };
  #seq = 0;
  #size = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #firing = false;

  constructor(clock: Clock, fire: (item: T) => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  get size(): number {
    return this.#size;
  }

  queued(item: T): boolean {
    return item.tLane !== undefined;
  }

  /** Arms `item` at now + delayMs (re-arms it when it was queued). */
  after(item: T, delayMs: number, now = this.#clock.now()): void {
    let lane = this.#lanes.get(delayMs);
    if (!lane) this.#lanes.set(delayMs, (lane = { head: undefined, tail: undefined }));
    this.#insert(item, now + delayMs, lane);
  }

  /** Arms `item` at an absolute clock time (re-arms it when it was queued). */
  at(item: T, at: number): void {
    this.#insert(item, at, this.#anyTime);
  }

  remove(item: T): void {
    const lane = item.tLane;
    if (!lane) return;
    if (item.tPrev) item.tPrev.tNext = item.tNext;
    else lane.head = item.tNext;
    if (item.tNext) item.tNext.tPrev = item.tPrev;
    else lane.tail = item.tPrev;
    item.tLane = item.tPrev = item.tNext = undefined;
    this.#size--;
    // the clock timer is left armed: at worst it fires early once, finds nothing due and re-arms
  }

  /** Drops every item and the clock timer. */
  clear(): void {
    for (const lane of [...this.#lanes.values(), this.#anyTime]) {
      while (lane.head) this.remove(lane.head as T);
    }
    if (this.#timer) this.#clock.cancel(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #insert(item: T, at: number, lane: Lane): void {
    if (item.tLane) this.remove(item);
    item.tAt = at;
    item.tSeq = ++this.#seq;
    item.tLane = lane;
    let after = lane.tail;
    while (after && after.tAt > at) after = after.tPrev;
    item.tPrev = after;
    item.tNext = after ? after.tNext : lane.head;
    if (item.tNext) item.tNext.tPrev = item;
    else lane.tail = item;
    if (after) after.tNext = item;
    else lane.head = item;
    this.#size++;
    if (!this.#firing && at < this.#timerAt) this.#arm(at);
  }

  #earliest(): Timed | undefined {
    let best = this.#anyTime.head;
    for (const lane of this.#lanes.values()) {
      const h = lane.head;
      if (h && (!best || h.tAt < best.tAt || (h.tAt === best.tAt && h.tSeq < best.tSeq))) best = h;
    }
    return best;
  }

  #arm(at: number): void {
    if (this.#timer) this.#clock.cancel(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.at(at, this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    this.#firing = true;
    try {
      for (let e = this.#earliest(); e && e.tAt <= now; e = this.#earliest()) {
        this.remove(e as T);
        this.#fire(e as T);
      }
    } finally {
      this.#firing = false;
      const next = this.#earliest();
      if (next) this.#arm(next.tAt);
    }
  };
}
