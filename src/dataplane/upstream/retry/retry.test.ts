import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryPolicy } from '../../../config/model.js';
import { backoffMs } from './backoff.js';
import { RetryBudget } from './budget.js';
import { retriable } from './policy.js';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retries: 2, on: new Set(['connect-failure', 'reset', 'retriable-status-codes']), statusCodes: new Set([503]),
  nonIdempotent: false, backoffBaseMs: 25, backoffMaxMs: 250, maxBodyBytes: 65536, ...over,
});

test('connect failures are retried for any method; resets and statuses only for idempotent ones', () => {
  const p = policy();
  assert.equal(retriable(p, 'POST', 'connect-failure'), true);
  assert.equal(retriable(p, 'POST', 'reset'), false);
  assert.equal(retriable(p, 'POST', 'retriable-status-codes', 503), false);
  assert.equal(retriable(p, 'GET', 'reset'), true);
  assert.equal(retriable(p, 'PUT', 'retriable-status-codes', 503), true);
  assert.equal(retriable(policy({ nonIdempotent: true }), 'POST', 'reset'), true);
});

test('only the configured triggers and status codes are retried', () => {
  const p = policy({ on: new Set(['retriable-status-codes']) });
  assert.equal(retriable(p, 'GET', 'connect-failure'), false);
  assert.equal(retriable(p, 'GET', 'reset'), false);
  assert.equal(retriable(p, 'GET', 'retriable-status-codes', 503), true);
  assert.equal(retriable(p, 'GET', 'retriable-status-codes', 500), false);
});

test('backoff grows exponentially up to its maximum, jittered below the ceiling', () => {
  const top = () => 0.999999;
  assert.ok(Math.abs(backoffMs(1, 25, 250, top) - 25) < 0.01);
  assert.ok(Math.abs(backoffMs(2, 25, 250, top) - 50) < 0.01);
  assert.ok(Math.abs(backoffMs(3, 25, 250, top) - 100) < 0.01);
  assert.ok(Math.abs(backoffMs(5, 25, 250, top) - 250) < 0.01);
  assert.equal(backoffMs(3, 25, 250, () => 0), 0);
  assert.equal(backoffMs(3, 25, 250, () => 0.5), 50);
});

test('the retry budget allows the floor plus a share of requests, over a sliding window', () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, () => now);
  for (let i = 0; i < 100; i++) budget.deposit();
  // 1/s over 10 s plus 20% of 100 requests.
  let granted = 0;
  while (budget.withdraw()) granted++;
  assert.equal(granted, 30);
  // Once the window has slid past them, old requests and retries no longer count.
  now = 10_500;
  granted = 0;
  while (budget.withdraw()) granted++;
  assert.equal(granted, 10);
});
