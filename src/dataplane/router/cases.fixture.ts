//! Table-driven router cases, independent of any implementation: each case lists entries and
//! requests with the entry they must select, so any `compileRouteTable` can be run against them.

import type { HTTPRouteMatch } from '../../config/resources.js';
import type { RequestView, RouteEntry } from './table.js';

export interface EntrySpec {
  /** Also the entry's target, so expectations name the entry that must win. */
  readonly id: string;
  readonly match?: HTTPRouteMatch;
  /** Defaults to ["*"]. */
  readonly hostnames?: readonly string[];
  /** "namespace/name"; defaults to "default/route". */
  readonly route?: string;
  readonly created?: string;
  readonly rule?: number;
  readonly index?: number;
}

export interface RequestSpec {
  /** Path and optional "?query". */
  readonly url: string;
  /** Defaults to "example.com". */
  readonly host?: string;
  /** Defaults to "GET". */
  readonly method?: string;
  /** Names in any case; looked up case-insensitively as a server would. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Expectation {
  readonly req: RequestSpec;
  /** Id of the entry that must be selected; null when nothing may match (a 404). */
  readonly want: string | null;
  /** When present, the `prefix` the result must carry (undefined: none). */
  readonly prefix?: string | undefined;
}

export interface RouterCase {
  readonly name: string;
  readonly entries: readonly EntrySpec[];
  readonly expect: readonly Expectation[];
}

export function toEntries(specs: readonly EntrySpec[]): RouteEntry<string>[] {
  return specs.map((s) => {
    const [namespace, name] = (s.route ?? 'default/route').split('/') as [string, string];
    return {
      hostnames: s.hostnames ?? ['*'],
      match: s.match ?? {},
      route: s.created === undefined ? { namespace, name } : { namespace, name, creationTimestamp: s.created },
      ruleIndex: s.rule ?? 0,
      matchIndex: s.index ?? 0,
      target: s.id,
    };
  });
}

export function toRequest(spec: RequestSpec): RequestView {
  const q = spec.url.indexOf('?');
  const headers = new Map(Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    host: spec.host ?? 'example.com',
    method: spec.method ?? 'GET',
    path: q === -1 ? spec.url : spec.url.slice(0, q),
    query: q === -1 ? '' : spec.url.slice(q + 1),
    header: (name) => headers.get(name),
  };
}

const prefix = (value: string): HTTPRouteMatch => ({ path: { type: 'PathPrefix', value } });
const exact = (value: string): HTTPRouteMatch => ({ path: { type: 'Exact', value } });
const regex = (value: string): HTTPRouteMatch => ({ path: { type: 'RegularExpression', value } });
const at = (url: string, want: string | null, extra: Omit<RequestSpec, 'url'> = {}): Expectation => ({ req: { url, ...extra }, want });

function manyHosts(count: number): Expectation[] {
  const out: Expectation[] = [];
  for (let i = 0; i < count; i++) {
    out.push(at('/', 'wild', { host: `h${i}.example.com` }), at('/', 'any', { host: `h${i}.other.test` }));
  }
  // Revisit the first hosts, long since evicted from any bounded cache.
  for (let i = 0; i < 10; i++) out.push(at('/', 'wild', { host: `h${i}.example.com` }));
  return out;
}

