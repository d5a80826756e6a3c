import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { basicCredentials, callIdP, IdPUnavailable } from './http.js';

let server: http.Server;
let base: string;
const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/silent') return;
      if (req.url === '/huge') {
        res.end(JSON.stringify({ pad: 'x'.repeat(300 * 1024) }));
        return;
      }
      if (req.url === '/html') {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>bad gateway</h1>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ active: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('client_secret_basic form-encodes id and secret before base64 (RFC 6749 section 2.3.1)', () => {
  const decoded = Buffer.from(basicCredentials('my client', 'p@ss:w/rd+%').slice('Basic '.length), 'base64').toString();
  assert.equal(decoded, 'my+client:p%40ss%3Aw%2Frd%2B%25');
});

test('a form POST carries the credentials and gets the parsed JSON answer', async () => {
  const answer = await callIdP({ url: `${base}/introspect?x=1`, form: { token: 'abc', token_type_hint: 'access_token' }, authorization: 'Basic Zm9vOmJhcg==', timeoutMs: 2000 });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, { active: true });
  const last = seen.at(-1)!;
  assert.equal(last.url, '/introspect?x=1');
  assert.equal(last.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(last.headers.authorization, 'Basic Zm9vOmJhcg==');
  assert.equal(last.body, 'token=abc&token_type_hint=access_token');
});

test('a body that is not JSON is reported as such, with its status', async () => {
  const answer = await callIdP({ url: `${base}/html`, timeoutMs: 2000 });
  assert.equal(answer.status, 502);
  assert.equal(answer.json, undefined);
});

test('no answer in time, an answer too large, or no server at all is IdPUnavailable', async () => {
  await assert.rejects(callIdP({ url: `${base}/silent`, timeoutMs: 100 }), (err: Error) => err instanceof IdPUnavailable && /did not answer within 100ms/.test(err.message));
  await assert.rejects(callIdP({ url: `${base}/huge`, timeoutMs: 2000 }), (err: Error) => err instanceof IdPUnavailable && /more than/.test(err.message));
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(callIdP({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 2000 }), IdPUnavailable);
});
