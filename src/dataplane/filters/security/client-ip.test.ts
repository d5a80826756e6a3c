import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressSet } from './client-ip.js';

test('IPv4 ranges, single hosts, and IPv4 clients seen through a dual-stack socket', () => {
  const set = addressSet(['10.0.0.0/8', '192.168.1.7']);
  assert.equal(set.has('10.1.2.3'), true);
  assert.equal(set.has('::ffff:10.1.2.3'), true);
  assert.equal(set.has('192.168.1.7'), true);
  assert.equal(set.has('192.168.1.8'), false);
  assert.equal(set.has('11.0.0.1'), false);
});

test('IPv6 ranges; an unparseable address matches nothing', () => {
  const set = addressSet(['2001:db8::/32', '::1']);
  assert.equal(set.has('2001:db8:1::5'), true);
  assert.equal(set.has('::1'), true);
  assert.equal(set.has('2001:db9::1'), false);
  assert.equal(set.has(''), false);
  assert.equal(set.has('not-an-ip'), false);
});
