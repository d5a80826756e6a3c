import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reuseUntil } from './introspection.js';

const now = 1_700_000_000_000;

test('an active answer is reused for cacheDuration, but never past the token expiry', () => {
  assert.equal(reuseUntil({ active: true }, now, 30_000), now + 30_000);
  assert.equal(reuseUntil({ active: true, exp: now / 1000 + 600 }, now, 30_000), now + 30_000);
  assert.equal(reuseUntil({ active: true, exp: now / 1000 + 5 }, now, 30_000), now + 5000);
  assert.ok(reuseUntil({ active: true, exp: now / 1000 - 5 }, now, 30_000) <= now, 'an answer for a token expired by our clock is not kept');
});

test('an inactive answer is reused at most 10 seconds, and never longer than cacheDuration', () => {
  assert.equal(reuseUntil({ active: false }, now, 30_000), now + 10_000);
  assert.equal(reuseUntil({ active: false }, now, 2000), now + 2000);
  assert.equal(reuseUntil({ active: false }, now, 0), now, '0s keeps nothing');
});
