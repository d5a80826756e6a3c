import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRequestTarget } from './request-target.js';

test('origin form: the Host header names the host; the path is normalized and the query kept raw', () => {
  assert.deepEqual(readRequestTarget('/a//b/../c?x=%2e%2e', 'shop', false), { host: 'shop', path: '/a/c', query: 'x=%2e%2e' });
});

test('absolute form on a forward-proxy port: the target names the host, up to the path or the query', () => {
  assert.deepEqual(readRequestTarget('http://reviews.default:9080/x?y=1', 'ignored', true), { host: 'reviews.default:9080', path: '/x', query: 'y=1' });
  assert.deepEqual(readRequestTarget('http://reviews?y=1', 'ignored', true), { host: 'reviews', path: '/', query: 'y=1' });
  assert.deepEqual(readRequestTarget('http://reviews', 'ignored', true), { host: 'reviews', path: '/', query: '' });
});

test('anything but an absolute path is refused where it is not a forward proxy, and bad paths everywhere', () => {
  for (const url of ['http://reviews/x', 'reviews:80', '*', 'foo/../admin']) assert.ok('problem' in readRequestTarget(url, 'h', false), url);
  assert.ok('problem' in readRequestTarget('http://reviews/..;/x', 'h', true));
});
