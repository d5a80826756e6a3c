//! Weighted random: each pick independent, in proportion to host weight. No shared state, so it
//! suits many proxies with few requests each, where round robin's order buys nothing.

import type { UpstreamHost } from '../host.js';
import type { Balancer, PickContext } from './balancer.js';

export function createRandom(hosts: readonly UpstreamHost[], random: () => number): Balancer {
  const first = hosts[0].weight;
  return hosts.every((h) => h.weight === first) ? new UniformRandom(hosts, random) : new WeightedRandom(hosts, random);
}

class UniformRandom implements Balancer {
  private readonly hosts: readonly UpstreamHost[];

  constructor(
    hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    this.hosts = [...hosts];
  }

  pick(_ctx: PickContext, avoid?: UpstreamHost): UpstreamHost {
    const hosts = this.hosts;
    const n = hosts.length;
    const i = Math.floor(this.random() * n);
    if (hosts[i] !== avoid || n === 1) return hosts[i];
    // One more draw over the other n-1 hosts keeps the retry uniform among them.
    const j = Math.floor(this.random() * (n - 1));
    return hosts[j < i ? j : j + 1];
  }
}

/** Host i owns [cumulative[i-1], cumulative[i]) of [0, total); a draw is found by binary search. */
class WeightedRandom implements Balancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(
    hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    this.hosts = [...hosts];
    this.cumulative = new Float64Array(hosts.length);
    let sum = 0;
    hosts.forEach((h, i) => (this.cumulative[i] = sum += h.weight));
    this.total = sum;
  }

  pick(_ctx: PickContext, avoid?: UpstreamHost): UpstreamHost {
    const { hosts, cumulative } = this;
    const n = hosts.length;
    const i = this.find(this.random() * this.total);
    if (hosts[i] !== avoid || n === 1) return hosts[i];
    // Draw again over the line with host i's interval cut out, so the other hosts keep their
    // proportions; rounding can still land on the cut's edge, hence the step aside.
    const start = i === 0 ? 0 : cumulative[i - 1];
    const width = cumulative[i] - start;
    const r = this.random() * (this.total - width);
    const k = this.find(r < start ? r : r + width);
    return hosts[k !== i ? k : k + 1 < n ? k + 1 : k - 1];
  }

  /** The first host whose interval ends after `r`. */
  private find(r: number): number {
    const cumulative = this.cumulative;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
