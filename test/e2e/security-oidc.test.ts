//! End to end: the SecurityPolicy `oidc` login against a real OpenID provider (oidc-provider on
//! loopback), driven hop by hop by a client that keeps cookies: the redirect to the provider with
//! PKCE, the provider's login and consent, the callback and its encrypted session cookie, the
//! user's claims reaching the backend, logout, and the refusals (API clients, tampered cookies,
//! bad state, replayed codes, provider down).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompactEncrypt } from 'jose';
import { baseConfig, simpleRoute, startBackend, type Backend } from '../helpers/backends.js';
import { CookieClient, formAction, type Hop } from '../helpers/cookie-client.js';
import { startProvider, type TestClient, type TestProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/ports.js';
import { docs } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

const SESSION = 'windrose-oidc-session';
const LOGIN_PREFIX = 'windrose-oidc-login-';

describe('SecurityPolicy oidc: browser login with a real OpenID provider', () => {
  let idp: TestProvider;
  let gw: Windrose;
  let a: Backend;
  let base: string;
  let web: TestClient;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    web = {
      client_id: 'shop-web', client_secret: 'shop-web-secret-7f3a', scope: 'openid email profile',
      redirect_uris: [`${base}/oauth2/callback`], post_logout_redirect_uris: [`${base}/`],
      grant_types: ['authorization_code'], response_types: ['code'],
    };
    [idp, a] = await Promise.all([startProvider([web]), startBackend('a')]);
    const policy = `apiVersion: v1
kind: Secret
metadata: { name: shop-oidc, namespace: default }
stringData:
  client-secret: ${web.client_secret}
  cookie-secret: 0123456789abcdef0123456789abcdef-session-key
---
apiVersion: windrose.dev/v1alpha1
kind: SecurityPolicy
metadata: { name: shop-login, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: a }]
  oidc:
    provider: { issuer: "${idp.issuer}" }
    clientID: shop-web
    clientSecret: { name: shop-oidc }
    cookieSecret: { name: shop-oidc }
    redirectURL: "${base}/oauth2/callback"
    scopes: [email, profile]
    forwardAccessToken: true
    claimToHeaders:
    - { header: x-user, claim: sub }
    - { header: x-user-email, claim: email }
`;
    gw = await startWindrose({ 'gateway.yaml': baseConfig(port, { a: a.port }), 'routes.yaml': docs(simpleRoute('a', 'a'), policy) });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), idp?.close()]);
  });

  /** Signs `user` in at the provider's development pages from `authURL` on; returns the hop back to the gateway's callback. */
  async function signInAtProvider(browser: CookieClient, authURL: string, user: string): Promise<Hop> {
    let url = authURL;
    for (let i = 0; i < 10; i++) {
      const hop = await browser.go(url);
      if (hop.status === 200) {
        const prompt = /name="prompt" value="(\w+)"/.exec(hop.body)?.[1];
        const form: Record<string, string> = prompt === 'login' ? { prompt, login: user, password: 'any' } : { prompt: 'consent' };
        const submitted = await browser.go(formAction(hop.body, url), { form });
        assert.equal(submitted.status, 303, `the provider accepts the ${prompt} form`);
        url = submitted.location!;
        continue;
      }
      assert.ok(hop.status === 302 || hop.status === 303, `provider hop ${url} answered ${hop.status}: ${hop.body.slice(0, 200)}`);
      if (!hop.location!.startsWith(idp.issuer)) return hop;
      url = hop.location!;
    }
    throw new Error('the provider never sent the browser back');
  }

  /** The whole login from a request for `path` to the page itself; returns the browser and the hops that matter. */
  async function login(user: string, path: string) {
    const browser = new CookieClient();
    const start = await browser.go(`${base}${path}`);
    const back = await signInAtProvider(browser, start.location!, user);
    const callback = await browser.go(back.location!);
    const page = await browser.go(callback.location!);
    return { browser, start, back, callback, page };
  }

  test('a browser without a session is sent to the provider with PKCE S256, state and nonce; discovery happens on that first request', async () => {
    assert.equal(idp.hitsOf('/.well-known/openid-configuration'), 0, 'nothing is fetched before a request needs it');
    const before = a.received.length;
    const browser = new CookieClient();
    const hop = await browser.go(`${base}/orders/7?view=full`);
    assert.equal(hop.status, 302);
    const to = new URL(hop.location!);
    assert.equal(`${to.origin}${to.pathname}`, `${idp.issuer}/auth`);
    const q = to.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'shop-web');
    assert.equal(q.get('redirect_uri'), `${base}/oauth2/callback`);
    assert.deepEqual(q.get('scope')!.split(' ').sort(), ['email', 'openid', 'profile']);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('state')!, /^[A-Za-z0-9_-]{22,}$/);
    assert.match(q.get('nonce')!, /^[A-Za-z0-9_-]{22,}$/);
    assert.equal(hop.setCookies.length, 1);
    const [cookie] = hop.setCookies;
    assert.ok(cookie.startsWith(`${LOGIN_PREFIX}${q.get('state')}=`), cookie);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Path=\//);
    assert.doesNotMatch(cookie, /; Secure/, 'the redirect URL is http, so the cookie cannot be Secure');
    assert.equal(hop.headers.get('cache-control'), 'no-store');
    assert.equal(a.received.length, before, 'the backend saw nothing');
    assert.equal(idp.hitsOf('/.well-known/openid-configuration'), 1);
    await browser.go(`${base}/again`);
    assert.equal(idp.hitsOf('/.well-known/openid-configuration'), 1, 'the discovery document is cached');
  });

  test('the whole login: provider sign-in, callback with an encrypted session cookie, then the original URL with the user reaching the backend', async () => {
    const { browser, back, callback, page } = await login('alice', '/orders/7?view=full');
    const cb = new URL(back.location!);
    assert.equal(`${cb.origin}${cb.pathname}`, `${base}/oauth2/callback`, 'the provider sends the browser to the redirect URL');
    assert.ok(cb.searchParams.get('code'));
    assert.equal(cb.searchParams.get('iss'), idp.issuer);

    assert.equal(callback.status, 302);
    assert.equal(callback.location, `${base}/orders/7?view=full`, 'back to the page first asked for');
    const session = callback.setCookies.find((c) => c.startsWith(`${SESSION}=`));
    assert.ok(session, callback.setCookies.join('\n'));
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Lax/);
    assert.match(session, /; Max-Age=600;/, 'the session ends with the forwarded access token (600s at this provider), before the default 1h');
    assert.ok(session.length < 4096, `the session cookie is ${session.length} bytes`);
    const value = browser.cookies(base).get(SESSION)!;
    const parts = value.split('.');
    assert.equal(parts.length, 5, 'a compact JWE');
    assert.equal(parts[1], '', 'dir: no encrypted key');
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header.alg, 'dir');
    assert.equal(header.enc, 'A256GCM');
    assert.ok(!Buffer.from(parts[3], 'base64url').toString('latin1').includes('alice'), 'the claims are not readable in the cookie');
    assert.ok(callback.setCookies.some((c) => c.startsWith(LOGIN_PREFIX) && /Max-Age=0/.test(c)), 'the login cookie is cleared');
    assert.ok(![...browser.cookies(base).keys()].some((k) => k.startsWith(LOGIN_PREFIX)));

    assert.equal(page.status, 200);
    const seen = JSON.parse(page.body) as { url: string; headers: Record<string, string | undefined> };
    assert.equal(seen.url, '/orders/7?view=full');
    assert.equal(seen.headers['x-user'], 'alice');
    assert.equal(seen.headers['x-user-email'], 'alice@example.test');
    assert.match(seen.headers.authorization ?? '', /^Bearer [A-Za-z0-9_-]{20,}$/, 'the access token is forwarded');
    assert.equal(seen.headers.cookie, undefined, 'windrose keeps its cookies to itself');

    const spoofed = await browser.go(`${base}/me`, { headers: { 'x-user': 'mallory', accept: 'application/json' } });
    assert.equal(spoofed.status, 200, 'a session works for any kind of request');
    assert.equal((JSON.parse(spoofed.body) as { headers: Record<string, string> }).headers['x-user'], 'alice', 'a client cannot claim to be someone else');
  });

  test('an API client without a session gets 401 JSON, not a redirect', async () => {
    const api = new CookieClient('application/json');
    const get = await api.go(`${base}/orders`);
    assert.equal(get.status, 401);
    assert.equal(get.location, undefined);
    assert.equal((JSON.parse(get.body) as { error: { code: string } }).error.code, 'unauthenticated');
    assert.match(get.headers.get('www-authenticate') ?? '', /^Cookie realm="default\/shop-login", cookie-name="windrose-oidc-session"$/);
    const browser = new CookieClient();
    const post = await browser.go(`${base}/orders`, { method: 'POST', form: { item: '1' } });
    assert.equal(post.status, 401, 'only a GET navigation is worth a login page');
  });

  test('a tampered or forged session cookie is no session', async () => {
    const { browser } = await login('bob', '/');
    const value = browser.cookies(base).get(SESSION)!;
    const parts = value.split('.');
    const flipped = parts[3].charAt(0) === 'A' ? `B${parts[3].slice(1)}` : `A${parts[3].slice(1)}`;
    const forged = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ c: { sub: 'admin' }, exp: 4102444800 })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'session' }).encrypt(new Uint8Array(32).fill(7));
    for (const bad of [[parts[0], '', parts[2], flipped, parts[4]].join('.'), forged, 'not-a-jwe']) {
      const before = a.received.length;
      const api = await fetch(`${base}/orders`, { headers: { cookie: `${SESSION}=${bad}`, accept: 'application/json' } });
      assert.equal(api.status, 401);
      assert.ok(api.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=;`) && /Max-Age=0/.test(c)), 'the bad cookie is cleared');
      const nav = await fetch(`${base}/orders`, { headers: { cookie: `${SESSION}=${bad}`, accept: 'text/html' }, redirect: 'manual' });
      assert.equal(nav.status, 302, 'a browser is sent to sign in again');
      assert.ok(nav.headers.get('location')!.startsWith(`${idp.issuer}/auth?`));
      assert.equal(a.received.length, before);
    }
    const good = await browser.go(`${base}/still-fine`);
    assert.equal(good.status, 200);
  });

  test('a callback whose state matches no login is refused before any token exchange; a code works only once', async () => {
    const tokenCalls = idp.hitsOf('/token');
    const stranger = new CookieClient();
    const noLogin = await stranger.go(`${base}/oauth2/callback?code=abc&state=${'x'.repeat(22)}`);
    assert.equal(noLogin.status, 401);
    assert.equal((JSON.parse(noLogin.body) as { error: { code: string } }).error.code, 'unauthenticated');

    // A login in progress, and a callback that carries another state (a forged or mixed-up response).
    const browser = new CookieClient();
    const start = await browser.go(`${base}/`);
    const state = new URL(start.location!).searchParams.get('state')!;
    const loginCookie = browser.cookies(base).get(`${LOGIN_PREFIX}${state}`)!;
    const otherState = `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`;
    const mixed = await fetch(`${base}/oauth2/callback?code=abc&state=${otherState}`, { headers: { cookie: `${LOGIN_PREFIX}${otherState}=${loginCookie}` }, redirect: 'manual' });
    assert.equal(mixed.status, 401, 'a login cookie under another name does not vouch for this state');
    const noState = await browser.go(`${base}/oauth2/callback?code=abc`);
    assert.equal(noState.status, 401);
    assert.equal(idp.hitsOf('/token'), tokenCalls, 'no code was sent to the provider');

    const back = await signInAtProvider(browser, start.location!, 'alice');
    const replay = back.location!;
    const first = await browser.go(replay);
    assert.equal(first.status, 302);
    // The same callback again, with the login cookie restored: the provider refuses a used code.
    browser.cookies(base).set(`${LOGIN_PREFIX}${state}`, loginCookie);
    const second = await browser.go(replay);
    assert.equal(second.status, 401);
    assert.equal(idp.hitsOf('/token'), tokenCalls + 2);
  });

  test('logout clears the session and ends it at the provider, which sends the browser back', async () => {
    const { browser } = await login('alice', '/');
    const out = await browser.go(`${base}/logout`);
    assert.equal(out.status, 302);
    const to = new URL(out.location!);
    assert.equal(`${to.origin}${to.pathname}`, `${idp.issuer}/session/end`);
    assert.ok(to.searchParams.get('id_token_hint')!.split('.').length === 3, 'the ID token is the hint');
    assert.equal(to.searchParams.get('post_logout_redirect_uri'), `${base}/`);
    assert.equal(to.searchParams.get('client_id'), 'shop-web');
    assert.ok(out.setCookies.some((c) => c.startsWith(`${SESSION}=;`) && /Max-Age=0/.test(c)));
    assert.equal(browser.cookies(base).has(SESSION), false);

    const confirm = await browser.go(out.location!);
    assert.equal(confirm.status, 200, 'the provider asks to confirm');
    const fields = Object.fromEntries([...confirm.body.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const done = await browser.go(formAction(confirm.body, out.location!), { form: { ...fields, logout: 'yes' } });
    assert.ok(done.status === 302 || done.status === 303, `${done.status}`);
    let url = done.location!;
    while (url.startsWith(idp.issuer)) {
      const hop = await browser.go(url);
      url = hop.location!;
    }
    assert.equal(url, `${base}/`);
    const home = await browser.go(url);
    assert.equal(home.status, 302, 'signed out: the next visit signs in again');
  });

  test('a provider that does not answer during the callback gives 503 auth_unavailable, and the next login works', async () => {
    const browser = new CookieClient();
    const start = await browser.go(`${base}/`);
    const back = await signInAtProvider(browser, start.location!, 'alice');
    idp.down = true;
    try {
      const cb = await browser.go(back.location!);
      assert.equal(cb.status, 503);
      assert.equal((JSON.parse(cb.body) as { error: { code: string } }).error.code, 'auth_unavailable');
      await gw.waitForLog((l) => l.msg.includes('provider unavailable') && l.policy === 'default/shop-login');
    } finally {
      idp.down = false;
    }
    const again = await login('alice', '/after-outage');
    assert.equal(again.page.status, 200);
  });
});
