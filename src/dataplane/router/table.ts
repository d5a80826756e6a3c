//! The request router: HTTPRoute matches compiled, at config time, into per-host candidate
//! lists already in Gateway API precedence order, so that a request is routed by one host
//! lookup and a scan for the first candidate whose conditions hold. See README.md.

import type { HTTPRouteMatch } from '../../config/resources.js';
import { BoundedCache } from './bounded-cache.js';
import { compileCandidate, headersMatch, pathMatches, queryMatches, type Candidate } from './candidate.js';
import { MAX_DNS_NAME_LENGTH, lookupLongestSuffix, normaliseHost, parseHostnamePattern, wildcardSuffixesOf } from './host.js';
import { comparePrecedence } from './precedence.js';
import { readQueryParams } from './query.js';

export interface RouteEntry<T> {
  /** hostnames this entry answers for, already intersected with the listener: exact "a.example.com", wildcard "*.example.com", or "*" for any */
  readonly hostnames: readonly string[];
  readonly match: HTTPRouteMatch; // defaults already applied or not: treat missing path as PathPrefix "/"
  readonly route: { readonly namespace: string; readonly name: string; readonly creationTimestamp?: string };
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly target: T;
}

export interface RequestView {
  readonly host: string; // Host/:authority, may include :port and any case; you normalise (strip port, lowercase, strip trailing dot)
  readonly method: string;
  readonly path: string; // path only, no query
  readonly query: string; // raw query string without '?', '' if none
  header(name: string): string | undefined; // lowercase name; multiple values already joined with ","
}

export interface RouteMatchResult<T> {
  readonly target: T;
  readonly entry: RouteEntry<T>;
  /** the PathPrefix value that matched, for ReplacePrefixMatch */
  readonly prefix?: string;
}

export interface RouteTable<T> {
  match(req: RequestView): RouteMatchResult<T> | undefined;
  readonly size: number;
}

/** Distinct non-exact hosts remembered; each key is at most MAX_DNS_NAME_LENGTH characters. */
const HOST_CACHE_LIMIT = 1024;

type Bucket<T> = Candidate<T>[];

function addTo<T>(buckets: Map<string, Bucket<T>>, key: string, c: Candidate<T>): void {
  const bucket = buckets.get(key);
  if (bucket === undefined) buckets.set(key, [c]);
  else if (bucket[bucket.length - 1] !== c) bucket.push(c); // the same hostname listed twice
}

/** Concatenates buckets, most specific host first, keeping each candidate's first (best) place. */
function chain<T>(buckets: readonly (Bucket<T> | undefined)[]): readonly Candidate<T>[] {
  const seen = new Set<Candidate<T>>();
  const out: Candidate<T>[] = [];
  for (const bucket of buckets) {
    for (const c of bucket ?? []) {
      if (!seen.has(c)) {
        seen.add(c);
        out.push(c);
      }
    }
  }
  return out;
}

/**
 * Compiles entries into a table. Throws if an entry has an invalid regular expression or a
 * match type this router does not implement: both must be rejected when routes are
 * validated, so reaching here is a bug in the caller and is reported at config time rather
 * than on a request.
 */
export function compileRouteTable<T>(entries: readonly RouteEntry<T>[]): RouteTable<T> {
  const exact = new Map<string, Bucket<T>>();
  const wildcard = new Map<string, Bucket<T>>();
  const any: Bucket<T> = [];
  const wantedQueryNames = new Set<string>();

  for (const entry of entries) {
    const c = compileCandidate(entry);
    for (const q of c.queryParams) wantedQueryNames.add(q.name);
    for (const hostname of entry.hostnames) {
      const pattern = parseHostnamePattern(hostname);
      if (pattern.kind === 'exact') addTo(exact, pattern.host, c);
      else if (pattern.kind === 'wildcard') addTo(wildcard, pattern.suffix, c);
      else if (any[any.length - 1] !== c) any.push(c);
    }
  }

  // Within one hostname every candidate has the same host specificity, so each bucket is
  // ordered by the remaining criteria. Array.prototype.sort is stable, so exact duplicates keep
  // their input order.
  for (const bucket of [...exact.values(), ...wildcard.values(), any]) bucket.sort(comparePrecedence);

  // Host specificity comes first in the precedence order (exact > longer wildcard > shorter
  // wildcard > "*"), so the full candidate list for a host is its buckets concatenated in that
  // order. A non-exact host's list depends only on its longest matching wildcard, because every
  // shorter matching wildcard is also a suffix of that one, so these lists are all built here.
  const wildcardLengths = new Set([...wildcard.keys()].map((suffix) => suffix.length));
  const bucketsFor = (name: string): Bucket<T>[] =>
    wildcardSuffixesOf(name, wildcardLengths, wildcard).map((suffix) => wildcard.get(suffix) as Bucket<T>);
  const anyList = chain([any]);
  const exactLists = new Map<string, readonly Candidate<T>[]>();
  for (const [host, bucket] of exact) exactLists.set(host, chain([bucket, ...bucketsFor(host), any]));
  const wildcardLists = new Map<string, readonly Candidate<T>[]>();
  for (const [suffix, bucket] of wildcard) wildcardLists.set(suffix, chain([bucket, ...bucketsFor(suffix), any]));

  const hostCache = new BoundedCache<string, readonly Candidate<T>[]>(HOST_CACHE_LIMIT);

  function listForOtherHost(host: string): readonly Candidate<T>[] {
    if (wildcardLists.size === 0) return anyList;
    const cached = hostCache.get(host);
    if (cached !== undefined) return cached;
    const list = lookupLongestSuffix(host, wildcardLengths, wildcardLists) ?? anyList;
    // Longer keys are not valid DNS names and would let each cached key cost up to a whole
    // Host header of memory; such hosts are simply looked up every time.
    if (host.length <= MAX_DNS_NAME_LENGTH) hostCache.set(host, list);
    return list;
  }

  return {
    size: entries.length,
    match(req: RequestView): RouteMatchResult<T> | undefined {
      const host = normaliseHost(req.host);
      const list = exactLists.get(host) ?? listForOtherHost(host);
      const { method, path } = req;
      // Parsed at most once, and only when a candidate that passed every other check has
      // query conditions.
      let params: Map<string, string> | undefined;
      for (let i = 0; i < list.length; i++) {
        const c = list[i];
        if (c.method !== undefined && c.method !== method) continue;
        if (!pathMatches(c, path)) continue;
        if (c.headers.length !== 0 && !headersMatch(c.headers, req)) continue;
        if (c.queryParams.length !== 0) {
          params ??= readQueryParams(req.query, wantedQueryNames);
          if (!queryMatches(c.queryParams, params)) continue;
        }
        return c.result;
      }
      return undefined;
    },
  };
}
