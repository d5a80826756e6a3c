import assert from 'node:assert/strict';
import { test } from 'node:test';
import { introspectionSpec } from './introspection.js';

function problems(spec: unknown): string[] {
  const r = introspectionSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const base = { clientID: 'gateway', clientSecret: { name: 'introspection' } };

test('a full block is accepted', () => {
  assert.deepEqual(problems({
    ...base, endpoint: 'https://idp.example/oauth2/introspect', issuer: 'https://idp.example', cacheDuration: '5m', timeout: '500ms',
    audiences: ['orders'], claimToHeaders: [{ header: 'x-user', claim: 'sub' }], extractFrom: { headers: [{ name: 'X-Token' }] },
  }), []);
});

test('the endpoint is given or discovered from an issuer', () => {
  assert.deepEqual(problems(base), ['endpoint: set endpoint (the introspection URL) or issuer (to discover it)']);
  assert.deepEqual(problems({ ...base, issuer: 'https://idp.example' }), []);
});

test('URLs, durations and the secret reference are checked', () => {
  assert.match(problems({ ...base, endpoint: 'ftp://idp.example/x' })[0], /^endpoint: invalid URL "ftp:\/\/idp.example\/x": expected the http or https scheme$/);
  assert.match(problems({ ...base, endpoint: 'https://u:p@idp.example/x' })[0], /credentials do not belong in the URL/);
  assert.deepEqual(problems({ ...base, issuer: 'https://idp.example', cacheDuration: '2h' }), ['cacheDuration: must be from 0s to 1h, got "2h"']);
  assert.deepEqual(problems({ ...base, issuer: 'https://idp.example', timeout: '0s' }), ['timeout: must be from 10ms to 1m, got "0s"']);
  assert.deepEqual(problems({ clientID: 'g', issuer: 'https://idp.example' }), ['clientSecret: required']);
});
