import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath } from './normalize-path.js';

const norm = (p: string) => {
  const r = normalizePath(p);
  return 'path' in r ? r.path : `problem: ${r.problem}`;
};

test('a clean path is returned as it is', () => {
  for (const p of ['/', '/shop/cart', '/a/b/', '/files/report.v2.pdf', '/a.b/c', '/.well-known/openid-configuration']) assert.equal(norm(p), p);
});

test('dot segments are removed, and cannot climb above the root', () => {
  assert.equal(norm('/a/./b'), '/a/b');
  assert.equal(norm('/a/b/../c'), '/a/c');
  assert.equal(norm('/public/../admin'), '/admin');
  assert.equal(norm('/../../etc/passwd'), '/etc/passwd');
  assert.equal(norm('/a/b/..'), '/a/');
  assert.equal(norm('/a/b/.'), '/a/b/');
  assert.equal(norm('/..'), '/');
});

test('encoded dots and slashes are decoded before dot segments are resolved', () => {
  assert.equal(norm('/public/..%2fadmin'), '/admin');
  assert.equal(norm('/public/..%2Fadmin'), '/admin');
  assert.equal(norm('/public/%2e%2e/admin'), '/admin');
  assert.equal(norm('/public/%2E%2E%2Fadmin'), '/admin');
  assert.equal(norm('/public/.%2e/admin'), '/admin');
  assert.equal(norm('/public/..%5cadmin'), '/admin');
  assert.equal(norm('/a%2fb'), '/a/b');
});

test('duplicate slashes are merged', () => {
  assert.equal(norm('//admin'), '/admin');
  assert.equal(norm('/a//b///c'), '/a/b/c');
  assert.equal(norm('/a/b//'), '/a/b/');
});

test('unreserved escapes are decoded; others are kept with uppercase hex', () => {
  assert.equal(norm('/%61%64%6d%69%6e'), '/admin');
  assert.equal(norm('/search/caf%c3%a9'), '/search/caf%C3%A9');
  assert.equal(norm('/a%20b'), '/a%20b');
  assert.equal(norm('/a%3fb'), '/a%3Fb');
  // One pass only: a double-encoded dot stays an escape, and no backend that decodes once sees a dot segment.
  assert.equal(norm('/a/%252e%252e/b'), '/a/%252e%252e/b');
});

test('malformed escapes, encoded NUL and dot segments with parameters are refused', () => {
  assert.match(norm('/a%zz'), /^problem/);
  assert.match(norm('/a%2'), /^problem/);
  assert.match(norm('/a%'), /^problem/);
  assert.match(norm('/a%00b'), /^problem/);
  assert.match(norm('/public/..;/admin'), /^problem/);
  assert.match(norm('/public/.;x/admin'), /^problem/);
  assert.equal(norm('/a/b;v=1/c'), '/a/b;v=1/c');
});
