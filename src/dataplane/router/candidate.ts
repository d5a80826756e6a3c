//! One RouteEntry compiled into plain data that match() can test without compiling or allocating.

import type { HTTPRouteMatch } from '../../config/resources.js';
import type { RequestView, RouteEntry, RouteMatchResult } from './table.js';

/** Path match kinds, numbered in precedence order (lower wins); see README.md. */
export const PathKind = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;
export type PathKind = (typeof PathKind)[keyof typeof PathKind];

/** A header or query-parameter condition: `pattern` set for RegularExpression, else `exact`. */
export interface ValueCondition {
  readonly name: string;
  readonly exact: string;
  readonly pattern: RegExp | undefined;
}

export interface Candidate<T> {
  readonly pathKind: PathKind;
  /** Exact: the path; PathPrefix: the prefix without a trailing '/' ("" for "/"). */
  readonly pathValue: string;
  readonly pathPattern: RegExp | undefined;
  readonly method: string | undefined;
  readonly headers: readonly ValueCondition[];
  readonly queryParams: readonly ValueCondition[];
  /** Built once so that a successful match() returns it without allocating. */
  readonly result: RouteMatchResult<T>;
  // Precedence keys, precomputed for the sort (see precedence.ts).
  /** Characters in the configured path value (the spec's "largest number of characters"). */
  readonly pathLength: number;
  /** Milliseconds since the epoch; +Infinity when absent or unparseable (sorts as newest). */
  readonly createdAt: number;
  /** "{namespace}/{name}", compared as one string as the spec words it. */
  readonly routeKey: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
}

function where(entry: RouteEntry<unknown>): string {
  return `HTTPRoute ${entry.route.namespace}/${entry.route.name} rules[${entry.ruleIndex}].matches[${entry.matchIndex}]`;
}

/** Anchored so the pattern must match the whole subject; the group keeps alternations inside. */
function compileAnchored(source: string, entry: RouteEntry<unknown>, field: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new Error(`${where(entry)}.${field}: invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

/**
 * Header names compare case-insensitively and query names exactly; in both lists only the
 * first condition for a name counts (the spec says later duplicates MUST be ignored), so the
 * duplicates are dropped here and do not count towards precedence either.
 */
function compileConditions(
  list: HTTPRouteMatch['headers'] | HTTPRouteMatch['queryParams'],
  foldCase: boolean,
  entry: RouteEntry<unknown>,
  field: 'headers' | 'queryParams',
): ValueCondition[] {
  const out: ValueCondition[] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((cond, i) => {
    const name = foldCase ? cond.name.toLowerCase() : cond.name;
    if (seen.has(name)) return;
    seen.add(name);
    const type = cond.type ?? 'Exact';
    if (type === 'Exact') out.push({ name, exact: cond.value, pattern: undefined });
    else if (type === 'RegularExpression') out.push({ name, exact: '', pattern: compileAnchored(cond.value, entry, `${field}[${i}].value`) });
    else throw new Error(`${where(entry)}.${field}[${i}].type: unsupported match type ${JSON.stringify(type)}`);
  });
  return out;
}

function parseCreated(timestamp: string | undefined): number {
  if (timestamp === undefined) return Number.POSITIVE_INFINITY;
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Throws on a regex that does not compile or a match type this router does not know. */
export function compileCandidate<T>(entry: RouteEntry<T>): Candidate<T> {
  const type = entry.match.path?.type ?? 'PathPrefix';
  const value = entry.match.path?.value ?? '/';
  let pathKind: PathKind;
  let pathValue = value;
  let pathPattern: RegExp | undefined;
  if (type === 'Exact') {
    pathKind = PathKind.Exact;
  } else if (type === 'PathPrefix') {
    pathKind = PathKind.PathPrefix;
    // A trailing '/' is ignored: "/abc/" matches exactly what "/abc" does, and "/" becomes "".
    pathValue = value.endsWith('/') ? value.slice(0, -1) : value;
  } else if (type === 'RegularExpression') {
    pathKind = PathKind.RegularExpression;
    pathPattern = compileAnchored(value, entry, 'path.value');
  } else {
    throw new Error(`${where(entry)}.path.type: unsupported match type ${JSON.stringify(type)}`);
  }
  const result: RouteMatchResult<T> =
    pathKind === PathKind.PathPrefix ? { target: entry.target, entry, prefix: value } : { target: entry.target, entry };
  return {
    pathKind,
    pathValue,
    pathPattern,
    method: entry.match.method,
    headers: compileConditions(entry.match.headers, true, entry, 'headers'),
    queryParams: compileConditions(entry.match.queryParams, false, entry, 'queryParams'),
    result,
    pathLength: value.length,
    createdAt: parseCreated(entry.route.creationTimestamp),
    routeKey: `${entry.route.namespace}/${entry.route.name}`,
    ruleIndex: entry.ruleIndex,
    matchIndex: entry.matchIndex,
  };
}

const SLASH = 0x2f;

export function pathMatches(c: Candidate<unknown>, path: string): boolean {
  switch (c.pathKind) {
    case PathKind.Exact:
      return path === c.pathValue;
    case PathKind.PathPrefix: {
      // "/" (stored as "") matches every request; any other prefix must end on an element
      // boundary, i.e. be followed by '/' or by the end of the path. The boundary is checked
      // first because it is one character read and rejects most non-matching prefixes.
      const n = c.pathValue.length;
      return n === 0 || ((path.length === n || (path.length > n && path.charCodeAt(n) === SLASH)) && path.startsWith(c.pathValue));
    }
    case PathKind.RegularExpression:
      return (c.pathPattern as RegExp).test(path);
  }
}

function valueMatches(cond: ValueCondition, value: string | undefined): boolean {
  if (value === undefined) return false;
  return cond.pattern === undefined ? value === cond.exact : cond.pattern.test(value);
}

export function headersMatch(conds: readonly ValueCondition[], req: RequestView): boolean {
  for (let i = 0; i < conds.length; i++) {
    if (!valueMatches(conds[i], req.header(conds[i].name))) return false;
  }
  return true;
}

export function queryMatches(conds: readonly ValueCondition[], params: ReadonlyMap<string, string>): boolean {
  for (let i = 0; i < conds.length; i++) {
    if (!valueMatches(conds[i], params.get(conds[i].name))) return false;
  }
  return true;
}
