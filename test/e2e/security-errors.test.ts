//! End to end: what a refused client sees across the SecurityPolicy mechanisms — the right status,
//! a WWW-Authenticate challenge on every 401, the JSON error body, and nothing of the credential it
//! sent, a key, a stack or an internal address — and a policy that cannot be applied failing closed
//! until it is fixed.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { request } from 'undici';
import { stringify } from 'yaml';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { docs, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The JSON error body and nothing in the answer that a client should not learn. */
function assertCleanError(a: Answer, code: string, secrets: readonly string[]): void {
  const body = JSON.parse(a.text) as { error: { code: string; message: string; requestId: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(body.error.code, code);
  const everything = `${a.text}\n${JSON.stringify(a.headers)}`;
  for (const s of secrets) assert.ok(!everything.includes(s), `the answer does not carry ${s.slice(0, 12)}…`);
  assert.doesNotMatch(everything, /\bat [\w.<>]+ \(|\.[jt]s:\d+|node_modules|127\.0\.0\.1:\d{4,5}\//, 'no stack, file or backend address');
}

const SECRET_NAME = 'jwt-keys';

describe('security errors: statuses, challenges, and nothing leaked', () => {
  let gw: Windrose;
  let a: Backend;
  let port: number;
  let base: string;
  let goodToken: string;
  let forgedToken: string;
  let jwks: string;

  before(async () => {
    const signer = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('ES256');
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(signer.publicKey)), kid: 'k1', alg: 'ES256' }] });
    const sign = (key: CryptoKey) => new SignJWT({ scope: 'orders:read' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://idp.test').setAudience('orders').setSubject('alice').setExpirationTime('10m').sign(key);
    goodToken = await sign(signer.privateKey);
    forgedToken = await sign(stranger.privateKey);

    a = await startBackend('a');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const jwtProvider = { name: 'idp', issuer: 'https://idp.test', audiences: ['orders'] };
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { a: a.port }),
      'routes.yaml': docs(
        route('jwt', { backends: ['a'], path: '/jwt' }),
        route('scoped', { backends: ['a'], path: '/scoped' }),
        route('keys', { backends: ['a'], path: '/keys' }),
        route('broken', { backends: ['a'], path: '/broken' }),
      ),
      'policies.yaml': docs(
        securityPolicy('jwt', { jwt: { providers: [{ ...jwtProvider, localJWKS: { type: 'Inline', value: jwks } }] } }),
        securityPolicy('scoped', {
          jwt: { providers: [{ ...jwtProvider, localJWKS: { type: 'Inline', value: jwks } }] },
          authorization: { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:write'] } } }] },
        }),
        securityPolicy('keys', { apiKeyAuth: {} }),
        // The Secret it names does not exist (yet): the route must refuse everything rather than serve unguarded.
        securityPolicy('broken', { jwt: { providers: [{ ...jwtProvider, localJWKS: { type: 'SecretRef', secretRef: { name: SECRET_NAME } } }] } }),
      ),
    }, { args: ['--data-dir', mkdtempSync(join(tmpdir(), 'windrose-errors-'))] });
  });

  after(async () => {
    await gw?.stop();
    await a?.close();
  });

  test('no token: 401 with a bare Bearer challenge', async () => {
    const r = await call(`${base}/jwt/x`);
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /^Bearer realm="[^"]+"$/);
    assertCleanError(r, 'unauthenticated', []);
  });

  test('a forged token: 401 invalid_token, and the token is nowhere in the answer', async () => {
    const r = await call(`${base}/jwt/x`, { authorization: `Bearer ${forgedToken}` });
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
    assertCleanError(r, 'unauthenticated', [forgedToken, forgedToken.split('.')[2]]);
  });

  test('authenticated but lacking a scope: 403 insufficient_scope, not 401', async () => {
    const ok = await call(`${base}/jwt/x`, { authorization: `Bearer ${goodToken}` });
    assert.equal(ok.status, 200);
    const r = await call(`${base}/scoped/x`, { authorization: `Bearer ${goodToken}` });
    assert.equal(r.status, 403);
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope",.* scope="orders:write"/);
    assertCleanError(r, 'access_denied', [goodToken]);
  });

  test('an unknown API key: 401 with a challenge naming where the key goes, and the key is nowhere in the answer', async () => {
    const key = 'wrk_Zx9Qp2Lm_4k8Jd7Hs6Gf5Ba3Nc2Vx1Zq0Wt9Ry8';
    const r = await call(`${base}/keys/x`, { 'x-api-key': key });
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /^ApiKey realm="[^"]+", header="x-api-key"/);
    assertCleanError(r, 'unauthenticated', [key, 'Zx9Qp2Lm']);
  });

  test('a policy that cannot be applied: 500 security_policy_invalid and the reason in /status, until it is fixed', async () => {
    const r = await call(`${base}/broken/x`, { authorization: `Bearer ${goodToken}` });
    assert.equal(r.status, 500);
    assertCleanError(r, 'security_policy_invalid', [goodToken, SECRET_NAME]);
    assert.equal(a.received.filter((e) => e.url.startsWith('/broken')).length, 0, 'nothing reached the backend');

    const status = await (await request(`${gw.admin}/status`)).body.json() as { resources: { kind: string; name: string; ancestors?: { conditions: { type: string; status: string; reason: string; message: string }[] }[] }[] };
    const broken = status.resources.find((s) => s.kind === 'SecurityPolicy' && s.name === 'broken');
    const cond = broken?.ancestors?.[0].conditions[0];
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'InvalidSecretRef');
    assert.match(cond?.message ?? '', /Secret default\/jwt-keys/);

    gw.write('secret.yaml', stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET_NAME, namespace: 'default' }, stringData: { jwks } }));
    await waitForVersion(gw, 2);
    const fixed = await call(`${base}/broken/x`, { authorization: `Bearer ${goodToken}` });
    assert.equal(fixed.status, 200);
  });
});
