//! A size-capped map used to remember per-host lookups without letting Host headers grow memory.

/**
 * Evicts in insertion order (FIFO) once `limit` keys are held. Hits deliberately do not
 * reorder keys: a lookup on the request path stays a single read, and a burst of distinct
 * hostile hosts can only evict entries, never grow the map.
 */
export class BoundedCache<K, V> {
  readonly #limit: number;
  readonly #map = new Map<K, V>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`cache limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    if (this.#map.size >= this.#limit && !this.#map.has(key)) {
      // Map iterates in insertion order, so the first key is the oldest.
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
  }
}
