// A counting semaphore for channels on one connection. OpenSSH's sshd_config(5) MaxSessions
// defaults to 10 open sessions per connection; we stay below it with room for a probe.

export class Semaphore {
  readonly max: number;
  #inUse = 0;
  #peak = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`semaphore size must be a positive integer, got ${max}`);
    this.max = max;
  }

  get inUse(): number {
    return this.#inUse;
  }
  /** Highest number held at once since creation (for tests and stats). */
  get peak(): number {
    return this.#peak;
  }
  get waiting(): number {
    return this.#waiters.length;
  }

  async acquire(): Promise<() => void> {
    if (this.#inUse < this.max) this.#take();
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.#inUse--;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #take(): void {
    this.#inUse++;
    if (this.#inUse > this.#peak) this.#peak = this.#inUse;
  }
}
