//! The load-balancer contract. A balancer is built over the hosts that may take traffic right now
//! (the cluster rebuilds it when health changes), so picking never filters and stays O(1) or O(log n).

import type { LoadBalancerSettings } from '../../../config/model.js';
import type { UpstreamHost } from '../host.js';

/** What a balancer may ask of the request; the hash key is computed only by balancers that hash. */
export interface PickContext {
  hashKey(): string | undefined;
}

export interface Balancer {
  /**
   * A host for this request, or undefined when there are none. `avoid` is the host a previous try
   * failed on: a balancer picks another one when it can (retries should not hit the same host).
   */
  pick(ctx: PickContext, avoid?: UpstreamHost): UpstreamHost | undefined;
}

/** Builds a balancer over `hosts` (non-empty, in a stable order); `random` returns [0, 1). */
export type BalancerFactory = (hosts: readonly UpstreamHost[], settings: LoadBalancerSettings, random: () => number) => Balancer;
