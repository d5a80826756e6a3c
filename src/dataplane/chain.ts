//! Runs a route's request filters in order and stops at the first local response.
//! Synchronous filters cost no promise; only a filter that returns one makes the chain async.

import type { Filter, FilterOutcome, ProxyRequest, ProxyResponseHead } from './filters/filter.js';

export function runRequestFilters(
  filters: readonly Filter[],
  req: ProxyRequest,
  from = 0,
): FilterOutcome | Promise<FilterOutcome> {
  for (let i = from; i < filters.length; i++) {
    const hook = filters[i].onRequest;
    if (hook === undefined) continue;
    const outcome = hook.call(filters[i], req);
    if (outcome instanceof Promise) {
      return outcome.then((settled) => (settled !== undefined ? settled : runRequestFilters(filters, req, i + 1)));
    }
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

export function runResponseFilters(filters: readonly Filter[], res: ProxyResponseHead, req: ProxyRequest): void {
  for (let i = filters.length - 1; i >= 0; i--) filters[i].onResponse?.(res, req);
}
