import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OIDCSpec } from '../../../../config/schema/security/oidc.js';
import { PolicyProblem } from '../../../../config/translate/attachment.js';
import type { SecurityContext } from '../../../../config/translate/security.js';
import { HeaderList } from '../../../headers.js';
import type { LocalResponse, ProxyRequest } from '../../filter.js';
import { oidcFilter } from './filter.js';
import { sealer } from './seal.js';

const ISSUER = 'https://idp.example';
const COOKIE_SECRET = 'a cookie secret of more than thirty-two bytes';
const spec: OIDCSpec = {
  // Every endpoint given: nothing is discovered, so these tests need no provider.
  provider: { issuer: ISSUER, authorizationEndpoint: `${ISSUER}/authorize?tenant=t1`, tokenEndpoint: `${ISSUER}/token`, jwksURI: `${ISSUER}/jwks` },
  clientID: 'app', clientSecret: { name: 's' }, cookieSecret: { name: 's' },
  redirectURL: 'https://app.example/oauth2/callback', scopes: ['email'], forwardAccessToken: true,
  claimToHeaders: [{ header: 'x-user', claim: 'sub' }],
};

function context(secrets: Record<string, string>): SecurityContext {
  return {
    policy: 'shop/login', namespace: 'shop',
    secret: (_ref, field) => Buffer.from(secrets[field]),
    configMap: () => { throw new Error('unused'); },
  };
}
const ctx = context({ 'client-secret': 'cs', 'cookie-secret': COOKIE_SECRET });
const seal = sealer(Buffer.from(COOKIE_SECRET), `windrose oidc ${ISSUER} app`);

function req(path: string, headers: Record<string, string> = {}, method = 'GET', query = ''): ProxyRequest {
  return { method, path, query, headers: new HeaderList(Object.entries(headers).flat()), requestId: 'r1', authority: 'app.example', identity: undefined } as unknown as ProxyRequest;
}
const header = (r: LocalResponse, name: string) => r.headers?.filter(([k]) => k === name).map(([, v]) => v) ?? [];

test('a browser is sent to the configured authorization endpoint, keeping its own query; the cookie is Secure for an https redirect URL', async () => {
  const r = await oidcFilter(spec, ctx).onRequest!(req('/orders', { accept: 'text/html' }, 'GET', 'page=2')) as LocalResponse;
  assert.equal(r.status, 302);
  const to = new URL(header(r, 'location')[0]);
  assert.equal(to.searchParams.get('tenant'), 't1');
  assert.equal(to.searchParams.get('scope'), 'openid email');
  const [cookie] = header(r, 'set-cookie');
  assert.match(cookie, /; Secure$/);
  const value = /^windrose-oidc-login-[A-Za-z0-9_-]+=([^;]+)/.exec(cookie)![1];
  const login = await seal.open(value, 'login');
  assert.equal(login?.u, '/orders?page=2');
  assert.equal(login?.s, to.searchParams.get('state'));
});

test('after login the browser only ever returns to a path of this site', async () => {
  for (const path of ['//evil.example/x', '/\\evil.example']) {
    const r = await oidcFilter(spec, ctx).onRequest!(req(path, { accept: 'text/html' })) as LocalResponse;
    const value = /=([^;]+)/.exec(header(r, 'set-cookie')[0])![1];
    assert.equal((await seal.open(value, 'login'))?.u, '/', path);
  }
});

test('a valid session passes with the identity, the access token and the claims, and without windrose cookies', async () => {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const session = await seal.seal({ c: { sub: 'alice', email: 'a@example.test' }, at: 'opaque-at' }, 'session', exp);
  const r = req('/x', { cookie: `theme=dark; windrose-oidc-session=${session}`, 'x-user': 'mallory', authorization: 'Bearer client-sent' });
  assert.equal(await oidcFilter(spec, ctx).onRequest!(r), undefined);
  assert.deepEqual(r.identity, { method: 'oidc', subject: 'alice', provider: ISSUER, claims: { sub: 'alice', email: 'a@example.test' } });
  assert.equal(r.headers.get('authorization'), 'Bearer opaque-at');
  assert.equal(r.headers.get('x-user'), 'alice');
  assert.equal(r.headers.get('cookie'), 'theme=dark');
});

test('a login cookie is not a session, and a session sealed by another configuration is not one here', async () => {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const asLogin = await seal.seal({ c: { sub: 'alice' } }, 'login', exp);
  const other = await sealer(Buffer.from(COOKIE_SECRET), 'windrose oidc https://other.example app').seal({ c: { sub: 'alice' } }, 'session', exp);
  for (const value of [asLogin, other]) {
    const r = await oidcFilter(spec, ctx).onRequest!(req('/x', { cookie: `windrose-oidc-session=${value}`, accept: 'application/json' })) as LocalResponse;
    assert.equal(r.status, 401);
    assert.ok(header(r, 'set-cookie').some((c) => c.startsWith('windrose-oidc-session=;')));
  }
});

test('logout without an end_session_endpoint clears the session and goes to the post-logout URL', async () => {
  const r = await oidcFilter(spec, ctx).onRequest!(req('/logout')) as LocalResponse;
  assert.equal(r.status, 302);
  assert.deepEqual(header(r, 'location'), ['https://app.example/']);
  assert.match(header(r, 'set-cookie')[0], /^windrose-oidc-session=; Path=\/; Max-Age=0;/);
});

test('a callback with an error from the provider or without a code is refused', async () => {
  const f = oidcFilter(spec, ctx);
  const start = await f.onRequest!(req('/', { accept: 'text/html' })) as LocalResponse;
  const state = new URL(header(start, 'location')[0]).searchParams.get('state')!;
  const cookie = header(start, 'set-cookie')[0].split(';')[0];
  const denied = await f.onRequest!(req('/oauth2/callback', { cookie }, 'GET', `error=access_denied&state=${state}`)) as LocalResponse;
  assert.equal(denied.status, 401);
  assert.equal(denied.errorCode, 'unauthenticated');
  assert.ok(header(denied, 'set-cookie').some((c) => c.startsWith(`windrose-oidc-login-${state}=;`)), 'the login is over');
  const mixUp = await f.onRequest!(req('/oauth2/callback', { cookie }, 'GET', `code=c&state=${state}&iss=${encodeURIComponent('https://attacker.example')}`)) as LocalResponse;
  assert.equal(mixUp.status, 401, 'RFC 9207: the response names another issuer');
});

test('a cookie secret shorter than 32 bytes is a policy problem', () => {
  assert.throws(() => oidcFilter(spec, context({ 'client-secret': 'cs', 'cookie-secret': 'short' })), (err: Error) => err instanceof PolicyProblem && /at least 32 bytes/.test(err.message));
});
