import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwksProblem } from '../../../dataplane/filters/security/jwks-document.js';
import { jwtSpec } from './jwt.js';

const RSA = { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'k1' };
const OCT = { kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url') };
const remote = { uri: 'https://idp.test/.well-known/jwks.json' };

function problems(spec: unknown): string[] {
  const r = jwtSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a full provider is accepted', () => {
  assert.deepEqual(problems({
    optional: true,
    providers: [{
      name: 'idp', issuer: 'https://idp.test', audiences: ['orders'], remoteJWKS: { ...remote, cacheDuration: '5m' },
      algorithms: ['RS256', 'ES256'], clockSkew: '30s', forward: false,
      extractFrom: { headers: [{ name: 'Authorization', valuePrefix: 'Bearer ' }], cookies: ['session'], params: ['access_token'] },
      claimToHeaders: [{ header: 'x-user', claim: 'sub' }],
    }, { name: 'local', localJWKS: { type: 'Inline', value: JSON.stringify({ keys: [OCT] }) }, algorithms: ['HS256'] }],
  }), []);
});

test('"none" is never an accepted algorithm', () => {
  assert.deepEqual(problems({ providers: [{ name: 'a', remoteJWKS: remote, algorithms: ['none'] }] }),
    ['providers.0.algorithms.0: "none" is never accepted: an unsigned token proves nothing about who sent it']);
});

test('HMAC needs a local secret key: never from a remote JWKS', () => {
  assert.match(problems({ providers: [{ name: 'a', remoteJWKS: remote, algorithms: ['HS256'] }] })[0], /^providers\.0\.algorithms: HMAC algorithms .* a remote JWKS never carries one$/);
  assert.deepEqual(problems({ providers: [{ name: 'a', localJWKS: { type: 'Inline', value: JSON.stringify({ keys: [RSA] }) }, algorithms: ['HS256'] }] }),
    ['providers.0.algorithms: HMAC algorithms need an HMAC key (kty "oct") in localJWKS']);
});

test('exactly one key source, with the fields its type needs', () => {
  assert.deepEqual(problems({ providers: [{ name: 'a' }] }), ['providers.0: exactly one of remoteJWKS or localJWKS is required']);
  assert.deepEqual(problems({ providers: [{ name: 'a', remoteJWKS: remote, localJWKS: { type: 'Inline', value: JSON.stringify({ keys: [RSA] }) } }] }),
    ['providers.0: exactly one of remoteJWKS or localJWKS is required']);
  assert.deepEqual(problems({ providers: [{ name: 'a', localJWKS: { type: 'SecretRef' } }] }), ['providers.0.localJWKS.secretRef: required when type is SecretRef']);
  assert.deepEqual(problems({ providers: [{ name: 'a', localJWKS: { type: 'SecretRef', secretRef: { name: 'jwks' }, key: 'keys.json' } }] }), []);
});

test('remote URIs are http(s) without credentials; provider names are unique', () => {
  assert.match(problems({ providers: [{ name: 'a', remoteJWKS: { uri: 'ftp://idp.test/jwks' } }] })[0], /expected an https:\/\/ or http:\/\/ URL/);
  assert.match(problems({ providers: [{ name: 'a', remoteJWKS: { uri: 'https://u:p@idp.test/jwks' } }] })[0], /credentials in the URL are not allowed/);
  assert.deepEqual(problems({ providers: [{ name: 'a', remoteJWKS: remote }, { name: 'a', remoteJWKS: remote }] }), ['providers.1.name: duplicate provider name "a" (also at providers[0])']);
});

test('inline JWKS documents are checked', () => {
  assert.equal(jwksProblem('{'), 'invalid JWKS: not valid JSON');
  assert.equal(jwksProblem('{"keys":[]}'), 'invalid JWKS: expected a JSON object with a non-empty "keys" list');
  assert.equal(jwksProblem('{"keys":[{"kty":"XYZ"}]}'), 'invalid JWKS: keys[0] has kty "XYZ"; expected one of RSA, EC, OKP, oct');
  assert.equal(jwksProblem(JSON.stringify({ keys: [{ ...RSA, d: 'secret' }] })), 'invalid JWKS: keys[0] holds a private key; a JWKS for verification holds public keys only');
  assert.equal(jwksProblem(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2hvcnQ' }] })), 'invalid JWKS: keys[0] is an HMAC key shorter than 32 bytes');
  assert.equal(jwksProblem(JSON.stringify({ keys: [RSA, OCT] })), undefined);
});

test('cacheDuration and clockSkew are bounded: keys kept past a day and honouring expired tokens are refused', () => {
  const provider = (extra: Record<string, unknown>) => ({ providers: [{ name: 'p', remoteJWKS: { uri: 'https://idp.test/jwks', ...extra.remote as object }, ...extra.rest as object }] });
  assert.equal(jwtSpec.safeParse(provider({ remote: { cacheDuration: '2d' } })).success, false);
  assert.equal(jwtSpec.safeParse(provider({ remote: { cacheDuration: '25h' } })).success, false);
  assert.equal(jwtSpec.safeParse(provider({ remote: { cacheDuration: '10m' } })).success, true);
  assert.equal(jwtSpec.safeParse(provider({ rest: { clockSkew: '100h' } })).success, false);
  assert.equal(jwtSpec.safeParse(provider({ rest: { clockSkew: '0s' } })).success, true);
});

test('a claim cannot be copied into a header that frames or routes the request', () => {
  const result = jwtSpec.safeParse({ providers: [{ name: 'p', remoteJWKS: { uri: 'https://idp.test/jwks' }, claimToHeaders: [{ header: 'Content-Length', claim: 'sub' }] }] });
  assert.equal(result.success, false);
  assert.match(result.error?.issues[0]?.message ?? '', /"Content-Length" frames or routes the request and cannot carry a claim/);
});
