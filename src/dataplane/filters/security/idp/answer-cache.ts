//! A bounded cache of answers that expire, with one lookup in flight per key: many requests with
//! the same unknown token wait for one call to the provider rather than each making their own.

export interface Cached<V> {
  readonly value: V;
  /** Epoch milliseconds after which the value is not used. */
  readonly expiresAt: number;
}

export class AnswerCache<V> {
  private readonly entries = new Map<string, Cached<V>>();
  private readonly inFlight = new Map<string, Promise<Cached<V>>>();

  constructor(private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached value of `key`, or `lookup`'s, which decides how long it may be kept (0: not kept). */
  get(key: string, lookup: () => Promise<Cached<V>>): V | Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.now()) return hit.value;
      this.entries.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = lookup().then((answer) => {
        if (answer.expiresAt > this.now()) this.store(key, answer);
        return answer;
      }).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending.then((a) => a.value);
  }

  /** Oldest first out when full: the bound holds whatever tokens a client makes up. */
  private store(key: string, answer: Cached<V>): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, answer);
  }
}
