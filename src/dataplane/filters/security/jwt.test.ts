import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { JWTProvider, JWTSpec } from '../../../config/schema/security/jwt.js';
import { PolicyProblem } from '../../../config/translate/attachment.js';
import type { SecurityContext } from '../../../config/translate/security.js';
import { HeaderList } from '../../headers.js';
import type { LocalResponse, ProxyRequest } from '../filter.js';
import { DESCRIPTIONS, jwtFilter } from './jwt.js';

const ISSUER = 'https://issuer.test';
const SECRET = Buffer.alloc(32, 9);

let signer: CryptoKey;
let stranger: CryptoKey;
let publicPEM: string;
let jwks: string;

before(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signer = pair.privateKey;
  stranger = (await generateKeyPair('RS256')).privateKey;
  publicPEM = await exportSPKI(pair.publicKey);
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }, { kty: 'oct', k: SECRET.toString('base64url'), kid: 's1' }] });
});

const unused = (): never => { throw new Error('the inline JWKS needs no lookup'); };
const ctx: SecurityContext = { policy: 'default/p', namespace: 'default', secret: unused, configMap: unused };

function provider(extra: Partial<JWTProvider> = {}): JWTProvider {
  return { name: 'main', issuer: ISSUER, audiences: ['orders'], localJWKS: { type: 'Inline', value: jwks }, ...extra };
}

function filter(spec: Partial<JWTSpec> & { providers?: JWTProvider[] } = {}) {
  return jwtFilter({ providers: spec.providers ?? [provider()], optional: spec.optional }, ctx);
}

function request(headers: Record<string, string> = {}, query = ''): ProxyRequest {
  return {
    method: 'GET', path: '/orders', query, authority: 'api.shop.test', headers: new HeaderList(Object.entries(headers).flat()),
    scheme: 'https', clientAddress: '127.0.0.1', peer: undefined, port: 443, requestId: 'r1', matchedPrefix: undefined, mirrors: undefined, identity: undefined,
  };
}

async function token(claims: JWTPayload = {}, opts: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', iss: ISSUER, aud: 'orders', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
    .sign(opts.key ?? signer);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function refusal(f: ReturnType<typeof filter>, req: ProxyRequest): Promise<LocalResponse> {
  const out = await f.onRequest!(req);
  assert.ok(out !== undefined, 'the request was refused');
  return out;
}

function challenge(out: LocalResponse): string | undefined {
  return out.headers?.find(([k]) => k === 'www-authenticate')?.[1];
}

test('a valid token passes, sets the identity and keeps the token for upstream', async () => {
  const t = await token({ scope: 'orders:read' });
  const req = request(bearer(t));
  assert.equal(await filter().onRequest!(req), undefined);
  assert.equal(req.identity?.method, 'jwt');
  assert.equal(req.identity?.subject, 'alice');
  assert.equal(req.identity?.provider, 'main');
  assert.equal(req.identity?.claims?.scope, 'orders:read');
  assert.equal(req.headers.get('authorization'), `Bearer ${t}`);
});

test('no token: 401 with a bare Bearer challenge (RFC 6750 section 3.1)', async () => {
  const out = await refusal(filter(), request());
  assert.equal(out.status, 401);
  assert.equal(out.errorCode, 'unauthenticated');
  assert.equal(challenge(out), 'Bearer realm="api.shop.test"');
});

test('each invalid token gets invalid_token with its own description', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string, string][] = [
    ['expired', await token({ exp: now - 120 }), DESCRIPTIONS.expired],
    ['not yet valid', await token({ nbf: now + 600 }), DESCRIPTIONS.notYetValid],
    ['wrong audience', await token({ aud: 'billing' }), DESCRIPTIONS.audience],
    ['wrong issuer', await token({ iss: 'https://evil.test' }), DESCRIPTIONS.issuer],
    ['bad signature', await token({}, { key: stranger }), DESCRIPTIONS.signature],
    ['unknown kid', await token({}, { kid: 'nope' }), DESCRIPTIONS.unknownKey],
    ['alg none', `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ sub: 'alice', iss: ISSUER, aud: 'orders' }))}.`, DESCRIPTIONS.algorithm],
    ['HS256 with the public key as secret', await token({}, { alg: 'HS256', key: Buffer.from(publicPEM) }), DESCRIPTIONS.algorithm],
    ['HS256 with the RSA kid', await token({}, { alg: 'HS256', key: SECRET }), DESCRIPTIONS.algorithm],
    ['not a JWT', 'abc.def', DESCRIPTIONS.malformed],
    ['garbage', 'not a token at all', DESCRIPTIONS.malformed],
  ];
  const f = filter();
  for (const [name, t, description] of cases) {
    const out = await refusal(f, request(bearer(t)));
    assert.equal(out.status, 401, name);
    assert.equal(out.message, description, name);
    assert.equal(challenge(out), `Bearer realm="api.shop.test", error="invalid_token", error_description="${description}"`, name);
  }
});

