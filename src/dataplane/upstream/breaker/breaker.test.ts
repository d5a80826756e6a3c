import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from './breaker.js';

test('requests beyond maxRequests are refused until one finishes', () => {
  const b = new CircuitBreaker({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 2, maxRetries: 3 }, 100);
  assert.equal(b.admit(), undefined);
  assert.equal(b.admit(), undefined);
  assert.equal(b.admit(), 'requests');
  b.release();
  assert.equal(b.admit(), undefined);
});

test('requests waiting beyond the connections capacity count as pending', () => {
  const b = new CircuitBreaker({ maxConnections: 2, maxPendingRequests: 1, maxRequests: 1024, maxRetries: 3 }, 2);
  assert.equal(b.admit(), undefined);
  assert.equal(b.admit(), undefined);
  assert.equal(b.admit(), undefined); // waits for a connection: the one pending request allowed
  assert.equal(b.admit(), 'pending');
});

test('concurrent retries are capped', () => {
  const b = new CircuitBreaker({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 1 }, 10);
  assert.equal(b.admitRetry(), true);
  assert.equal(b.admitRetry(), false);
  b.releaseRetry();
  assert.equal(b.admitRetry(), true);
});
