import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyRequest } from '../filter.js';
import { faultInjection } from './filter.js';

const req = {} as ProxyRequest;

test('abort answers with the configured status for the chosen share of requests', () => {
  const rolls = [0.1, 0.6];
  const f = faultInjection({ abort: { status: 418, fraction: 0.5 } }, () => rolls.shift()!);
  assert.deepEqual(f.onRequest!(req), { status: 418, errorCode: 'fault_injected', message: 'fault injected by policy: 418' });
  assert.equal(f.onRequest!(req), undefined);
});

test('delay holds the request, then lets it through (or aborts it when both apply)', async () => {
  const delayed = faultInjection({ delay: { ms: 5, fraction: 1 } }, () => 0);
  const outcome = delayed.onRequest!(req);
  assert.ok(outcome instanceof Promise);
  assert.equal(await outcome, undefined);
  const both = faultInjection({ delay: { ms: 5, fraction: 1 }, abort: { status: 503, fraction: 1 } }, () => 0);
  assert.equal((await both.onRequest!(req))?.status, 503);
});

test('a request outside the delay share is not held', () => {
  const f = faultInjection({ delay: { ms: 1000, fraction: 0.2 } }, () => 0.9);
  assert.equal(f.onRequest!(req), undefined);
});
