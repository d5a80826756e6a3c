//! Shared by the balancer tests: hosts without connection pools, a key to hash, a seeded random.

import { UpstreamHost } from '../host.js';
import type { PickContext } from './balancer.js';

/** A host at 10.0.0.`n`:80; it has no pool, so a test that reaches for one fails loudly. */
export function host(n: number, weight = 1): UpstreamHost {
  return new UpstreamHost({ host: `10.0.0.${n}`, port: 80, weight }, () => {
    throw new Error('no pool in unit tests');
  });
}

/** Hosts 10.0.0.1, 10.0.0.2, ... with the given weights. */
export function hosts(...weights: number[]): UpstreamHost[] {
  return weights.map((w, i) => host(i + 1, w));
}

/** A request whose hash key the test sets between picks. */
export class KeyContext implements PickContext {
  key: string | undefined;

  hashKey(): string | undefined {
    return this.key;
  }
}

/** mulberry32: a tiny seeded PRNG, so runs are repeatable; returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
