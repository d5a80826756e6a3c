//! The balancer for a cluster's load-balancer settings.

import type { Balancer, BalancerFactory } from './balancer.js';
import { createLeastRequest } from './least-request.js';
import { createRandom } from './random.js';
import { createRingHash } from './ring-hash.js';
import { createRoundRobin } from './round-robin.js';

const NO_HOSTS: Balancer = { pick: () => undefined };

export const createBalancer: BalancerFactory = (hosts, settings, random) => {
  if (hosts.length === 0) return NO_HOSTS;
  switch (settings.type) {
    case 'RoundRobin':
      return createRoundRobin(hosts, random);
    case 'LeastRequest':
      return createLeastRequest(hosts, random);
    case 'Random':
      return createRandom(hosts, random);
    case 'ConsistentHash':
      return createRingHash(hosts, random);
  }
};
