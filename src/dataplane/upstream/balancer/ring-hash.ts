//! Consistent hashing on a ketama-style ring: requests with the same key go to the same host, and
//! when hosts come or go only the keys that must move do (about 1/n of them for one host in n).

import type { UpstreamHost } from '../host.js';
import type { Balancer, PickContext } from './balancer.js';
import { murmur3 } from './hash.js';

/**
 * Points for a host of the lightest weight; heavier hosts get proportionally more. A host's share
 * of keys varies by about 1/sqrt(points): 8% at 160 (ketama's number), max/min 1.19 measured over
 * 10 hosts. The count is per host rather than a total ring size split among hosts: then a host's
 * points do not change when others join or leave, and a membership change moves no keys between
 * the hosts that stay.
 */
const POINTS_PER_HOST = 160;
/**
 * Cap on the ring, about 3 MB of hashes and host references: the full POINTS_PER_HOST for 1,638
 * equal hosts. Larger clusters or extreme weight ratios give hosts fewer points each (at least
 * one), trading some evenness, and keys that stay put across membership changes, for bounded
 * memory and rebuild time.
 */
const MAX_RING_POINTS = 1 << 18;
/**
 * The ring is sorted as one Float64Array of hash * RANK_SPAN + host rank: no comparator, no objects,
 * and equal hashes ordered by address. 2^32 * 2^21 stays below 2^53, so the packing is exact.
 */
const RANK_SPAN = 2 ** 21;

export function createRingHash(hosts: readonly UpstreamHost[], random: () => number): Balancer {
  return new RingHash(hosts, random);
}

class RingHash implements Balancer {
  /** Point hashes in ascending order. */
  private readonly hashes: Uint32Array;
  /** The host of each point. */
  private readonly owners: UpstreamHost[] = [];
  /** False when every entry is the same host, so there is nothing else to walk to. */
  private readonly canAvoid: boolean;

  constructor(
    hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    if (hosts.length > RANK_SPAN) throw new RangeError(`a hash ring holds at most ${RANK_SPAN} hosts, got ${hosts.length}`);
    // Ranked by address so the ring depends on the hosts, not on the order they were listed in.
    const ranked = [...hosts].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const counts = pointCounts(ranked);
    const packed = new Float64Array(counts.reduce((sum, c) => sum + c, 0));
    let p = 0;
    ranked.forEach((host, rank) => {
      for (const hash of pointHashes(host, counts[rank])) packed[p++] = hash * RANK_SPAN + rank;
    });
    packed.sort();
    this.hashes = new Uint32Array(packed.length);
    for (let k = 0; k < packed.length; k++) {
      const hash = Math.floor(packed[k] / RANK_SPAN);
      this.hashes[k] = hash;
      this.owners.push(ranked[packed[k] - hash * RANK_SPAN]);
    }
    this.canAvoid = new Set(hosts).size > 1;
  }

  /**
   * The owner of the first point at or after the key's hash, wrapping past the top. Without a key
   * (the header, cookie or address is absent) a random point's owner, which follows the weights.
   */
  pick(ctx: PickContext, avoid?: UpstreamHost): UpstreamHost {
    const { owners } = this;
    const size = owners.length;
    const key = ctx.hashKey();
    let i = key === undefined ? Math.floor(this.random() * size) : this.find(murmur3(key));
    if (!this.canAvoid) return owners[i];
    // Ends within one lap: every host has at least one point, so another host's point exists. The
    // next distinct host is also where this key lands if `avoid` leaves, so retries stay sticky.
    while (owners[i] === avoid) i = i + 1 === size ? 0 : i + 1;
    return owners[i];
  }

  /** Index of the first point whose hash is >= `hash`, or 0 past the last point. */
  private find(hash: number): number {
    const hashes = this.hashes;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === hashes.length ? 0 : lo;
  }
}

/**
 * Point hashes of each host, kept across rebuilds: one host changing health rebuilds the ring of
 * every host, and hashing dominates the build. Weakly held, so removed hosts drop out.
 */
const pointCache = new WeakMap<UpstreamHost, Uint32Array>();

function pointHashes(host: UpstreamHost, count: number): Uint32Array {
  let hashes = pointCache.get(host);
  if (hashes?.length !== count) {
    hashes = Uint32Array.from({ length: count }, (_, i) => murmur3(`${host.address}_${i}`));
    pointCache.set(host, hashes);
  }
  return hashes;
}

/** Points per host, in proportion to weight, POINTS_PER_HOST for the lightest, within the cap. */
function pointCounts(hosts: readonly UpstreamHost[]): number[] {
  let lightest = Infinity;
  let totalWeight = 0;
  for (const h of hosts) {
    lightest = Math.min(lightest, h.weight);
    totalWeight += h.weight;
  }
  const scale = Math.min(POINTS_PER_HOST / lightest, MAX_RING_POINTS / totalWeight);
  return hosts.map((h) => Math.max(1, Math.round(h.weight * scale)));
}
