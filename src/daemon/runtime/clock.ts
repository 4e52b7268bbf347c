// The real clock: performance.now() (monotonic; wall-clock jumps do not move VRRP timers) and
// setTimeout. Deadlines are absolute, so a late callback does not shift the next deadline.
import { performance } from "node:perf_hooks";
import type { Clock, TimerHandle } from "./ports.js";

export const realClock: Clock = {
  now: () => performance.now(),
  at(at, cb) {
    const t = setTimeout(cb, Math.max(0, at - performance.now()));
    return t as unknown as TimerHandle;
  },
  cancel(h) {
    clearTimeout(h as unknown as ReturnType<typeof setTimeout>);
  },
};
