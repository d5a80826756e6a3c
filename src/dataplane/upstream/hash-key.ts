//! The value a consistent-hash balancer hashes for a request: a header, a cookie, or the client address.

import type { HashOn } from '../../config/model.js';
import type { ProxyRequest } from '../filters/filter.js';
import type { PickContext } from './balancer/balancer.js';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function hashKeyOf(hashOn: HashOn | undefined, preq: ProxyRequest): string | undefined {
  switch (hashOn?.kind) {
    case 'header': return preq.headers.get(hashOn.name);
    case 'cookie': return cookieValue(preq.headers.get('cookie'), hashOn.name);
    case 'sourceIP': return preq.clientAddress || undefined;
    default: return undefined;
  }
}

/** For picks that have no request to hash (mirrors): hashing balancers fall back to a random host. */
export const NO_HASH_KEY: PickContext = { hashKey: () => undefined };
