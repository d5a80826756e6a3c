//! SecurityPolicy `oidc`: people sign in at an OpenID provider. A browser without a session is sent
//! to the provider (authorization code flow with PKCE); the callback path exchanges the code, checks
//! the ID token and sets an encrypted session cookie; the logout path ends the session. Programs
//! without a session get 401, not a login page.

import { timingSafeEqual } from 'node:crypto';
import { durationMs } from '../../../../config/translate/durations.js';
import type { OIDCSpec } from '../../../../config/schema/security/oidc.js';
import type { SecurityContext } from '../../../../config/translate/security.js';
import { PolicyProblem } from '../../../../config/translate/attachment.js';
import type { Filter, FilterOutcome, LocalResponse, ProxyRequest } from '../../filter.js';
import { cookieValue, removeCookies, setCookie } from '../cookies.js';
import { publishSecurityEvent } from '../events.js';
import { basicCredentials, IdPUnavailable } from '../idp/http.js';
import { claimHeaderWriter } from '../token-source.js';
import { codeChallenge, randomToken } from './pkce.js';
import { endpointsOf, exchangeCode, LoginRefused, verifyIdToken } from './provider.js';
import { MIN_SECRET_BYTES, sealer } from './seal.js';

/** A login must come back from the provider within this long. */
const LOGIN_TTL_S = 600;
/** Browsers keep cookies up to 4096 bytes (RFC 6265 section 6.1), name and attributes included. */
const MAX_COOKIE_BYTES = 4096;
/** ID token claims that only served to check the token itself. */
const TOKEN_MECHANICS = ['nonce', 'at_hash', 'c_hash', 's_hash', 'exp', 'iat', 'nbf', 'jti'];
const SESSION = 'windrose-oidc-session';
const LOGIN = 'windrose-oidc-login';

interface LoginState { readonly v: string; readonly s: string; readonly n: string; readonly u: string }
interface Session { readonly c: Record<string, unknown>; readonly at?: string; readonly it?: string }

const STATE = /^[A-Za-z0-9_-]{16,128}$/;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Only a path of this site: "//host" or "/\host" would send the browser elsewhere after login. */
function localTarget(req: ProxyRequest): string {
  const target = req.query === '' ? req.path : `${req.path}?${req.query}`;
  return /^\/(?![/\\])/.test(target) ? target : '/';
}

function isBrowserNavigation(req: ProxyRequest): boolean {
  return req.method === 'GET' && (req.headers.get('accept') ?? '').toLowerCase().includes('text/html');
}