test('a token expired by less than the clock skew still passes; clockSkew narrows it', async () => {
  const t = await token({ exp: Math.floor(Date.now() / 1000) - 30 });
  assert.equal(await filter().onRequest!(request(bearer(t))), undefined);
  const strict = filter({ providers: [provider({ clockSkew: '5s' })] });
  assert.equal((await refusal(strict, request(bearer(t)))).message, DESCRIPTIONS.expired);
});

test('HMAC passes only where allowed, with the shared secret, never with the public key', async () => {
  const hmac = filter({ providers: [provider({ algorithms: ['HS256'] })] });
  assert.equal(await hmac.onRequest!(request(bearer(await token({}, { alg: 'HS256', kid: 's1', key: SECRET })))), undefined);
  const confused = await token({}, { alg: 'HS256', kid: 'k1', key: Buffer.from(publicPEM) });
  assert.equal((await refusal(hmac, request(bearer(confused)))).message, DESCRIPTIONS.unknownKey);
  const both = filter({ providers: [provider({ algorithms: ['RS256', 'HS256'] })] });
  assert.equal((await refusal(both, request(bearer(confused)))).message, DESCRIPTIONS.unknownKey);
});

test('claims are copied to headers, nested ones by dots, and a client cannot forge them', async () => {
  const f = filter({ providers: [provider({ claimToHeaders: [{ header: 'X-User', claim: 'sub' }, { header: 'x-tenant', claim: 'org.tenant' }, { header: 'x-roles', claim: 'roles' }, { header: 'x-missing', claim: 'nope' }] })] });
  const req = request({ ...bearer(await token({ org: { tenant: 'acme' }, roles: ['a', 'b'] })), 'x-user': 'mallory', 'x-missing': 'forged' });
  assert.equal(await f.onRequest!(req), undefined);
  assert.equal(req.headers.get('x-user'), 'alice');
  assert.equal(req.headers.get('x-tenant'), 'acme');
  assert.equal(req.headers.get('x-roles'), 'a,b');
  assert.equal(req.headers.has('x-missing'), false);
  const refused = request({ 'x-user': 'mallory' });
  await refusal(f, refused);
  assert.equal(refused.headers.has('x-user'), false);
});

test('tokens are read from a cookie or a query parameter; forward: false removes them', async () => {
  const f = filter({ providers: [provider({ extractFrom: { cookies: ['session'], params: ['access_token'] }, forward: false })] });
  const t = await token();
  const fromCookie = request({ cookie: `theme=dark; session=${t}` });
  assert.equal(await f.onRequest!(fromCookie), undefined);
  assert.equal(fromCookie.headers.get('cookie'), 'theme=dark');
  const fromQuery = request({}, `page=2&access_token=${t}`);
  assert.equal(await f.onRequest!(fromQuery), undefined);
  assert.equal(fromQuery.query, 'page=2');
  assert.equal((await refusal(f, request(bearer(t)))).status, 401, 'the Authorization header is not a configured source');
});

test('forward: false removes the bearer Authorization header only', async () => {
  const f = filter({ providers: [provider({ forward: false })] });
  const req = request(bearer(await token()));
  assert.equal(await f.onRequest!(req), undefined);
  assert.equal(req.headers.has('authorization'), false);
});

test('optional: no token passes anonymous, a bad token is still refused', async () => {
  const f = filter({ optional: true });
  const anonymous = request();
  assert.equal(await f.onRequest!(anonymous), undefined);
  assert.equal(anonymous.identity, undefined);
  assert.equal((await refusal(f, request(bearer(await token({ aud: 'billing' }))))).status, 401);
});

test('with several providers, the one whose issuer the token names verifies it', async () => {
  const other = provider({ name: 'partner', issuer: 'https://partner.test', audiences: undefined });
  const f = filter({ providers: [provider(), other] });
  const req = request(bearer(await token({ iss: 'https://partner.test', aud: 'anything' })));
  assert.equal(await f.onRequest!(req), undefined);
  assert.equal(req.identity?.provider, 'partner');
  const none = await refusal(f, request(bearer(await token({ iss: 'https://nobody.test' }))));
  assert.equal(none.message, DESCRIPTIONS.issuer);
});

