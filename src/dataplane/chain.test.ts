import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderList } from './headers.js';
import { runBodyFilters, runRequestFilters } from './chain.js';
import type { Filter, FilterOutcome, ProxyRequest } from './filters/filter.js';

const req = {
  method: 'POST', path: '/', query: '', authority: 'a', headers: new HeaderList(), scheme: 'http', clientAddress: '', peer: undefined,
  port: 80, requestId: 'r', matchedPrefix: undefined, mirrors: undefined, identity: undefined,
} satisfies ProxyRequest;

function reader(name: string, maxBytes: number, seen: string[], answer: () => FilterOutcome | Promise<FilterOutcome> = () => undefined): Filter {
  return {
    name,
    requestBody: {
      maxBytes,
      wants: () => true,
      inspect: (_req, body, truncated) => {
        seen.push(`${name}:${body.toString()}:${truncated}`);
        return answer();
      },
    },
  };
}

test('runBodyFilters: each hook sees at most its own maxBytes, in order, until one answers', () => {
  const seen: string[] = [];
  const denied = { status: 403 };
  const out = runBodyFilters([reader('a', 10, seen), reader('b', 3, seen, () => denied), reader('c', 10, seen)], req, Buffer.from('abcdef'));
  assert.equal(out, denied);
  assert.deepEqual(seen, ['a:abcdef:false', 'b:abc:true']);
});

test('runBodyFilters: a hook that throws or rejects answers 500; a promise makes the rest asynchronous', async () => {
  const seen: string[] = [];
  const thrown = runBodyFilters([reader('a', 10, seen, () => { throw new Error('x'); })], req, Buffer.from('x'));
  assert.deepEqual(thrown, { status: 500, errorCode: 'internal_error', message: 'the a filter failed' });
  const rejected = await runBodyFilters([reader('b', 10, seen, () => Promise.reject(new Error('x')))], req, Buffer.from('x'));
  assert.equal(rejected?.status, 500);
  const later = await runBodyFilters([reader('c', 10, seen, () => Promise.resolve(undefined)), reader('d', 10, seen)], req, Buffer.from('x'));
  assert.equal(later, undefined);
  assert.deepEqual(seen.slice(-2), ['c:x:false', 'd:x:false']);
});

/** A filter that marks every answer it sees with `x-<name>`, and answers the request itself when given `answer`. */
function marker(name: string, answer?: () => FilterOutcome | Promise<FilterOutcome>): Filter {
  return {
    name,
    onRequest: answer,
    onResponse: (res) => res.headers.add(`x-${name}`, 'seen'),
    onLocalAnswers: true,
  };
}

test('runRequestFilters: the filters that let a request pass and ask for local answers see them, innermost first', async () => {
  const order: string[] = [];
  const watch = (name: string): Filter => ({ name, onResponse: () => void order.push(name), onLocalAnswers: true });
  const backendOnly: Filter = { name: 'ResponseHeaderModifier', onResponse: (res) => res.headers.add('x-backend-only', 'seen') };
  const denied = { status: 401, errorCode: 'unauthenticated', message: 'no', headers: [['www-authenticate', 'Bearer']] } as const;
  const out = runRequestFilters([watch('outer'), marker('a'), backendOnly, watch('inner'), marker('b', () => denied), marker('c')], req);
  assert.deepEqual(out, { ...denied, headers: [['www-authenticate', 'Bearer'], ['x-a', 'seen']] });
  assert.deepEqual(order, ['inner', 'outer']);

  const later = await runRequestFilters([marker('a'), marker('b', () => Promise.resolve({ status: 302, headers: [['location', '/x']] }))], req);
  assert.deepEqual(later, { status: 302, headers: [['location', '/x'], ['x-a', 'seen']] });
  const thrown = runRequestFilters([marker('a'), marker('b', () => { throw new Error('x'); })], req);
  assert.deepEqual(thrown, { status: 500, errorCode: 'internal_error', message: 'the b filter failed', headers: [['x-a', 'seen']] });
  const first = { status: 403 };
  assert.equal(runRequestFilters([marker('a', () => first), marker('b')], req), first, 'nothing passed: the answer as given');
});
