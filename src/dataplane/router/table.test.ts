import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { BoundedCache } from './bounded-cache.js';
import { routerCases, toEntries, toRequest, type RouterCase } from './cases.fixture.js';
import { normaliseHost } from './host.js';
import { readQueryParams } from './query.js';
import { compileRouteTable, type RouteEntry, type RouteTable } from './table.js';

type Compile = (entries: readonly RouteEntry<string>[]) => RouteTable<string>;

/** Runs one case; entries are also compiled in reverse so that input order can never decide. */
function runCase(compile: Compile, c: RouterCase): void {
  for (const order of ['given', 'reversed'] as const) {
    const entries = toEntries(c.entries);
    if (order === 'reversed') entries.reverse();
    const table = compile(entries);
    assert.equal(table.size, entries.length);
    for (const exp of c.expect) {
      const label = `${order} order: ${exp.req.method ?? 'GET'} ${exp.req.host ?? 'example.com'} ${exp.req.url.slice(0, 80)}`;
      const got = table.match(toRequest(exp.req));
      if (exp.want === null) {
        assert.equal(got, undefined, `${label}: expected no match, got ${got?.target}`);
        continue;
      }
      assert.ok(got, `${label}: expected ${exp.want}, got no match`);
      assert.equal(got.target, exp.want, label);
      assert.equal(got.entry, entries.find((e) => e.target === exp.want), `${label}: result.entry is the input entry`);
      if ('prefix' in exp) assert.equal(got.prefix, exp.prefix, `${label}: prefix`);
    }
  }
}

describe('router cases', () => {
  for (const c of routerCases) test(c.name, () => runCase(compileRouteTable, c));
});

describe('match() does no regex compilation', () => {
  test('RegExp is never constructed while matching', () => {
    const table = compileRouteTable(
      toEntries([
        { id: 'path', match: { path: { type: 'RegularExpression', value: '/p/[0-9]+' } }, route: 'a/a' },
        { id: 'header', match: { headers: [{ type: 'RegularExpression', name: 'h', value: 'v.*' }] }, route: 'a/b' },
        { id: 'query', match: { queryParams: [{ type: 'RegularExpression', name: 'q', value: 'x+' }] }, route: 'a/c' },
        { id: 'wild', hostnames: ['*.example.com'], route: 'a/d' },
      ]),
    );
    const original = globalThis.RegExp;
    globalThis.RegExp = new Proxy(original, {
      construct() {
        throw new Error('RegExp constructed on the request path');
      },
      apply() {
        throw new Error('RegExp called on the request path');
      },
    });
    try {
      assert.equal(table.match(toRequest({ url: '/p/12' }))?.target, 'path');
      assert.equal(table.match(toRequest({ url: '/', headers: { h: 'v1' } }))?.target, 'header');
      assert.equal(table.match(toRequest({ url: '/?q=xx' }))?.target, 'query');
      assert.equal(table.match(toRequest({ url: '/', host: 'Some.Example.com:80' }))?.target, 'wild');
    } finally {
      globalThis.RegExp = original;
    }
  });
});

describe('compile-time errors', () => {
  test('an invalid regular expression is reported with its route', () => {
    assert.throws(
      () => compileRouteTable(toEntries([{ id: 'bad', route: 'ns/r', rule: 2, match: { path: { type: 'RegularExpression', value: '/(' } } }])),
      /HTTPRoute ns\/r rules\[2\]\.matches\[0\]\.path\.value: invalid regular expression/,
    );
    assert.throws(
      () => compileRouteTable(toEntries([{ id: 'bad', match: { headers: [{ type: 'RegularExpression', name: 'h', value: '[' }] } }])),
      /headers\[0\]\.value: invalid regular expression/,
    );
  });

  test('an unknown match type is reported rather than matching silently', () => {
    const match = { path: { type: 'Glob', value: '/x' } } as unknown as RouteEntry<string>['match'];
    assert.throws(() => compileRouteTable(toEntries([{ id: 'bad', match }])), /path\.type: unsupported match type "Glob"/);
  });
});

describe('BoundedCache', () => {
  test('never holds more than its limit, evicting the oldest insertions first', () => {
    const cache = new BoundedCache<string, number>(3);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`h${i}`, i);
      assert.ok(cache.size <= 3);
    }
    assert.equal(cache.get('h9999'), 9999);
    assert.equal(cache.get('h9997'), 9997);
    assert.equal(cache.get('h9996'), undefined);
  });

  test('overwriting a held key does not evict another', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3);
    assert.equal(cache.get('a'), 3);
    assert.equal(cache.get('b'), 2);
  });

  test('rejects a limit that is not a positive integer', () => {
    assert.throws(() => new BoundedCache(0), RangeError);
    assert.throws(() => new BoundedCache(1.5), RangeError);
  });
});

describe('readQueryParams', () => {
  test('keeps the first value of wanted names only', () => {
    const got = readQueryParams('a=1&b=2&a=3&c=4&b', new Set(['a', 'b']));
    assert.deepEqual([...got], [['a', '1'], ['b', '2']]);
  });

  test('handles empty and separator-only strings', () => {
    assert.equal(readQueryParams('', new Set(['a'])).size, 0);
    assert.equal(readQueryParams('&&&', new Set(['a'])).size, 0);
    assert.deepEqual([...readQueryParams('a=b=c', new Set(['a']))], [['a', 'b=c']]);
  });
});

describe('normaliseHost', () => {
  test('strips the port, lowercases and drops one trailing dot', () => {
    assert.equal(normaliseHost('A.Example.COM:8443'), 'a.example.com');
    assert.equal(normaliseHost('a.example.com.'), 'a.example.com');
    assert.equal(normaliseHost('a.example.com.:80'), 'a.example.com');
    assert.equal(normaliseHost('a.example.com'), 'a.example.com');
    assert.equal(normaliseHost(''), '');
  });

  test('keeps the colons of an IPv6 literal and strips only its port', () => {
    assert.equal(normaliseHost('[FE80::1]:8080'), '[fe80::1]');
    assert.equal(normaliseHost('[::1]'), '[::1]');
  });
});
