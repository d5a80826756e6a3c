import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderList } from '../../headers.js';
import type { LocalResponse, ProxyRequest, ProxyResponseHead } from '../filter.js';
import { corsFilter } from './cors.js';

const req = (method: string, headers: Record<string, string>) => ({ method, headers: new HeaderList(Object.entries(headers).flat()) }) as unknown as ProxyRequest;
const head = (): ProxyResponseHead => ({ status: 200, headers: new HeaderList([]) });

test('a credentialed policy echoes the origin, never "*", and varies on it', () => {
  const f = corsFilter({ allowOrigins: ['*'], allowCredentials: true });
  const out = f.onRequest!(req('OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'PUT' })) as LocalResponse;
  assert.deepEqual(out.headers, [['access-control-allow-origin', 'https://a.example'], ['vary', 'Origin'], ['access-control-allow-credentials', 'true']]);
});

test('"*" without credentials answers "*"', () => {
  const f = corsFilter({ allowOrigins: ['*'] });
  const res = head();
  f.onResponse!(res, req('GET', { origin: 'https://a.example' }));
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('vary'), undefined);
});

test('"*" for methods and headers is sent as it is, and named out when credentials are allowed (browsers take it literally then)', () => {
  const preflight = req('OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-one, x-two' });
  const header = (out: LocalResponse, name: string) => out.headers?.find(([k]) => k === name)?.[1];
  const open = corsFilter({ allowOrigins: ['https://a.example'], allowMethods: ['*'], allowHeaders: ['*'] }).onRequest!(preflight) as LocalResponse;
  assert.equal(header(open, 'access-control-allow-methods'), '*');
  assert.equal(header(open, 'access-control-allow-headers'), '*');
  const credentialed = corsFilter({ allowOrigins: ['https://a.example'], allowMethods: ['*'], allowHeaders: ['*'], allowCredentials: true }).onRequest!(preflight) as LocalResponse;
  assert.equal(header(credentialed, 'access-control-allow-methods'), 'PUT');
  assert.equal(header(credentialed, 'access-control-allow-headers'), 'x-one, x-two');
});

test('OPTIONS without Access-Control-Request-Method is not a preflight and goes to the backend', () => {
  const f = corsFilter({ allowOrigins: ['https://a.example'] });
  assert.equal(f.onRequest!(req('OPTIONS', { origin: 'https://a.example' })), undefined);
});

test('origins compare case-insensitively; a wildcard needs a subdomain and the same scheme', () => {
  const f = corsFilter({ allowOrigins: ['https://*.example.com'] });
  const allowed = (origin: string) => {
    const res = head();
    f.onResponse!(res, req('GET', { origin }));
    return res.headers.get('access-control-allow-origin') !== undefined;
  };
  assert.equal(allowed('https://API.Example.com'), true);
  assert.equal(allowed('https://a.b.example.com'), true);
  assert.equal(allowed('https://example.com'), false);
  assert.equal(allowed('http://api.example.com'), false);
  assert.equal(allowed('https://api.example.com.evil.net'), false);
});
