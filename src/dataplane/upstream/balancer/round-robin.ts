//! Weighted round robin, the default balancer: every host in turn, heavier hosts more often, with
//! their turns spread out rather than in bursts.

import type { UpstreamHost } from '../host.js';
import type { Balancer, PickContext } from './balancer.js';

/**
 * Most host visits spent at build time to start the weighted rotation at a random point, so
 * rebuilding a large cluster stays cheap.
 */
const PHASE_WORK_LIMIT = 1 << 16;

export function createRoundRobin(hosts: readonly UpstreamHost[], random: () => number): Balancer {
  const first = hosts[0].weight;
  return hosts.every((h) => h.weight === first) ? new Rotation(hosts, random) : new SmoothWeighted(hosts, random);
}

/**
 * Equal weights: a rotating index. It starts at a random host so that many proxies (or workers)
 * built at the same moment do not all send their first request to the same host.
 */
class Rotation implements Balancer {
  private readonly hosts: readonly UpstreamHost[];
  private next: number;

  constructor(hosts: readonly UpstreamHost[], random: () => number) {
    this.hosts = [...hosts];
    this.next = Math.floor(random() * hosts.length);
  }

  pick(_ctx: PickContext, avoid?: UpstreamHost): UpstreamHost {
    const hosts = this.hosts;
    const n = hosts.length;
    let i = this.next;
    if (hosts[i] === avoid && n > 1) i = i + 1 === n ? 0 : i + 1;
    this.next = i + 1 === n ? 0 : i + 1;
    return hosts[i];
  }
}

/**
 * Smooth weighted round robin (nginx's): each pick adds every host's weight to its current value,
 * takes the largest and subtracts the total from it. Weights 5,1,1 give a,a,b,a,c,a,a, not
 * a,a,a,a,a,b,c. An avoided host sits the pick out entirely (nginx does the same for a peer already
 * tried), which keeps the current values summing to zero and the others' shares in proportion.
 */
class SmoothWeighted implements Balancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly weights: Float64Array;
  private readonly current: Float64Array;
  /** False when every entry is the same host, so there is nothing else to pick. */
  private readonly canAvoid: boolean;

  constructor(hosts: readonly UpstreamHost[], random: () => number) {
    this.hosts = [...hosts];
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.current = new Float64Array(hosts.length);
    this.canAvoid = new Set(hosts).size > 1;
    // The sequence repeats every `total` picks (integer weights); starting at a random point of
    // it, rather than at its start, keeps proxies built together out of step.
    const total = this.weights.reduce((sum, w) => sum + w, 0);
    const span = Math.min(total, Math.max(1, Math.floor(PHASE_WORK_LIMIT / hosts.length)));
    for (let skip = Math.floor(random() * span); skip > 0; skip--) this.next(undefined);
  }

  pick(_ctx: PickContext, avoid?: UpstreamHost): UpstreamHost {
    return this.next(this.canAvoid ? avoid : undefined);
  }

  private next(avoid: UpstreamHost | undefined): UpstreamHost {
    const { hosts, weights, current } = this;
    let best = -1;
    let total = 0;
    for (let i = 0; i < hosts.length; i++) {
      if (hosts[i] === avoid) continue;
      current[i] += weights[i];
      total += weights[i];
      if (best < 0 || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    return hosts[best];
  }
}
