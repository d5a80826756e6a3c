import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extAuthSpec } from './ext-auth.js';

function problems(spec: unknown): string[] {
  const r = extAuthSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a full extAuth block is accepted', () => {
  assert.deepEqual(problems({
    http: { url: 'https://authz.shop.svc:9000', path: '/check', headersToBackend: ['x-user'] },
    headersToExtAuth: ['cookie', 'x-tenant'], timeout: '500ms', failOpen: true,
  }), []);
});

test('the URL is an origin; the path prefix has its own field', () => {
  assert.match(problems({ http: { url: 'http://authz:9000/check' } })[0], /^http\.url: invalid URL "http:\/\/authz:9000\/check": expected no path or query; put the path prefix in "path"$/);
  assert.match(problems({ http: { url: 'grpc://authz:9000' } })[0], /expected an http:\/\/ or https:\/\/ URL/);
  assert.match(problems({ http: { url: 'http://authz', path: 'check' } })[0], /^http\.path: invalid path "check"/);
});

test('connection headers are never copied, and the timeout is more than zero', () => {
  assert.deepEqual(problems({ http: { url: 'http://authz' }, headersToExtAuth: ['Transfer-Encoding'] }),
    ['headersToExtAuth.0: "Transfer-Encoding" describes one connection and is never copied between requests']);
  assert.deepEqual(problems({ http: { url: 'http://authz', headersToBackend: ['host'] } }),
    ['http.headersToBackend.0: "host" describes one connection and is never copied between requests']);
  assert.deepEqual(problems({ http: { url: 'http://authz' }, timeout: '0s' }), ['timeout: must be more than 0s']);
});
