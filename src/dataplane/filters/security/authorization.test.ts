import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthorizationSpec } from '../../../config/schema/security/authorization.js';
import { HeaderList } from '../../headers.js';
import type { LocalResponse, ProxyRequest, RequestIdentity } from '../filter.js';
import { authorizationFilter, scopesOf } from './authorization.js';

function request(identity?: RequestIdentity, clientAddress = '10.1.2.3'): ProxyRequest {
  return {
    method: 'POST', path: '/orders', query: '', authority: 'api.shop.test', headers: new HeaderList([]), scheme: 'https',
    clientAddress, peer: undefined, port: 443, requestId: 'r1', matchedPrefix: undefined, mirrors: undefined, identity,
  };
}

const jwt = (claims: Record<string, unknown>, provider = 'main'): RequestIdentity => ({ method: 'jwt', subject: 'alice', provider, claims });
const decide = (spec: AuthorizationSpec, req: ProxyRequest) => authorizationFilter(spec).onRequest!(req) as LocalResponse | undefined;
const challenge = (out: LocalResponse | undefined) => out?.headers?.find(([k]) => k === 'www-authenticate')?.[1];

const WRITERS: AuthorizationSpec = { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:write'] } } }] };

test('scopes come from a space-separated scope claim and from an scp list', () => {
  assert.deepEqual([...scopesOf(jwt({ scope: 'a  b', scp: ['c', 1] }))], ['a', 'b', 'c', '1']);
});

test('a token with every required scope is allowed', () => {
  assert.equal(decide(WRITERS, request(jwt({ scope: 'orders:read orders:write' }))), undefined);
  assert.equal(decide(WRITERS, request(jwt({ scp: ['orders:write'] }))), undefined);
});

test('a token missing a scope gets 403 insufficient_scope naming the scopes (RFC 6750 section 3.1)', () => {
  const spec: AuthorizationSpec = { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:write', 'orders:admin'] } } }] };
  const out = decide(spec, request(jwt({ scope: 'orders:write' })));
  assert.equal(out?.status, 403);
  assert.equal(out?.errorCode, 'access_denied');
  assert.equal(challenge(out), 'Bearer realm="api.shop.test", error="insufficient_scope", error_description="the token lacks a scope this request requires", scope="orders:write orders:admin"');
});

test('an anonymous caller that a token would have let in gets 401 with a Bearer challenge', () => {
  const out = decide(WRITERS, request());
  assert.equal(out?.status, 401);
  assert.equal(out?.errorCode, 'unauthenticated');
  assert.equal(challenge(out), 'Bearer realm="api.shop.test"');
});

test('claims, provider and addresses that do not match give a plain 403', () => {
  const spec: AuthorizationSpec = { rules: [{ action: 'Allow', principal: { clientCIDRs: ['10.0.0.0/8'], jwt: { provider: 'main', claims: [{ name: 'org', values: ['acme'] }], scopes: ['w'] } } }] };
  for (const req of [request(jwt({ org: 'other', scope: '' })), request(jwt({ org: 'acme' }, 'partner')), request(undefined, '192.0.2.1'), request(jwt({ org: 'acme' }), '192.0.2.1')]) {
    const out = decide(spec, req);
    assert.equal(out?.status, 403);
    assert.equal(challenge(out), undefined);
  }
  assert.equal(challenge(decide(spec, request(jwt({ org: 'acme', scope: 'r' })))), 'Bearer realm="api.shop.test", error="insufficient_scope", error_description="the token lacks a scope this request requires", scope="w"');
});

test('a caller authenticated another way is not asked for a bearer token', () => {
  const out = decide(WRITERS, request({ method: 'apiKey', subject: 'key-1', consumer: 'acme' }));
  assert.equal(out?.status, 403);
  assert.equal(challenge(out), undefined);
});

test('an explicit Deny rule that would match with the scopes gives no scope hint', () => {
  const spec: AuthorizationSpec = { rules: [{ action: 'Deny', principal: { jwt: { scopes: ['orders:write'] } } }, { action: 'Allow', principal: { jwt: { scopes: ['orders:read'] } } }] };
  const out = decide(spec, request(jwt({ scope: 'other' })));
  assert.equal(out?.status, 403);
  assert.equal(challenge(out), undefined);
});

test('a Deny rule that matches after an Allow rule short of scopes still names the scopes', () => {
  const spec: AuthorizationSpec = { rules: [{ action: 'Allow', principal: { jwt: { scopes: ['orders:write'] } } }, { action: 'Deny', principal: { clientCIDRs: ['10.0.0.0/8'] } }] };
  assert.match(challenge(decide(spec, request(jwt({ scope: 'orders:read' }))))!, /insufficient_scope.*scope="orders:write"/);
});

test('the first matching rule decides; the default applies when none matches', () => {
  const spec: AuthorizationSpec = { defaultAction: 'Allow', rules: [{ action: 'Deny', principal: { clientCIDRs: ['10.0.0.0/8'] } }] };
  assert.equal(decide(spec, request())?.status, 403);
  assert.equal(decide(spec, request(undefined, '192.0.2.1')), undefined);
  assert.equal(decide({}, request()), undefined, 'no rules: allow');
  assert.equal(decide({ rules: [{ action: 'Allow', principal: { clientCIDRs: ['192.0.2.0/24'] } }] }, request())?.status, 403, 'rules and no default: deny');
});