test('the realm keeps host characters only', async () => {
  const req = request();
  req.authority = 'api.shop.test", error="x';
  assert.equal(challenge(await refusal(filter(), req)), 'Bearer realm="api.shop.testerrorx"');
});

test('a JWKS from a Secret is read at compile time; HMAC without an HMAC key there is a PolicyProblem', async () => {
  const read: string[] = [];
  const withSecret: SecurityContext = { ...ctx, secret: (ref, key) => { read.push(`${ref.name}/${key}`); return Buffer.from(jwks); } };
  const f = jwtFilter({ providers: [provider({ localJWKS: { type: 'SecretRef', secretRef: { name: 'idp-keys' } }, algorithms: ['HS256'] })] }, withSecret);
  assert.deepEqual(read, ['idp-keys/jwks']);
  assert.equal(await f.onRequest!(request(bearer(await token({}, { alg: 'HS256', kid: 's1', key: SECRET })))), undefined);
  const publicOnly: SecurityContext = { ...ctx, secret: () => Buffer.from(JSON.stringify({ keys: [JSON.parse(jwks).keys[0]] })) };
  assert.throws(() => jwtFilter({ providers: [provider({ localJWKS: { type: 'SecretRef', secretRef: { name: 'k' }, key: 'set' }, algorithms: ['HS256'] })] }, publicOnly), PolicyProblem);
  const garbage: SecurityContext = { ...ctx, secret: () => Buffer.from('not json') };
  assert.throws(() => jwtFilter({ providers: [provider({ localJWKS: { type: 'SecretRef', secretRef: { name: 'k' } } })] }, garbage), /does not hold a JWKS document/);
});

test('the refusal comes from the provider of the token\'s issuer, not from another issuer\'s mismatch', async () => {
  const f = filter({ providers: [provider({ name: 'partner', issuer: 'https://partner.test' }), provider()] });
  const out = await refusal(f, request(bearer(await token({ exp: Math.floor(Date.now() / 1000) - 300 }))));
  assert.equal(out.message, DESCRIPTIONS.expired);
});

test('a token verified once is accepted synchronously from then on, with the same identity and claim headers', async () => {
  const f = filter({ providers: [provider({ claimToHeaders: [{ header: 'x-user', claim: 'sub' }] })] });
  const t = await token();
  const first = request(bearer(t));
  assert.equal(await f.onRequest!(first), undefined);
  const again = request({ ...bearer(t), 'x-user': 'forged' });
  const outcome = f.onRequest!(again);
  assert.equal(outcome instanceof Promise, false, 'no signature check, no promise');
  assert.equal(outcome, undefined);
  assert.deepEqual(again.identity, first.identity);
  assert.deepEqual(again.headers.raw.filter((_, i, raw) => raw[i - 1] === 'x-user'), ['alice']);
});

test('a cached token stops being accepted at its expiry, and a refused token is never cached', async (t) => {
  const f = filter({ providers: [provider({ clockSkew: '0s' })] });
  const now = Math.floor(Date.now() / 1000);
  const shortLived = await token({ exp: now + 60 });
  t.mock.timers.enable({ apis: ['Date'], now: now * 1000 });
  assert.equal(await f.onRequest!(request(bearer(shortLived))), undefined);
  t.mock.timers.tick(61_000);
  const out = await refusal(f, request(bearer(shortLived)));
  assert.equal(out.message, DESCRIPTIONS.expired);
  t.mock.timers.reset();

  const forged = await token({}, { key: stranger });
  await refusal(f, request(bearer(forged)));
  assert.ok(f.onRequest!(request(bearer(forged))) instanceof Promise, 'verified again, not taken from a cache');
});

test('a JWKS from a Secret is checked as the schema checks an inline one: a bad key is a policy problem, never a crash of the translation', () => {
  const holding = (jwks: string): SecurityContext => ({ ...ctx, secret: () => Buffer.from(jwks) });
  const compile = (jwks: string) => () => jwtFilter({ providers: [provider({ localJWKS: { type: 'SecretRef', secretRef: { name: 'k' } } })] }, holding(jwks));
  assert.throws(compile('{"keys":[null]}'), (err: unknown) => err instanceof PolicyProblem && /keys\[0\] is not an object/.test(err.message));
  assert.throws(compile('{"keys":[{"kty":"oct","k":"AQ"}]}'), (err: unknown) => err instanceof PolicyProblem && /HMAC key shorter than 32 bytes/.test(err.message));
  assert.throws(compile('{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}'), (err: unknown) => err instanceof PolicyProblem && /private key/.test(err.message));
});
