import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthOf, policyRetryOf, retryBudgetOf, retryPolicy } from './resilience.js';

test('no retry config anywhere means no retries', () => {
  assert.equal(retryPolicy(undefined, undefined), undefined);
});

test('a rule backoff keeps a longer policy maximum and raises a shorter one to the new base', () => {
  const policy = policyRetryOf({ perRetry: { backOff: { baseInterval: '10ms', maxInterval: '200ms' } } });
  assert.deepEqual(pick(retryPolicy(policy, { backoff: '50ms' })), { backoffBaseMs: 50, backoffMaxMs: 200 });
  assert.deepEqual(pick(retryPolicy(policy, { backoff: '1s' })), { backoffBaseMs: 1000, backoffMaxMs: 1000 });
  // Without a policy maximum, it follows the rule's base.
  assert.deepEqual(pick(retryPolicy(policyRetryOf({}), { backoff: '1s' })), { backoffBaseMs: 1000, backoffMaxMs: 10_000 });
});

test('rule codes replace the policy codes; an empty list stops retrying on statuses', () => {
  const policy = policyRetryOf({ retryOn: { httpStatusCodes: [503] } });
  const withCodes = retryPolicy(policy, { codes: [429] });
  assert.deepEqual([...(withCodes?.statusCodes ?? [])], [429]);
  const none = retryPolicy(policy, { codes: [] });
  assert.deepEqual([...(none?.on ?? [])], ['connect-failure', 'reset']);
  assert.equal(none?.statusCodes.size, 0);
});

test('the retry budget: the policy one, none when disabled, the default without a policy', () => {
  assert.deepEqual(retryBudgetOf(policyRetryOf({ budget: { percent: 5 } })), { ratio: 0.05, minPerSecond: 10, windowMs: 10_000 });
  assert.equal(retryBudgetOf(policyRetryOf({ budget: { disabled: true } })), undefined);
  assert.deepEqual(retryBudgetOf(undefined), { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 });
});

test('an unset maximum ejection time is never shorter than the base', () => {
  assert.equal(healthOf({ passive: { baseEjectionTime: '10m' } }).outlier?.maxEjectionMs, 600_000);
  assert.equal(healthOf({ passive: {} }).outlier?.maxEjectionMs, 300_000);
});

function pick(p: ReturnType<typeof retryPolicy>): { backoffBaseMs?: number; backoffMaxMs?: number } {
  return { backoffBaseMs: p?.backoffBaseMs, backoffMaxMs: p?.backoffMaxMs };
}