export function oidcFilter(spec: OIDCSpec, ctx: SecurityContext): Filter {
  const clientSecret = ctx.secret(spec.clientSecret, 'client-secret').toString('utf8').trim();
  const cookieSecret = ctx.secret(spec.cookieSecret, 'cookie-secret');
  if (cookieSecret.length < MIN_SECRET_BYTES) {
    throw new PolicyProblem('InvalidSecretRef', `the cookie secret ${spec.cookieSecret.name} must hold at least ${MIN_SECRET_BYTES} bytes, got ${cookieSecret.length}`);
  }
  // The issuer and client are part of the key, so a cookie from another login configuration never opens here.
  const sealed = sealer(cookieSecret, `windrose oidc ${spec.provider.issuer} ${spec.clientID}`);
  const issuer = spec.provider.issuer;
  const endpoints = endpointsOf(spec.provider);
  const redirect = new URL(spec.redirectURL);
  const callbackPath = redirect.pathname;
  const logoutPath = spec.logoutPath ?? '/logout';
  const postLogout = spec.postLogoutRedirectURL ?? `${redirect.origin}/`;
  const scope = ['openid', ...(spec.scopes ?? []).filter((s) => s !== 'openid')].join(' ');
  const authorization = (spec.tokenEndpointAuthMethod ?? 'client_secret_basic') === 'client_secret_basic' ? basicCredentials(spec.clientID, clientSecret) : undefined;
  const lifetimeS = Math.floor(durationMs(spec.sessionLifetime ?? '1h') / 1000);
  const sessionName = spec.cookieNames?.session ?? SESSION;
  const loginPrefix = `${spec.cookieNames?.login ?? LOGIN}-`;
  const cookieAttrs = { path: '/', domain: spec.cookieDomain, secure: redirect.protocol === 'https:' };
  const clearSession = setCookie(sessionName, '', { ...cookieAttrs, maxAge: 0 });
  const writeClaims = claimHeaderWriter(spec.claimToHeaders);
  const ours = (name: string) => name === sessionName || name.startsWith(loginPrefix);

  const noStore: [string, string] = ['cache-control', 'no-store'];
  const unauthenticated: LocalResponse = {
    status: 401, errorCode: 'unauthenticated', message: 'sign in first: this resource needs a browser session',
    // RFC 9110 wants a challenge on every 401; no registered scheme describes a login by browser, so this follows the Cookie scheme draft.
    headers: [['www-authenticate', `Cookie realm="${ctx.policy}", cookie-name="${sessionName}"`]],
  };
  const unavailable: LocalResponse = { status: 503, errorCode: 'auth_unavailable', message: 'the sign-in provider could not be reached; try again later' };

  const report = (req: ProxyRequest, message: string) => publishSecurityEvent({ policy: ctx.policy, mechanism: 'oidc', requestId: req.requestId, message });
  const failed = (req: ProxyRequest, err: unknown, extra: [string, string][] = []): LocalResponse => {
    if (err instanceof LoginRefused) {
      report(req, `login refused: ${err.message}`);
      return { status: 401, errorCode: 'unauthenticated', message: 'the sign-in could not be completed; start again from the page you wanted', headers: [...unauthenticated.headers!, noStore, ...extra] };
    }
    report(req, err instanceof IdPUnavailable ? `provider unavailable: ${err.message}` : `login failed: ${(err as Error).message}`);
    return { ...unavailable, headers: extra };
  };

  async function startLogin(req: ProxyRequest, extra: [string, string][]): Promise<LocalResponse> {
    let e;
    try {
      e = await endpoints();
    } catch (err) {
      return failed(req, err, extra);
    }
    const state = randomToken(16);
    const login: LoginState = { v: randomToken(), s: state, n: randomToken(16), u: localTarget(req) };
    const exp = Math.floor(Date.now() / 1000) + LOGIN_TTL_S;
    const cookie = setCookie(loginPrefix + state, await sealed.seal({ ...login }, 'login', exp), { ...cookieAttrs, maxAge: LOGIN_TTL_S });
    const to = new URL(e.authorization);
    const params = to.searchParams;
    params.set('response_type', 'code');
    params.set('client_id', spec.clientID);
    params.set('redirect_uri', spec.redirectURL);
    params.set('scope', scope);
    params.set('state', state);
    params.set('nonce', login.n);
    params.set('code_challenge', codeChallenge(login.v));
    params.set('code_challenge_method', 'S256');
    return { status: 302, headers: [['location', to.href], ['set-cookie', cookie], noStore, ...extra] };
  }

  async function callback(req: ProxyRequest): Promise<LocalResponse> {
    const q = new URLSearchParams(req.query);
    const state = q.get('state') ?? '';
    if (!STATE.test(state)) return failed(req, new LoginRefused('the callback has no valid state'));
    const loginCookie = loginPrefix + state;
    const value = cookieValue(req.headers, loginCookie);
    const login = value === undefined ? undefined : await sealed.open(value, 'login') as LoginState | undefined;
    const clearLogin: [string, string][] = value === undefined ? [] : [['set-cookie', setCookie(loginCookie, '', { ...cookieAttrs, maxAge: 0 })]];
    if (login === undefined || typeof login.s !== 'string' || !sameText(login.s, state)) {
      return failed(req, new LoginRefused('the callback state matches no login in progress (unknown, expired or from another browser)'), clearLogin);
    }
    const code = q.get('code');
    if (code === null || code === '') return failed(req, new LoginRefused(q.has('error') ? 'the provider answered with an error' : 'the callback has no code'), clearLogin);
    // RFC 9207: a provider that names itself must be the one this login went to.
    const iss = q.get('iss');
    if (iss !== null && iss !== issuer) return failed(req, new LoginRefused('the callback names another issuer'), clearLogin);
    try {
      const e = await endpoints();
      const tokens = await exchangeCode({ tokenEndpoint: e.token, code, redirectURI: spec.redirectURL, verifier: login.v, clientID: spec.clientID, authorization, clientSecret });
      const idClaims = await verifyIdToken(tokens.idToken, issuer, e.jwks, spec.clientID, login.n);
      const claims: Record<string, unknown> = { ...idClaims };
      for (const k of TOKEN_MECHANICS) delete claims[k];
      const now = Math.floor(Date.now() / 1000);
      let exp = now + lifetimeS;
      if (spec.forwardAccessToken === true && tokens.expiresIn !== undefined) exp = Math.min(exp, now + tokens.expiresIn);
      const session: Session = { c: claims, ...(spec.forwardAccessToken === true && tokens.accessToken !== undefined ? { at: tokens.accessToken } : {}), it: tokens.idToken };
      const cookie = await sessionCookie(session, exp - now, exp);
      if (cookie === undefined) {
        report(req, 'login refused: the session does not fit in a cookie (4096 bytes); ask the provider for fewer claims');
        return { status: 500, errorCode: 'internal_error', message: 'the session is too large for a cookie', headers: clearLogin };
      }
      return { status: 302, headers: [['location', login.u], ['set-cookie', cookie], ...clearLogin, noStore] };
    } catch (err) {
      return failed(req, err, clearLogin);
    }
  }

  /** The sealed session as a Set-Cookie value; without the ID token (then logout sends no hint) when it would not fit otherwise. */
  async function sessionCookie(session: Session, maxAge: number, exp: number): Promise<string | undefined> {
    for (const s of [session, { ...session, it: undefined }]) {
      const cookie = setCookie(sessionName, await sealed.seal({ ...s }, 'session', exp), { ...cookieAttrs, maxAge });
      if (cookie.length <= MAX_COOKIE_BYTES) return cookie;
    }
    return undefined;
  }

  async function logout(req: ProxyRequest): Promise<LocalResponse> {
    const value = cookieValue(req.headers, sessionName);
    const session = value === undefined ? undefined : await sealed.open(value, 'session') as Session | undefined;
    let to = postLogout;
    try {
      const endSession = (await endpoints()).endSession;
      if (endSession !== undefined) {
        const u = new URL(endSession);
        if (typeof session?.it === 'string') u.searchParams.set('id_token_hint', session.it);
        u.searchParams.set('client_id', spec.clientID);
        u.searchParams.set('post_logout_redirect_uri', postLogout);
        to = u.href;
      }
    } catch (err) {
      // The session ends here whether or not the provider can be told.
      report(req, `logout without the provider: ${(err as Error).message}`);
    }
    return { status: 302, headers: [['location', to], ['set-cookie', clearSession], noStore] };
  }

  async function withSession(req: ProxyRequest, value: string): Promise<FilterOutcome> {
    const session = await sealed.open(value, 'session') as Session | undefined;
    if (session === undefined || session.c === null || typeof session.c !== 'object') {
      const clear: [string, string][] = [['set-cookie', clearSession]];
      return isBrowserNavigation(req) ? startLogin(req, clear) : { ...unauthenticated, headers: [...unauthenticated.headers!, ...clear] };
    }
    const claims = session.c;
    req.identity = { method: 'oidc', subject: typeof claims.sub === 'string' ? claims.sub : '', provider: issuer, claims };
    removeCookies(req.headers, ours);
    if (session.at !== undefined) req.headers.set('authorization', `Bearer ${session.at}`);
    writeClaims?.(req, claims);
    return undefined;
  }

  return {
    name: 'OIDC',
    onRequest(req) {
      if (req.path === callbackPath) return callback(req);
      if (req.path === logoutPath) return logout(req);
      const value = cookieValue(req.headers, sessionName);
      if (value !== undefined && value !== '') return withSession(req, value);
      return isBrowserNavigation(req) ? startLogin(req, []) : unauthenticated;
    },
  };
}
