//! Least request by power of two choices, as Linkerd balances: of two hosts drawn at random, the
//! one with the lower latency-weighted load. Two draws avoid the herd that "always the least
//! loaded" causes when many proxies see the same stale numbers, at O(1) per pick.

import type { UpstreamHost } from '../host.js';
import type { Balancer, PickContext } from './balancer.js';

export function createLeastRequest(hosts: readonly UpstreamHost[], random: () => number): Balancer {
  return new PowerOfTwoChoices(hosts, random);
}

/**
 * Expected wait if sent now: the host's recent latency times the requests it would be serving.
 * Host weights do not enter: load and latency already say what a host can take.
 */
function cost(host: UpstreamHost): number {
  return host.ewmaMs * (host.active + 1);
}

class PowerOfTwoChoices implements Balancer {
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
    if (n === 1) return hosts[0];
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = hosts[i];
    const b = hosts[j];
    // The two draws are distinct hosts, so when one is to be avoided the other is the answer.
    if (a === avoid) return b;
    if (b === avoid) return a;
    return cost(b) < cost(a) ? b : a;
  }
}
