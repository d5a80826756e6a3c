//! Gateway API match precedence among candidates that share a matching hostname.
//! Hostname specificity is not compared here: table.ts orders the host buckets themselves.

import type { Candidate } from './candidate.js';

/**
 * Negative when `a` takes precedence over `b`. The order is the one HTTPRouteRule documents,
 * with RegularExpression paths placed between Exact and PathPrefix (see README.md):
 * path kind, then longer path value, then having a method, then more header conditions, then
 * more query conditions, then the older route, then "{namespace}/{name}" in code-unit order,
 * then rule index, then match index.
 */
export function comparePrecedence(a: Candidate<unknown>, b: Candidate<unknown>): number {
  return (
    a.pathKind - b.pathKind ||
    b.pathLength - a.pathLength ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length ||
    b.queryParams.length - a.queryParams.length ||
    compareTimes(a.createdAt, b.createdAt) ||
    compareStrings(a.routeKey, b.routeKey) ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

/** Subtraction would give NaN for two +Infinity (both timestamps unknown): that is a tie. */
function compareTimes(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Code-unit order rather than localeCompare, so the result never depends on the host's locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
