import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oidcSpec } from './oidc.js';

function problems(spec: unknown): string[] {
  const r = oidcSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const base = {
  provider: { issuer: 'https://idp.example' }, clientID: 'app', clientSecret: { name: 'oidc' }, cookieSecret: { name: 'oidc' },
  redirectURL: 'https://app.example/oauth2/callback',
};

test('the minimal and a full block are accepted', () => {
  assert.deepEqual(problems(base), []);
  assert.deepEqual(problems({
    ...base, provider: { issuer: 'https://idp.example', authorizationEndpoint: 'https://idp.example/auth', tokenEndpoint: 'https://idp.example/token', endSessionEndpoint: 'https://idp.example/logout', jwksURI: 'https://idp.example/jwks' },
    tokenEndpointAuthMethod: 'client_secret_post', logoutPath: '/signout', postLogoutRedirectURL: 'https://app.example/bye', scopes: ['email', 'orders:read'],
    cookieDomain: 'app.example', cookieNames: { session: 'app-session', login: 'app-login' }, sessionLifetime: '8h', forwardAccessToken: true,
    claimToHeaders: [{ header: 'x-user', claim: 'sub' }],
  }), []);
});

test('the callback and logout paths differ; so do the cookie names', () => {
  assert.deepEqual(problems({ ...base, redirectURL: 'https://app.example/logout' }), ['redirectURL: its path is the default logoutPath "/logout"; choose another path or set logoutPath']);
  assert.deepEqual(problems({ ...base, logoutPath: '/oauth2/callback' }), ['logoutPath: must differ from the path of redirectURL']);
  assert.deepEqual(problems({ ...base, cookieNames: { session: 'c', login: 'c' } }), ['cookieNames.login: must differ from the session cookie name']);
});

test('fields are checked one by one', () => {
  assert.match(problems({ ...base, tokenEndpointAuthMethod: 'client_secret_jwt' })[0], /^tokenEndpointAuthMethod: expected one of "client_secret_basic", "client_secret_post"/);
  assert.match(problems({ ...base, scopes: ['two words'] })[0], /^scopes\.0: invalid scope "two words"/);
  assert.match(problems({ ...base, logoutPath: 'logout' })[0], /^logoutPath: invalid path "logout"/);
  assert.match(problems({ ...base, cookieNames: { session: 'a;b' } })[0], /^cookieNames\.session: invalid cookie name "a;b"/);
  assert.deepEqual(problems({ ...base, sessionLifetime: '30s' }), ['sessionLifetime: must be from 1m to 168h, got "30s"']);
  assert.match(problems({ ...base, redirectURL: '/oauth2/callback' })[0], /^redirectURL: invalid URL/);
});
