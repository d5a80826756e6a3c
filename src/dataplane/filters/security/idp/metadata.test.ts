import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { IdPUnavailable } from './http.js';
import { discoveryURLs, providerMetadata } from './metadata.js';

let server: http.Server;
let origin: string;
const hits = new Map<string, number>();

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const send = (doc: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc));
    };
    if (url === '/oidc/.well-known/openid-configuration') return send({ issuer: `${origin}/oidc`, introspection_endpoint: `${origin}/oidc/introspect` });
    if (url === '/.well-known/oauth-authorization-server/as') return send({ issuer: `${origin}/as`, introspection_endpoint: `${origin}/as/introspect` });
    if (url === '/liar/.well-known/openid-configuration') return send({ issuer: 'https://someone.else' });
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('OpenID discovery appends to the issuer; RFC 8414 inserts before its path', () => {
  assert.deepEqual(discoveryURLs('https://idp.example/realms/shop/'), [
    'https://idp.example/realms/shop/.well-known/openid-configuration',
    'https://idp.example/.well-known/oauth-authorization-server/realms/shop',
  ]);
  assert.deepEqual(discoveryURLs('https://idp.example'), ['https://idp.example/.well-known/openid-configuration', 'https://idp.example/.well-known/oauth-authorization-server']);
});

test('the document is fetched once and then served from memory', async () => {
  const doc = await providerMetadata(`${origin}/oidc`);
  assert.equal(doc.introspection_endpoint, `${origin}/oidc/introspect`);
  await Promise.all([providerMetadata(`${origin}/oidc`), providerMetadata(`${origin}/oidc`)]);
  assert.equal(hits.get('/oidc/.well-known/openid-configuration'), 1);
});

test('an RFC 8414 server without OpenID discovery is found too', async () => {
  assert.equal((await providerMetadata(`${origin}/as`)).introspection_endpoint, `${origin}/as/introspect`);
});

test('a document naming another issuer is refused; failures are remembered briefly rather than retried per request', async () => {
  await assert.rejects(providerMetadata(`${origin}/liar`), (err: Error) => err instanceof IdPUnavailable && /names issuer "https:\/\/someone.else"/.test(err.message));
  await assert.rejects(providerMetadata(`${origin}/liar`), IdPUnavailable);
  assert.equal(hits.get('/liar/.well-known/openid-configuration'), 1);
  await assert.rejects(providerMetadata(`${origin}/none`), /no metadata for issuer .* \(discovery answered 404\)/);
});
