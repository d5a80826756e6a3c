import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeChallenge, randomToken } from './pkce.js';

test('S256 matches the example of RFC 7636 appendix B', () => {
  assert.equal(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('verifiers are 43 unreserved characters and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const v = randomToken();
    assert.match(v, /^[A-Za-z0-9_-]{43}$/);
    seen.add(v);
  }
  assert.equal(seen.size, 100);
  assert.match(randomToken(16), /^[A-Za-z0-9_-]{22}$/);
});
