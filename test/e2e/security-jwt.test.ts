//! End to end: SecurityPolicy `jwt` with a real JWKS server on loopback. Every bad token of the
//! issue is its own case, checked as the client sees it (status, WWW-Authenticate, JSON error) and,
//! for the good ones, by what the backend received.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { request } from 'undici';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { waitForMetric } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { docs, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'orders-api';

/** A JWKS endpoint on loopback that serves `keys` and counts the fetches it answers. */
interface JWKSServer {
  readonly uri: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

async function jwksServer(): Promise<JWKSServer> {
  const state = { keys: [] as JWK[], fetches: 0 };
  const server = http.createServer((_req, res) => {
    state.fetches++;
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    get keys() { return state.keys; },
    set keys(k) { state.keys = k; },
    get fetches() { return state.fetches; },
    set fetches(n) { state.fetches = n; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly pem: string;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' }, pem: await exportSPKI(pair.publicKey) };
}

function provider(uri: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'shop-idp', issuer: ISSUER, audiences: [AUDIENCE], remoteJWKS: { uri }, ...extra };
}

/** An HTTPRoute `/<name>/` to backend "a" guarded by a SecurityPolicy with `spec`. */
function guarded(name: string, spec: Record<string, unknown>): string {
  return docs(route(name, { backends: ['a'], path: `/${name}/` }), securityPolicy(name, spec));
}

interface Answer {
  readonly status: number;
  readonly challenge: string | undefined;
  readonly code: string | undefined;
  readonly text: string;
}

describe('SecurityPolicy jwt', () => {
  let gw: Windrose;
  let a: Backend;
  let base: string;
  let jwks: JWKSServer;
  let flaky: JWKSServer;
  let k1: SigningKey;
  let k2: SigningKey;
  let k3: SigningKey;

  before(async () => {
    [k1, k2, k3] = await Promise.all([signingKey('k1'), signingKey('k2'), signingKey('k3')]);
    jwks = await jwksServer();
    jwks.keys = [k1.jwk];
    flaky = await jwksServer();
    flaky.keys = [k1.jwk];
    const nowhere = await freePort();
    a = await startBackend('a');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { a: a.port }),
      'routes.yaml': docs(
        guarded('main', { jwt: { providers: [provider(jwks.uri, { claimToHeaders: [{ header: 'x-user', claim: 'sub' }, { header: 'x-tenant', claim: 'org.tenant' }] })] } }),
        guarded('scoped', {
          jwt: { providers: [provider(jwks.uri)] },
          authorization: { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:write'] } } }] },
        }),
        guarded('carried', { jwt: { providers: [provider(jwks.uri, { extractFrom: { cookies: ['session'], params: ['access_token'] }, forward: false })] } }),
        guarded('optional', { jwt: { optional: true, providers: [provider(jwks.uri)] } }),
        guarded('flaky', { jwt: { providers: [provider(flaky.uri, { remoteJWKS: { uri: flaky.uri, cacheDuration: '1ms' } })] } }),
        guarded('nokeys', { jwt: { providers: [provider(`http://127.0.0.1:${nowhere}/jwks.json`)] } }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), jwks?.close(), flaky?.close()]);
  });

  async function token(claims: JWTPayload = {}, key: SigningKey = k1, header: { kid?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? key.kid })
      .sign(key.privateKey);
  }

  async function call(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await request(`${base}${path}`, { headers });
    const text = await res.body.text();
    const challenge = res.headers['www-authenticate'];
    let code: string | undefined;
    try { code = (JSON.parse(text) as { error?: { code?: string } }).error?.code; } catch { code = undefined; }
    return { status: res.statusCode, challenge: typeof challenge === 'string' ? challenge : undefined, code, text };
  }

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  /** Asserts the RFC 6750 invalid_token refusal with `description`, and that the body does not echo the token. */
  async function assertInvalid(t: string, description: string, path = '/main/x'): Promise<void> {
    const seen = a.received.length;
    const res = await call(path, bearer(t));
    assert.equal(res.status, 401);
    assert.equal(res.code, 'unauthenticated');
    assert.equal(res.challenge, `Bearer realm="${new URL(base).host}", error="invalid_token", error_description="${description}"`);
    assert.ok(!res.text.includes(t), 'the error body never carries the token');
    assert.equal(a.received.length, seen, 'the backend never saw the request');
  }

  test('a good token passes, its claims reach the backend as headers, forged copies do not', async () => {
    const t = await token({ org: { tenant: 'acme' } });
    const res = await call('/main/orders', { ...bearer(t), 'x-user': 'mallory', 'x-tenant': 'evil' });
    assert.equal(res.status, 200);
    const seen = a.received.at(-1)!;
    assert.equal(seen.headers['x-user'], 'alice');
    assert.equal(seen.headers['x-tenant'], 'acme');
    assert.equal(seen.headers.authorization, `Bearer ${t}`, 'the token is forwarded by default');
  });

  test('no token: 401 with a Bearer challenge and no error code', async () => {
    const res = await call('/main/x');
    assert.equal(res.status, 401);
    assert.equal(res.code, 'unauthenticated');
    assert.equal(res.challenge, `Bearer realm="${new URL(base).host}"`);
  });

  test('expired token', async () => {
    await assertInvalid(await token({ exp: Math.floor(Date.now() / 1000) - 300 }), 'the token has expired');
  });

  test('not-yet-valid token (nbf)', async () => {
    await assertInvalid(await token({ nbf: Math.floor(Date.now() / 1000) + 600 }), 'the token is not yet valid');
  });

  test('wrong audience', async () => {
    await assertInvalid(await token({ aud: 'billing-api' }), 'the token audience is not accepted');
  });

  test('wrong issuer', async () => {
    await assertInvalid(await token({ iss: 'https://evil.test' }), 'the token issuer is not accepted');
  });

  test('bad signature: signed by another key under a known kid', async () => {
    await assertInvalid(await token({}, k3, { kid: 'k1' }), 'the token signature is invalid');
  });

  test('alg none', async () => {
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ sub: 'alice', iss: ISSUER, aud: AUDIENCE }))}.`;
    await assertInvalid(unsigned, 'the token signing algorithm is not accepted');
  });

  test('HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const confused = await new SignJWT({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: now + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(Buffer.from(k1.pem));
    await assertInvalid(confused, 'the token signing algorithm is not accepted');
  });

  test('an unknown kid triggers a refetch, and passes once the JWKS server has the key', async () => {
    const before = jwks.fetches;
    jwks.keys = [k1.jwk, k2.jwk];
    const res = await call('/main/rotated', bearer(await token({}, k2)));
    assert.equal(res.status, 200);
    assert.equal(jwks.fetches, before + 1);
  });

  test('unknown kid refetches are rate-limited', async () => {
    const before = jwks.fetches;
    for (let i = 0; i < 5; i++) await assertInvalid(await token({}, k3, { kid: `forged-${i}` }), 'the token signing key is not known');
    jwks.keys = [k1.jwk, k2.jwk, k3.jwk];
    await assertInvalid(await token({}, k3), 'the token signing key is not known');
    assert.equal(jwks.fetches, before, 'no fetch within the cooldown, even for a kid the server now has');
  });

  test('JWKS server down: a token signed by a cached key still passes', async () => {
    const t = await token();
    assert.equal((await call('/flaky/1', bearer(t))).status, 200);
    await flaky.close();
    for (let i = 0; i < 3; i++) assert.equal((await call(`/flaky/${i}`, bearer(t))).status, 200, 'the stale keys keep serving');
    await assertInvalid(await token({}, k2), 'the token signing key is not known', '/flaky/x');
    assert.equal((await call('/flaky/after', bearer(t))).status, 200, 'a failed refetch for an unknown kid keeps the keys too');
    await waitForMetric(gw, 'windrose_jwt_jwks_fetches_total', { result: 'failure' }, (v) => v >= 1);
  });

  test('JWKS unreachable with no key ever fetched: 503 auth_unavailable', async () => {
    const res = await call('/nokeys/x', bearer(await token()));
    assert.equal(res.status, 503);
    assert.equal(res.code, 'auth_unavailable');
    assert.equal(res.challenge, undefined);
  });

  test('a token from a cookie passes and, with forward: false, is not sent upstream', async () => {
    const res = await call('/carried/x', { cookie: `theme=dark; session=${await token()}` });
    assert.equal(res.status, 200);
    assert.equal(a.received.at(-1)!.headers.cookie, 'theme=dark');
  });

  test('a token from a query parameter passes and, with forward: false, is not sent upstream', async () => {
    const res = await call(`/carried/x?page=2&access_token=${await token()}`);
    assert.equal(res.status, 200);
    assert.equal(a.received.at(-1)!.url, '/carried/x?page=2');
  });

  test('a missing scope is 403 insufficient_scope; the scope passes', async () => {
    const res = await call('/scoped/x', bearer(await token({ scope: 'orders:read' })));
    assert.equal(res.status, 403);
    assert.equal(res.code, 'access_denied');
    assert.equal(res.challenge, `Bearer realm="${new URL(base).host}", error="insufficient_scope", error_description="the token lacks a scope this request requires", scope="orders:write"`);
    assert.equal((await call('/scoped/x', bearer(await token({ scope: 'orders:read orders:write' })))).status, 200);
  });

  test('a config reload with the same provider keeps the fetched keys', async () => {
    const before = jwks.fetches;
    gw.write('more.yaml', route('more', { backends: ['a'], path: '/more/' }));
    await waitForVersion(gw, 2);
    assert.equal((await call('/main/after-reload', bearer(await token()))).status, 200);
    assert.equal(jwks.fetches, before);
  });

  test('optional: no token passes anonymous, a bad token is refused', async () => {
    assert.equal((await call('/optional/x')).status, 200);
    await assertInvalid(await token({ aud: 'billing-api' }), 'the token audience is not accepted', '/optional/x');
  });
});
