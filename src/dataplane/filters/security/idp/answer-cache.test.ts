import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnswerCache, type Cached } from './answer-cache.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('a value is reused until it expires, then looked up again', async () => {
  const c = clock();
  const cache = new AnswerCache<string>(10, c.now);
  let calls = 0;
  const lookup = async (): Promise<Cached<string>> => ({ value: `v${++calls}`, expiresAt: c.t + 1000 });
  assert.equal(await cache.get('k', lookup), 'v1');
  assert.equal(cache.get('k', lookup), 'v1', 'a hit is answered without a promise');
  c.t += 999;
  assert.equal(cache.get('k', lookup), 'v1');
  c.t += 1;
  assert.equal(await cache.get('k', lookup), 'v2');
  assert.equal(calls, 2);
});

test('concurrent gets of one key share one lookup', async () => {
  const cache = new AnswerCache<number>(10);
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const lookup = async (): Promise<Cached<number>> => {
    calls++;
    await gate;
    return { value: 42, expiresAt: Date.now() + 60_000 };
  };
  const all = Promise.all(Array.from({ length: 5 }, () => cache.get('k', lookup)));
  release();
  assert.deepEqual(await all, [42, 42, 42, 42, 42]);
  assert.equal(calls, 1);
});

test('failures and answers already expired are not kept', async () => {
  const c = clock();
  const cache = new AnswerCache<string>(10, c.now);
  let calls = 0;
  await assert.rejects(Promise.resolve(cache.get('k', async () => { calls++; throw new Error('down'); })), /down/);
  assert.equal(await cache.get('k', async () => ({ value: 'now', expiresAt: c.t })), 'now');
  assert.equal(cache.size, 0);
  assert.equal(calls, 1);
});

test('the cache holds at most its bound, dropping the oldest first', async () => {
  const c = clock();
  const cache = new AnswerCache<string>(3, c.now);
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, async () => ({ value: k, expiresAt: c.t + 1000 }));
  assert.equal(cache.size, 3);
  let asked = false;
  assert.equal(await cache.get('a', async () => { asked = true; return { value: 'a2', expiresAt: c.t + 1000 }; }), 'a2');
  assert.ok(asked, '"a" was dropped');
  assert.equal(cache.get('d', async () => ({ value: 'x', expiresAt: 0 })), 'd');
});