export const routerCases: readonly RouterCase[] = [
  // ---- path types ------------------------------------------------------------------------
  {
    name: 'Exact path is exact and case-sensitive',
    entries: [{ id: 'e', match: exact('/abc') }],
    expect: [at('/abc', 'e'), at('/abc/', null), at('/Abc', null), at('/abcd', null), at('/ab', null), at('/abc/d', null)],
  },
  {
    name: 'Exact result carries no prefix',
    entries: [{ id: 'e', match: exact('/abc') }],
    expect: [{ req: { url: '/abc' }, want: 'e', prefix: undefined }],
  },
  {
    name: 'PathPrefix matches on element boundaries',
    entries: [{ id: 'p', match: prefix('/abc') }],
    expect: [
      { req: { url: '/abc' }, want: 'p', prefix: '/abc' },
      at('/abc/', 'p'),
      at('/abc/def', 'p'),
      at('/abc/def/', 'p'),
      at('/abcd', null),
      at('/ab', null),
      at('/ABC', null),
      at('/', null),
      at('/x/abc', null),
    ],
  },
  {
    name: 'PathPrefix ignores a trailing slash in the prefix and reports the value as configured',
    entries: [{ id: 'p', match: prefix('/abc/') }],
    expect: [
      { req: { url: '/abc' }, want: 'p', prefix: '/abc/' },
      at('/abc/', 'p'),
      at('/abc/def', 'p'),
      at('/abcd', null),
      at('/ab', null),
    ],
  },
  {
    name: 'multi-element PathPrefix',
    entries: [{ id: 'p', match: prefix('/a/b') }],
    expect: [at('/a/b', 'p'), at('/a/b/c', 'p'), at('/a/bc', null), at('/a', null), at('/a/', null)],
  },
  {
    name: 'PathPrefix "/" matches every path',
    entries: [{ id: 'root', match: prefix('/') }],
    expect: [{ req: { url: '/' }, want: 'root', prefix: '/' }, at('/x', 'root'), at('/x/y/', 'root'), at('*', 'root')],
  },
  {
    name: 'missing path defaults to PathPrefix "/"; missing type to PathPrefix; missing value to "/"',
    entries: [
      { id: 'default', match: {}, route: 'ns/a' },
      { id: 'untyped', match: { path: { value: '/x' } }, route: 'ns/b' },
      { id: 'exact-root', match: { path: { type: 'Exact' } }, route: 'ns/c' },
    ],
    expect: [
      { req: { url: '/anything' }, want: 'default', prefix: '/' },
      { req: { url: '/x/y' }, want: 'untyped', prefix: '/x' },
      at('/xy', 'default'),
      at('/', 'exact-root'),
    ],
  },
  {
    name: 'RegularExpression path is anchored at both ends and case-sensitive',
    entries: [{ id: 're', match: regex('/v[0-9]+') }],
    expect: [
      { req: { url: '/v1' }, want: 're', prefix: undefined },
      at('/v42', 're'),
      at('/v1/x', null),
      at('/x/v1', null),
      at('/v', null),
      at('/V1', null),
    ],
  },
  {
    name: 'RegularExpression anchoring covers every alternative',
    entries: [{ id: 're', match: regex('/a|/b') }],
    expect: [at('/a', 're'), at('/b', 're'), at('/a/x', null), at('/x/b', null), at('/ab', null)],
  },

  // ---- path precedence -------------------------------------------------------------------
  {
    name: 'Exact beats PathPrefix; longer prefix beats shorter (conformance HTTPRoutePathMatchOrder)',
    entries: [
      { id: 'root', match: prefix('/'), rule: 0 },
      { id: 'p-match', match: prefix('/match'), rule: 1 },
      { id: 'p-prefix-one', match: prefix('/match/prefix/one'), rule: 2 },
      { id: 'p-prefix', match: prefix('/match/prefix'), rule: 3 },
      { id: 'e-match', match: exact('/match'), rule: 4 },
      { id: 'e-exact', match: exact('/match/exact'), rule: 5 },
      { id: 'e-exact-one', match: exact('/match/exact/one'), rule: 6 },
    ],
    expect: [
      at('/match/exact/one', 'e-exact-one'),
      at('/match/exact', 'e-exact'),
      at('/match', 'e-match'),
      at('/match/prefix/one/any', 'p-prefix-one'),
      at('/match/prefix/any', 'p-prefix'),
      at('/match/any', 'p-match'),
      at('/matchany', 'root'),
      at('/other', 'root'),
    ],
  },
  {
    name: 'RegularExpression sits between Exact and PathPrefix; longer pattern first among regexes',
    entries: [
      { id: 'root', match: prefix('/'), route: 'ns/a' },
      { id: 'long-prefix', match: prefix('/r/long/prefix/here'), route: 'ns/b' },
      { id: 're-short', match: regex('/r/.*'), route: 'ns/c' },
      { id: 're-long', match: regex('/r/[a-z]+'), route: 'ns/d' },
      { id: 'exact', match: exact('/r/exact'), route: 'ns/e' },
    ],
    expect: [
      at('/r/exact', 'exact'),
      at('/r/abc', 're-long'),
      at('/r/long/prefix/here/x', 're-short'),
      at('/r/1', 're-short'),
      at('/r', 'root'),
    ],
  },
  {
    name: 'prefix length counts characters as written, trailing slash included',
    entries: [
      { id: 'short', match: prefix('/abc'), route: 'ns/a' },
      { id: 'slash', match: prefix('/abc/'), route: 'ns/b' },
    ],
    expect: [at('/abc/x', 'slash'), at('/abc', 'slash')],
  },

  // ---- method ----------------------------------------------------------------------------
  {
    name: 'method match is exact and beats no method',
    entries: [
      { id: 'any', match: prefix('/m'), route: 'ns/a' },
      { id: 'post', match: { path: { type: 'PathPrefix', value: '/m' }, method: 'POST' }, route: 'ns/b' },
    ],
    expect: [at('/m', 'post', { method: 'POST' }), at('/m', 'any', { method: 'GET' }), at('/m', 'any', { method: 'post' })],
  },
  {
    name: 'method-only entry does not match other methods',
    entries: [{ id: 'get', match: { method: 'GET' } }],
    expect: [at('/', 'get'), at('/', null, { method: 'DELETE' })],
  },
  {
    name: 'method beats header count; path beats method',
    entries: [
      { id: 'headers', match: { headers: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }] }, route: 'ns/a' },
      { id: 'method', match: { method: 'POST' }, route: 'ns/b' },
      { id: 'longer-path', match: prefix('/deep/er'), route: 'ns/c' },
      { id: 'method-short-path', match: { path: { type: 'PathPrefix', value: '/deep' }, method: 'POST' }, route: 'ns/d' },
    ],
    expect: [
      at('/', 'method', { method: 'POST', headers: { a: '1', b: '2' } }),
      at('/', 'headers', { method: 'GET', headers: { a: '1', b: '2' } }),
      at('/deep/er/x', 'longer-path', { method: 'POST' }),
      at('/deep/x', 'method-short-path', { method: 'POST' }),
    ],
  },

  // ---- headers ---------------------------------------------------------------------------
  {
    name: 'header names are case-insensitive, values case-sensitive',
    entries: [{ id: 'h', match: { headers: [{ name: 'X-Version', value: 'v1' }] } }],
    expect: [
      at('/', 'h', { headers: { 'x-version': 'v1' } }),
      at('/', 'h', { headers: { 'X-VERSION': 'v1' } }),
      at('/', null, { headers: { 'x-version': 'V1' } }),
      at('/', null, { headers: { 'x-version': 'v1 ' } }),
      at('/', null),
    ],
  },
  {
    name: 'header Exact type is the default and all headers are ANDed',
    entries: [{ id: 'h', match: { headers: [{ name: 'a', value: '1' }, { type: 'Exact', name: 'b', value: '2' }] } }],
    expect: [at('/', 'h', { headers: { a: '1', b: '2' } }), at('/', null, { headers: { a: '1' } }), at('/', null, { headers: { b: '2' } })],
  },
  {
    name: 'header RegularExpression is anchored',
    entries: [{ id: 'h', match: { headers: [{ type: 'RegularExpression', name: 'v', value: 'v[0-9]+' }] } }],
    expect: [
      at('/', 'h', { headers: { v: 'v12' } }),
      at('/', null, { headers: { v: 'xv1' } }),
      at('/', null, { headers: { v: 'v1x' } }),
      at('/', null, { headers: { v: 'V1' } }),
    ],
  },
  {
    name: 'repeated request header values are matched as the joined value',
    entries: [{ id: 'h', match: { headers: [{ name: 'tag', value: 'a,b' }] } }],
    expect: [at('/', 'h', { headers: { tag: 'a,b' } }), at('/', null, { headers: { tag: 'a' } })],
  },
  {
    name: 'more header matches win',
    entries: [
      { id: 'one', match: { headers: [{ name: 'a', value: '1' }] }, route: 'ns/a' },
      { id: 'two', match: { headers: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }] }, route: 'ns/b' },
      { id: 'none', match: {}, route: 'ns/c' },
    ],
    expect: [at('/', 'two', { headers: { a: '1', b: '2' } }), at('/', 'one', { headers: { a: '1', b: '3' } }), at('/', 'none')],
  },
  {
    name: 'only the first header match for a name counts, for matching and for precedence',
    entries: [
      { id: 'dup', match: { headers: [{ name: 'x', value: 'a' }, { name: 'X', value: 'b' }] }, route: 'a/old', created: '2020-01-01T00:00:00Z' },
      { id: 'two', match: { headers: [{ name: 'x', value: 'a' }, { name: 'y', value: 'c' }] }, route: 'z/new', created: '2024-01-01T00:00:00Z' },
    ],
    expect: [at('/', 'dup', { headers: { x: 'a' } }), at('/', null, { headers: { x: 'b' } }), at('/', 'two', { headers: { x: 'a', y: 'c' } })],
  },

  // ---- query parameters ------------------------------------------------------------------
  {
    name: 'query params: exact, case-sensitive, ANDed, more matches win (conformance HTTPRouteQueryParamMatching)',
    entries: [
      { id: 'whale', match: { queryParams: [{ name: 'animal', value: 'whale' }] }, route: 'ns/a' },
      { id: 'dolphin', match: { queryParams: [{ name: 'animal', value: 'dolphin' }] }, route: 'ns/b' },
      {
        id: 'blue-dolphin',
        match: { queryParams: [{ name: 'animal', value: 'dolphin' }, { name: 'color', value: 'blue' }] },
        route: 'ns/c',
      },
      { id: 'upper', match: { queryParams: [{ name: 'ANIMAL', value: 'Whale' }] }, route: 'ns/d' },
    ],
    expect: [
      at('/?animal=whale', 'whale'),
      at('/?animal=dolphin', 'dolphin'),
      at('/?animal=dolphin&color=blue', 'blue-dolphin'),
      at('/?color=blue&animal=dolphin', 'blue-dolphin'),
      at('/?ANIMAL=Whale', 'upper'),
      at('/?animal=Whale', null),
      at('/?animal=whale&otherparam=irrelevant', 'whale'),
      at('/?animal=dolphin&color=yellow', 'dolphin'),
      at('/?color=blue', null),
      at('/?animal=dog', null),
      at('/?animal=whaledolphin', null),
      at('/', null),
    ],
  },
  {
    name: 'the first occurrence of a repeated query parameter is used',
    entries: [
      { id: 'dolphin', match: { queryParams: [{ name: 'animal', value: 'dolphin' }] }, route: 'ns/a' },
      { id: 'whale', match: { queryParams: [{ name: 'animal', value: 'whale' }] }, route: 'ns/b' },
      { id: 'red', match: { queryParams: [{ name: 'color', value: 'red' }] }, route: 'ns/c' },
    ],
    expect: [
      at('/?animal=dolphin&animal=whale', 'dolphin'),
      at('/?animal=whale&animal=dolphin', 'whale'),
      at('/?animal=whale&animal=dolphin&color=blue', 'whale'),
      at('/?color=blue&color=red', null),
    ],
  },
  {
    name: "query values are percent-decoded; '+' stays '+'; malformed escapes compare as written",
    entries: [
      { id: 'space', match: { queryParams: [{ name: 'q', value: 'a b' }] }, route: 'ns/a' },
      { id: 'plus', match: { queryParams: [{ name: 'q', value: 'a+b' }] }, route: 'ns/b' },
      { id: 'slash', match: { queryParams: [{ name: 'q', value: 'a/b' }] }, route: 'ns/c' },
      { id: 'bad', match: { queryParams: [{ name: 'q', value: '%zz' }] }, route: 'ns/d' },
      { id: 'utf8', match: { queryParams: [{ name: 'q', value: 'é' }] }, route: 'ns/e' },
      { id: 'mixed', match: { queryParams: [{ name: 'q', value: 'a+b c' }] }, route: 'ns/f' },
    ],
    expect: [
      at('/?q=a%20b', 'space'),
      at('/?q=a+b', 'plus'),
      at('/?q=a%2Bb', 'plus'),
      at('/?q=a%2fb', 'slash'),
      at('/?q=a%2Fb', 'slash'),
      at('/?q=%zz', 'bad'),
      at('/?q=%C3%A9', 'utf8'),
      at('/?q=a+b%20c', 'mixed'),
      at('/?q=a%20', null),
    ],
  },
  {
    name: 'query parameter names are percent-decoded too',
    entries: [{ id: 'q', match: { queryParams: [{ name: 'animal', value: 'whale' }] } }],
    expect: [at('/?%61nimal=whale', 'q'), at('/?Animal=whale', null)],
  },
  {
    name: "a parameter without '=' has the empty value; empty segments are skipped",
    entries: [
      { id: 'flag', match: { queryParams: [{ type: 'RegularExpression', name: 'flag', value: '.*' }] }, route: 'ns/a' },
      { id: 'after', match: { queryParams: [{ name: 'b', value: '2' }] }, route: 'ns/b' },
    ],
    expect: [at('/?flag', 'flag'), at('/?flag=', 'flag'), at('/?x&&b=2&', 'after'), at('/?other', null), at('/?=x', null)],
  },
  {
    name: 'query RegularExpression is anchored',
    entries: [{ id: 'q', match: { queryParams: [{ type: 'RegularExpression', name: 'id', value: '[0-9]+' }] } }],
    expect: [at('/?id=123', 'q'), at('/?id=12a', null), at('/?id=a12', null), at('/?id=', null)],
  },
  {
    name: 'only the first query match for a name counts',
    entries: [{ id: 'q', match: { queryParams: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] } }],
    expect: [at('/?a=1', 'q'), at('/?a=2', null)],
  },
  {
    name: 'header count beats query count; query count breaks header ties',
    entries: [
      { id: 'queries', match: { queryParams: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }] }, route: 'ns/a' },
      { id: 'header', match: { headers: [{ name: 'h', value: '1' }] }, route: 'ns/b' },
      { id: 'header-query', match: { headers: [{ name: 'h', value: '1' }], queryParams: [{ name: 'a', value: '1' }] }, route: 'ns/c' },
    ],
    expect: [
      at('/?a=1&b=2', 'header-query', { headers: { h: '1' } }),
      at('/?b=2', 'header', { headers: { h: '1' } }),
      at('/?a=1&b=2', 'queries'),
    ],
  },
  {
    name: 'path, headers, method and query together (conformance combinations)',
    entries: [
      { id: 'path-query', match: { path: { type: 'PathPrefix', value: '/path1' }, queryParams: [{ name: 'animal', value: 'whale' }] }, rule: 0 },
      { id: 'header-query', match: { headers: [{ name: 'version', value: 'one' }], queryParams: [{ name: 'animal', value: 'whale' }] }, rule: 1 },
      {
        id: 'all',
        match: {
          path: { type: 'PathPrefix', value: '/path2' },
          headers: [{ name: 'version', value: 'two' }],
          queryParams: [{ name: 'animal', value: 'whale' }],
          method: 'POST',
        },
        rule: 2,
      },
    ],
    expect: [
      at('/path1?animal=whale', 'path-query'),
      at('/?animal=whale', 'header-query', { headers: { version: 'one' } }),
      at('/path2?animal=whale', 'all', { method: 'POST', headers: { version: 'two' } }),
      at('/path2?animal=whale', null, { method: 'GET', headers: { version: 'two' } }),
      at('/?animal=whale', null),
    ],
  },

  // ---- hostnames -------------------------------------------------------------------------
  {
    name: 'exact host beats wildcard beats catch-all',
    entries: [
      { id: 'any', hostnames: ['*'], route: 'a/a' },
      { id: 'wild', hostnames: ['*.example.com'], route: 'a/b' },
      { id: 'exact', hostnames: ['a.example.com'], route: 'a/c' },
    ],
    expect: [
      at('/', 'exact', { host: 'a.example.com' }),
      at('/', 'wild', { host: 'b.example.com' }),
      at('/', 'wild', { host: 'x.a.example.com' }),
      at('/', 'any', { host: 'example.com' }),
      at('/', 'any', { host: 'other.test' }),
    ],
  },
  {
    name: 'longest wildcard suffix wins; a wildcard never matches its own apex',
    entries: [
      { id: 'short', hostnames: ['*.example.com'], route: 'a/a' },
      { id: 'long', hostnames: ['*.b.example.com'], route: 'a/b' },
    ],
    expect: [
      at('/', 'long', { host: 'a.b.example.com' }),
      at('/', 'long', { host: 'x.y.b.example.com' }),
      at('/', 'short', { host: 'b.example.com' }),
      at('/', 'short', { host: 'a.c.example.com' }),
      at('/', null, { host: 'example.com' }),
      at('/', null, { host: 'badexample.com' }),
      at('/', null, { host: '.example.com' }),
    ],
  },
  {
    name: 'host specificity beats every path, method, header and query criterion',
    entries: [
      {
        id: 'any-specific',
        hostnames: ['*'],
        match: { path: { type: 'Exact', value: '/x' }, method: 'GET', headers: [{ name: 'h', value: '1' }] },
        route: 'a/a',
        created: '2000-01-01T00:00:00Z',
      },
      { id: 'wild-exact', hostnames: ['*.example.com'], match: exact('/x'), route: 'a/b' },
      { id: 'exact-root', hostnames: ['a.example.com'], match: prefix('/'), route: 'z/z', created: '2030-01-01T00:00:00Z' },
    ],
    expect: [
      at('/x', 'exact-root', { host: 'a.example.com', headers: { h: '1' } }),
      at('/x', 'wild-exact', { host: 'b.example.com', headers: { h: '1' } }),
      at('/x', 'any-specific', { host: 'other.test', headers: { h: '1' } }),
    ],
  },
  {
    name: 'when no entry for the exact host matches, wildcard and catch-all entries are tried in order',
    entries: [
      { id: 'any', hostnames: ['*'], match: prefix('/'), route: 'a/a' },
      { id: 'wild', hostnames: ['*.example.com'], match: prefix('/wild'), route: 'a/b' },
      { id: 'wild-b', hostnames: ['*.b.example.com'], match: prefix('/wild-b'), route: 'a/c' },
      { id: 'exact', hostnames: ['a.b.example.com'], match: exact('/only'), route: 'a/d' },
    ],
    expect: [
      at('/only', 'exact', { host: 'a.b.example.com' }),
      at('/wild-b/x', 'wild-b', { host: 'a.b.example.com' }),
      at('/wild/x', 'wild', { host: 'a.b.example.com' }),
      at('/elsewhere', 'any', { host: 'a.b.example.com' }),
      at('/wild-b', 'wild-b', { host: 'c.b.example.com' }),
      at('/wild', 'wild', { host: 'c.b.example.com' }),
      at('/only', 'any', { host: 'c.b.example.com' }),
    ],
  },
  {
    name: 'request hosts are normalised: port, case, trailing dot, IPv6 literal',
    entries: [
      { id: 'exact', hostnames: ['a.example.com'], route: 'a/a' },
      { id: 'any', hostnames: ['*'], match: exact('/any'), route: 'a/b' },
    ],
    expect: [
      at('/', 'exact', { host: 'A.Example.COM' }),
      at('/', 'exact', { host: 'a.example.com:8080' }),
      at('/', 'exact', { host: 'a.example.com.' }),
      at('/', 'exact', { host: 'A.EXAMPLE.COM.:443' }),
      at('/', null, { host: 'a.example.com..' }),
      at('/', null, { host: '[::1]:8080' }),
      at('/any', 'any', { host: '[::1]:8080' }),
      at('/any', 'any', { host: '' }),
    ],
  },
  {
    name: 'configured hostnames are normalised the same way',
    entries: [
      { id: 'exact', hostnames: ['B.Example.COM.'], route: 'a/a' },
      { id: 'wild', hostnames: ['*.Wild.Example.COM'], route: 'a/b' },
    ],
    expect: [at('/', 'exact', { host: 'b.example.com' }), at('/', 'wild', { host: 'x.wild.example.com' }), at('/', null, { host: 'c.example.com' })],
  },
  {
    name: 'an entry with several hostnames competes with its most specific matching one',
    entries: [
      { id: 'multi', hostnames: ['a.example.com', '*.example.com', '*.other.test'], match: prefix('/'), route: 'a/a' },
      { id: 'wild-exact', hostnames: ['*.example.com'], match: exact('/p'), route: 'a/b' },
    ],
    expect: [
      at('/p', 'multi', { host: 'a.example.com' }),
      at('/p', 'wild-exact', { host: 'b.example.com' }),
      at('/q', 'multi', { host: 'b.example.com' }),
      at('/p', 'multi', { host: 'x.other.test' }),
      at('/p', null, { host: 'example.com' }),
    ],
  },
  {
    name: 'an entry without hostnames answers no host',
    entries: [{ id: 'none', hostnames: [] }],
    expect: [at('/', null), at('/', null, { host: '' })],
  },
  {
    name: 'an empty table matches nothing',
    entries: [],
    expect: [at('/', null), at('/x?y=z', null, { host: 'a.example.com' })],
  },

  // ---- ties ------------------------------------------------------------------------------
  {
    name: 'ties go to the oldest route by creationTimestamp, whatever its name',
    entries: [
      { id: 'new', route: 'a/new', created: '2024-01-01T00:00:00Z' },
      { id: 'old', route: 'z/old', created: '2020-06-01T12:00:00Z' },
    ],
    expect: [at('/', 'old')],
  },
  {
    name: 'timestamps are compared as instants, not strings',
    entries: [
      // 2023-12-31T23:00:00-02:00 is 2024-01-01T01:00:00Z: later, despite sorting first as text.
      { id: 'offset', route: 'a/offset', created: '2023-12-31T23:00:00-02:00' },
      { id: 'utc', route: 'z/utc', created: '2024-01-01T00:00:00Z' },
    ],
    expect: [at('/', 'utc')],
  },
  {
    name: 'a route with a timestamp is older than one without',
    entries: [
      { id: 'unknown', route: 'a/unknown' },
      { id: 'dated', route: 'z/dated', created: '2030-01-01T00:00:00Z' },
    ],
    expect: [at('/', 'dated')],
  },
  {
    name: 'equal timestamps go to the first "{namespace}/{name}" in code-unit order',
    entries: [
      { id: 'b-x', route: 'b/x', created: '2024-01-01T00:00:00Z' },
      { id: 'a-y', route: 'a/y', created: '2024-01-01T00:00:00Z' },
    ],
    expect: [at('/', 'a-y')],
  },
  {
    name: '"{namespace}/{name}" is compared as one string ("a-x/c" < "a/b")',
    entries: [
      { id: 'a/b', route: 'a/b' },
      { id: 'a-x/c', route: 'a-x/c' },
    ],
    expect: [at('/', 'a-x/c')],
  },
  {
    name: 'upper case sorts before lower case in code-unit order',
    entries: [
      { id: 'lower', route: 'ns/abc' },
      { id: 'upper', route: 'ns/Zed' },
    ],
    expect: [at('/', 'upper')],
  },
  {
    name: 'within a route the first rule, then the first match, wins',
    entries: [
      { id: 'r1m0', rule: 1, index: 0 },
      { id: 'r0m1', rule: 0, index: 1 },
      { id: 'r0m0', match: { path: { type: 'PathPrefix', value: '/' } }, rule: 0, index: 0 },
      { id: 'r0m2', rule: 0, index: 2 },
    ],
    expect: [at('/', 'r0m0')],
  },
  {
    name: 'method, then header count, then query count, then age decide between otherwise equal matches',
    entries: [
      { id: 'g-rule1', route: 'a/a', created: '2020-01-01T00:00:00Z', rule: 1 },
      { id: 'f-rule0', route: 'a/a', created: '2020-01-01T00:00:00Z', rule: 0 },
      { id: 'e-name', route: 'a/0', created: '2020-01-01T00:00:00Z', rule: 5 },
      { id: 'd-older', route: 'z/z', created: '2019-01-01T00:00:00Z', rule: 9 },
      { id: 'c-query', route: 'z/z9', match: { queryParams: [{ name: 'q', value: '1' }] } },
      { id: 'b-header', route: 'z/z8', match: { headers: [{ name: 'h', value: '1' }] } },
      { id: 'a-method', route: 'z/z7', match: { method: 'PUT' } },
    ],
    expect: [
      at('/?q=1', 'a-method', { method: 'PUT', headers: { h: '1' } }),
      at('/?q=1', 'b-header', { headers: { h: '1' } }),
      at('/?q=1', 'c-query'),
      at('/', 'd-older'),
    ],
  },

  // ---- hostile input ---------------------------------------------------------------------
  {
    name: 'very long hosts route without error',
    entries: [
      { id: 'wild', hostnames: ['*.example.com'], route: 'a/a' },
      { id: 'any', hostnames: ['*'], match: exact('/any'), route: 'a/b' },
    ],
    expect: [
      at('/', 'wild', { host: `${'a'.repeat(100_000)}.example.com` }),
      at('/', 'wild', { host: `${'a.'.repeat(50_000)}example.com` }),
      at('/any', 'any', { host: 'a'.repeat(100_000) }),
      at('/', null, { host: `${'a.'.repeat(50_000)}example.org` }),
      at('/', null, { host: ':'.repeat(10_000) }),
    ],
  },
  {
    name: 'many distinct hosts keep routing correctly',
    entries: [
      { id: 'wild', hostnames: ['*.example.com'], route: 'a/a' },
      { id: 'any', hostnames: ['*'], route: 'a/b' },
    ],
    expect: manyHosts(5000),
  },
  {
    name: 'long hostile query strings are read correctly',
    entries: [{ id: 'q', match: { queryParams: [{ name: 'want', value: 'yes' }] } }],
    expect: [at(`/?${'a&'.repeat(50_000)}want=yes`, 'q'), at(`/?${'a=1&'.repeat(50_000)}want=no`, null)],
  },
];
