import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { ExtAuthSpec } from '../../../config/schema/security/ext-auth.js';
import { HeaderList } from '../../headers.js';
import type { LocalResponse, ProxyRequest } from '../filter.js';
import { extAuthFilter } from './ext-auth.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** What the service answers next: status and headers. */
let answer: { status: number; headers?: Record<string, string | string[]> } = { status: 200 };
const seen: Seen[] = [];
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end('decision');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function request(headers: Record<string, string> | string[] = {}, method = 'POST'): ProxyRequest {
  return {
    method, path: '/orders/7', query: 'expand=items', authority: 'api.shop.test',
    headers: new HeaderList(Array.isArray(headers) ? headers : Object.entries(headers).flat()), scheme: 'https',
    clientAddress: '192.0.2.9', peer: undefined, port: 443, requestId: 'r-42', matchedPrefix: undefined, mirrors: undefined, identity: undefined,
  };
}

const filter = (spec: Partial<ExtAuthSpec> = {}) => extAuthFilter({ http: { url, path: '/authz/' }, ...spec }, { policy: 'default/authz' });
const run = (spec: Partial<ExtAuthSpec>, req: ProxyRequest) => filter(spec).onRequest!(req) as Promise<LocalResponse | undefined>;

test('the service gets the method, prefixed path and query, chosen headers and no body', async () => {
  answer = { status: 200 };
  const req = request(['authorization', 'Bearer t', 'cookie', 'a=1', 'cookie', 'b=2', 'x-tenant', 'acme', 'x-secret', 'no', 'content-length', '10', 'x-forwarded-for', '10.9.9.9']);
  assert.equal(await run({ headersToExtAuth: ['Cookie', 'X-Tenant', 'X-Forwarded-For'] }, req), undefined);
  const s = seen.at(-1)!;
  assert.equal(s.method, 'POST');
  assert.equal(s.url, '/authz/orders/7?expand=items');
  assert.equal(s.body, '');
  assert.equal(s.headers.authorization, 'Bearer t', 'Authorization is always sent');
  assert.equal(s.headers.cookie, 'a=1; b=2');
  assert.equal(s.headers['x-tenant'], 'acme');
  assert.equal(s.headers['x-secret'], undefined);
  assert.equal(s.headers['x-forwarded-host'], 'api.shop.test');
  assert.equal(s.headers['x-forwarded-proto'], 'https');
  assert.equal(s.headers['x-forwarded-for'], '192.0.2.9');
  assert.equal(s.headers['x-request-id'], 'r-42');
});

test('an allowing answer sets headersToBackend; a client value for them never survives', async () => {
  answer = { status: 204, headers: { 'x-user': 'alice' } };
  const req = request({ 'x-user': 'mallory', 'x-plan': 'forged' });
  assert.equal(await run({ http: { url, headersToBackend: ['X-User', 'x-plan'] } }, req), undefined);
  assert.equal(req.headers.get('x-user'), 'alice');
  assert.equal(req.headers.has('x-plan'), false);
});

test('a refusal keeps the service status and headers, with the JSON error body', async () => {
  answer = { status: 401, headers: { 'www-authenticate': 'Bearer realm="shop"', 'x-reason': 'expired' } };
  const out = (await run({}, request()))!;
  assert.equal(out.status, 401);
  assert.equal(out.errorCode, 'unauthenticated');
  assert.deepEqual(out.headers, [['www-authenticate', 'Bearer realm="shop"'], ['x-reason', 'expired']]);
  answer = { status: 403, headers: { 'set-cookie': ['a=1', 'b=2'] } };
  const denied = (await run({}, request()))!;
  assert.equal(denied.status, 403);
  assert.equal(denied.errorCode, 'access_denied');
  assert.deepEqual(denied.headers, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
  answer = { status: 429 };
  assert.equal((await run({}, request()))!.status, 429);
});

test('a redirect is passed on as it came, without an error body', async () => {
  answer = { status: 302, headers: { location: 'https://login.shop.test/' } };
  const out = (await run({}, request()))!;
  assert.equal(out.status, 302);
  assert.equal(out.errorCode, undefined);
  assert.deepEqual(out.headers, [['location', 'https://login.shop.test/']]);
});

test('a 5xx answer is no decision: 403 ext_authz_failed, or through with failOpen', async () => {
  answer = { status: 503 };
  const out = (await run({}, request()))!;
  assert.equal(out.status, 403);
  assert.equal(out.errorCode, 'ext_authz_failed');
  assert.equal(await run({ failOpen: true }, request()), undefined);
});

test('a service that cannot be reached fails closed, or open with failOpen', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
  assert.equal(((await run({ http: { url: dead } }, request())) as LocalResponse).errorCode, 'ext_authz_failed');
  assert.equal(await run({ http: { url: dead }, failOpen: true }, request({ 'x-user': 'mallory' })), undefined);
});

test('an authorization service that fails is reported for the log, failing open or not', async () => {
  const events: { mechanism: string; policy: string; message: string }[] = [];
  const listen = (m: unknown) => void events.push(m as { mechanism: string; policy: string; message: string });
  diagnostics.subscribe('windrose:security', listen);
  try {
    answer = { status: 503 };
    assert.equal(await run({ failOpen: true }, request()), undefined);
    assert.deepEqual(events.map((e) => [e.mechanism, e.policy, e.message]), [['extAuth', 'default/authz', 'the authorization service answered 503']]);
  } finally {
    diagnostics.unsubscribe('windrose:security', listen);
  }
});
