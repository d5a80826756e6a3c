import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderList } from './headers.js';
import { runBodyFilters } from './chain.js';
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
