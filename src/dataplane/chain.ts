//! Runs a route's request filters (head hooks, then body hooks) in order and stops at the first local response.
//! Synchronous filters cost no promise; only a filter that returns one makes the chain async.
//! A filter that throws or rejects answers 500 for its request; it never takes the process down.

import type { Filter, FilterOutcome, LocalResponse, ProxyRequest, ProxyResponseHead } from './filters/filter.js';
import { HeaderList } from './headers.js';

function failed(filter: Filter): LocalResponse {
  return { status: 500, errorCode: 'internal_error', message: `the ${filter.name} filter failed` };
}

export function runRequestFilters(
  filters: readonly Filter[],
  req: ProxyRequest,
  from = 0,
): FilterOutcome | Promise<FilterOutcome> {
  for (let i = from; i < filters.length; i++) {
    const filter = filters[i];
    if (filter.onRequest === undefined) continue;
    let outcome: FilterOutcome | Promise<FilterOutcome>;
    try {
      outcome = filter.onRequest(req);
    } catch {
      return decorateLocal(filters, i, failed(filter), req);
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (settled) => (settled !== undefined ? decorateLocal(filters, i, settled, req) : runRequestFilters(filters, req, i + 1)),
        () => decorateLocal(filters, i, failed(filter), req),
      );
    }
    if (outcome !== undefined) return decorateLocal(filters, i, outcome, req);
  }
  return undefined;
}

/**
 * Runs the body hooks of `filters` (each has one, and wanted this body) in order, as
 * runRequestFilters runs onRequest; each hook sees at most its own `maxBytes` of `body`.
 */
export function runBodyFilters(
  filters: readonly Filter[],
  req: ProxyRequest,
  body: Buffer,
  from = 0,
): FilterOutcome | Promise<FilterOutcome> {
  for (let i = from; i < filters.length; i++) {
    const filter = filters[i];
    const hook = filter.requestBody!;
    const truncated = body.length > hook.maxBytes;
    let outcome: FilterOutcome | Promise<FilterOutcome>;
    try {
      outcome = hook.inspect(req, truncated ? body.subarray(0, hook.maxBytes) : body, truncated);
    } catch {
      return failed(filter);
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (settled) => (settled !== undefined ? settled : runBodyFilters(filters, req, body, i + 1)),
        () => failed(filter),
      );
    }
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

export function runResponseFilters(filters: readonly Filter[], res: ProxyResponseHead, req: ProxyRequest): void {
  for (let i = filters.length - 1; i >= 0; i--) filters[i].onResponse?.(res, req);
}

/**
 * A local answer as the first `passed` of `filters`, which let its request through, see it: the
 * response hooks of those that ask for local answers (`onLocalAnswers`) run on it, innermost
 * first, as on a backend's answer (Envoy runs its encoder filters on local replies too). So a
 * browser gets its CORS headers with a 401, 403 or 503 and can read the error.
 */
export function decorateLocal(filters: readonly Filter[], passed: number, local: LocalResponse, req: ProxyRequest): LocalResponse {
  let hooked = false;
  for (let i = 0; i < passed && !hooked; i++) hooked = filters[i].onLocalAnswers === true;
  if (!hooked) return local;
  const head: ProxyResponseHead = { status: local.status, headers: new HeaderList((local.headers ?? []).flatMap(([k, v]) => [k, v])) };
  for (let i = passed - 1; i >= 0; i--) if (filters[i].onLocalAnswers === true) filters[i].onResponse?.(head, req);
  const headers: [string, string][] = [];
  const raw = head.headers.raw;
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  return { ...local, headers };
}
