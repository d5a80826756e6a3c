//! End to end: the SecurityPolicy `introspection` against a real authorization server (oidc-provider
//! on loopback with RFC 7662 introspection, client credentials and revocation): active tokens pass
//! with their claims and scopes, inactive and revoked ones get 401, answers are cached (counted at
//! the provider), and a provider that is down or slow gives 503.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { clientCredentialsToken, revokeToken, startProvider, userAccessToken, type TestClient, type TestProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/ports.js';
import { docs, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

const INTROSPECTION = '/token/introspection';

const gatewayClient: TestClient = { client_id: 'gateway', client_secret: 'gateway-introspection-secret' };
const cli: TestClient = { client_id: 'orders-cli', client_secret: 'orders-cli-secret', grant_types: ['client_credentials'], scope: 'orders:read orders:write' };

interface ErrorBody { error: { code: string; message: string } }

describe('SecurityPolicy introspection: opaque tokens checked at a real authorization server', () => {
  let idp: TestProvider;
  let gw: Windrose;
  let a: Backend;
  let silent: http.Server;
  let base: string;

  before(async () => {
    const [port, closedPort] = await Promise.all([freePort(), freePort()]);
    base = `http://127.0.0.1:${port}`;
    silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    [idp, a] = await Promise.all([startProvider([gatewayClient, cli]), startBackend('a')]);
    const common = { clientID: 'gateway', clientSecret: { name: 'introspection' } };
    const files = docs(
      `apiVersion: v1
kind: Secret
metadata: { name: introspection, namespace: default }
stringData: { client-secret: ${gatewayClient.client_secret} }
`,
      route('orders', { path: '/orders', backends: ['a'] }),
      securityPolicy('orders', {
        introspection: { ...common, issuer: idp.issuer, cacheDuration: '1m', claimToHeaders: [{ header: 'x-client', claim: 'client_id' }, { header: 'x-subject', claim: 'sub' }] },
        authorization: { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:read'] } } }] },
      }),
      route('fresh', { path: '/fresh', backends: ['a'] }),
      securityPolicy('fresh', { introspection: { ...common, endpoint: `${idp.issuer}${INTROSPECTION}`, cacheDuration: '0s' } }),
      route('audience', { path: '/audience', backends: ['a'] }),
      securityPolicy('audience', { introspection: { ...common, endpoint: `${idp.issuer}${INTROSPECTION}`, audiences: ['https://billing.example'] } }),
      route('refused', { path: '/refused', backends: ['a'] }),
      securityPolicy('refused', { introspection: { ...common, endpoint: `http://127.0.0.1:${closedPort}/introspect` } }),
      route('slow', { path: '/slow', backends: ['a'] }),
      securityPolicy('slow', { introspection: { ...common, endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/introspect`, timeout: '300ms' } }),
    );
    gw = await startWindrose({ 'gateway.yaml': baseConfig(port, { a: a.port }), 'routes.yaml': files });
  });

  after(async () => {
    await gw?.stop();
    silent?.closeAllConnections();
    await Promise.all([a?.close(), idp?.close(), new Promise((resolve) => silent?.close(resolve))]);
  });

  const call = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers } });

  test('no token: 401 with a Bearer challenge and no error code; a malformed one is refused without asking the provider', async () => {
    const none = await call('/orders');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), `Bearer realm="127.0.0.1:${new URL(base).port}"`);
    assert.equal(((await none.json()) as ErrorBody).error.code, 'unauthenticated');
    const calls = idp.hitsOf(INTROSPECTION);
    const malformed = await fetch(`${base}/orders`, { headers: { authorization: 'Bearer not a token' } });
    assert.equal(malformed.status, 401);
    assert.match(malformed.headers.get('www-authenticate')!, /error="invalid_token"/);
    assert.equal(idp.hitsOf(INTROSPECTION), calls);
  });

  test('an active token passes with its claims; its scopes reach the authorization rules; the endpoint comes from discovery', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    const res = await call('/orders/1', token, { 'x-client': 'forged' });
    assert.equal(res.status, 200);
    const seen = (await res.json()) as { headers: Record<string, string | undefined> };
    assert.equal(seen.headers['x-client'], 'orders-cli', 'the client id the provider vouched for, not the one sent');
    assert.equal(seen.headers['x-subject'], undefined, 'a client credentials token has no subject claim');
    assert.equal(seen.headers.authorization, `Bearer ${token}`, 'the token itself goes on to the backend');
    assert.equal(idp.hitsOf('/.well-known/openid-configuration'), 1);

    const writeOnly = await clientCredentialsToken(idp.issuer, cli, 'orders:write');
    const denied = await call('/orders/1', writeOnly);
    assert.equal(denied.status, 403, 'authenticated, but without the scope the rule requires');
    assert.match(denied.headers.get('www-authenticate')!, /error="insufficient_scope"/);
  });

  test("a user's token carries the user as subject", async () => {
    const token = await userAccessToken(idp, 'orders-cli', 'alice', 'openid orders:read');
    const res = await call('/orders/mine', token);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { headers: Record<string, string> }).headers['x-subject'], 'alice');
  });

  test('answers are cached: one introspection for repeated and for concurrent uses of a token, active or not', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    const before = idp.hitsOf(INTROSPECTION);
    const results = await Promise.all(Array.from({ length: 10 }, () => call('/orders', token)));
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
    for (let i = 0; i < 5; i++) assert.equal((await call('/orders', token)).status, 200);
    assert.equal(idp.hitsOf(INTROSPECTION), before + 1, 'one call for 15 requests');

    const madeUp = 'made-up-token-0123456789abcdefghijklmnop';
    for (let i = 0; i < 5; i++) {
      const res = await call('/orders', madeUp);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, /error="invalid_token"/);
    }
    assert.equal(idp.hitsOf(INTROSPECTION), before + 2, 'an inactive answer is cached too');
  });

  test('a config reload keeps the discovered endpoint and the cached answers', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    assert.equal((await call('/orders', token)).status, 200);
    const [introspections, discoveries] = [idp.hitsOf(INTROSPECTION), idp.hitsOf('/.well-known/openid-configuration')];
    gw.write('extra.yaml', route('extra', { path: '/extra', backends: ['a'] }));
    await waitForVersion(gw, 2);
    assert.equal((await call('/extra')).status, 200, 'the new config is served');
    assert.equal((await call('/orders', token)).status, 200);
    assert.equal(idp.hitsOf(INTROSPECTION), introspections);
    assert.equal(idp.hitsOf('/.well-known/openid-configuration'), discoveries);
  });

  test('a revoked token is refused once no cached answer vouches for it', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    assert.equal((await call('/fresh', token)).status, 200);
    assert.equal((await call('/orders', token)).status, 200);
    await revokeToken(idp.issuer, cli, token);
    const before = idp.hitsOf(INTROSPECTION);
    const fresh = await call('/fresh', token);
    assert.equal(fresh.status, 401, 'cacheDuration 0s asks every time');
    assert.match(fresh.headers.get('www-authenticate')!, /error="invalid_token"/);
    assert.equal(idp.hitsOf(INTROSPECTION), before + 1);
    assert.equal((await call('/orders', token)).status, 200, 'with cacheDuration 1m the answer cached before revocation still holds');
  });

  test('an active token for another audience is refused', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    const res = await call('/audience', token);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate')!, /error="invalid_token"/);
  });

  test('a provider that refuses connections, is slow or is down gives 503 auth_unavailable; cached answers keep serving', async () => {
    const token = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    const refused = await call('/refused', token);
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as ErrorBody).error.code, 'auth_unavailable');

    const started = Date.now();
    const slow = await call('/slow', token);
    assert.equal(slow.status, 503);
    assert.ok(Date.now() - started < 3000, 'the 300ms timeout applies');
    await gw.waitForLog((l) => l.policy === 'default/slow' && l.msg.includes('did not answer within 300ms'));

    assert.equal((await call('/orders', token)).status, 200);
    const other = await clientCredentialsToken(idp.issuer, cli, 'orders:read');
    idp.down = true;
    try {
      assert.equal((await call('/orders', token)).status, 200, 'the cached answer serves while the provider is down');
      const unknown = await call('/orders', other);
      assert.equal(unknown.status, 503);
      assert.equal(((await unknown.json()) as ErrorBody).error.code, 'auth_unavailable');
    } finally {
      idp.down = false;
    }
    assert.equal((await call('/orders', other)).status, 200, 'a failure is not cached');
  });
});
