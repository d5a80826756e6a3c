//! End to end: the protocols a client speaks to windrose — TLS termination with SNI, ALPN h2 and
//! HTTP/1.1, h2c with prior knowledge, gRPC to an h2c backend, WebSocket upgrades, certificate reload.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import tls from 'node:tls';
import { Agent, request, WebSocket } from 'undici';
import { GATEWAY_CLASS, startBackend, type Backend } from '../helpers/backends.js';
import { createCA, tlsSecret, type CertificateAuthority, type KeyPair } from '../helpers/certs.js';
import { echoClient, grpc, startGrpcServer, type EchoClient, type GrpcServer } from '../helpers/grpc.js';
import { freePort } from '../helpers/ports.js';
import { RawConnection } from '../helpers/raw.js';
import { startWebSocketEcho, type WebSocketEcho } from '../helpers/websocket.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

// Every name the tests use resolves to loopback, so clients can send real hostnames in SNI and Host.
const loopback = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
  if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

interface Echoed { name: string; method: string; url: string; headers: Record<string, string> }

function gatewayYaml(httpPort: number, tlsPort: number, echoPort: number, grpcPort: number, wsPort: number): string {
  return `${GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: windrose
  listeners:
  - { name: http, port: ${httpPort}, protocol: HTTP }
  - name: a
    port: ${tlsPort}
    protocol: HTTPS
    hostname: a.example
    tls: { mode: Terminate, certificateRefs: [{ name: a-cert }] }
  - name: b
    port: ${tlsPort}
    protocol: HTTPS
    hostname: b.example
    tls: { certificateRefs: [{ kind: Secret, name: b-cert }] }
---
apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: echo, namespace: default }
spec: { endpoints: [{ ip: 127.0.0.1, port: ${echoPort} }] }
---
apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: ws, namespace: default }
spec: { appProtocol: kubernetes.io/ws, endpoints: [{ ip: 127.0.0.1, port: ${wsPort} }] }
---
apiVersion: v1
kind: Service
metadata: { name: grpc, namespace: default }
spec:
  ports: [{ port: 50051, appProtocol: kubernetes.io/h2c }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: grpc-1, namespace: default, labels: { kubernetes.io/service-name: grpc } }
addressType: IPv4
ports: [{ port: ${grpcPort} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: main, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /windrose.test.Echo } }]
    backendRefs: [{ name: grpc, port: 50051 }]
  - matches: [{ path: { type: PathPrefix, value: /ws } }]
    backendRefs:
    - group: windrose.dev
      kind: Backend
      name: ws
      filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-backend-filter, value: ws } ] } }]
  - matches: [{ path: { type: PathPrefix, value: /ws-weighted } }]
    backendRefs:
    - { group: windrose.dev, kind: Backend, name: ws, weight: 999999 }
    - { group: windrose.dev, kind: Backend, name: not-there, weight: 1 }
  - matches: [{ path: { type: PathPrefix, value: /ws-moved } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: moved.example, statusCode: 301 } }]
  - backendRefs: [{ group: windrose.dev, kind: Backend, name: echo }]
`;
}

function secretsYaml(a: KeyPair, b: KeyPair): string {
  return `${tlsSecret('a-cert', a)}---\n${tlsSecret('b-cert', b)}`;
}

describe('protocols through the gateway', () => {
  let ca: CertificateAuthority;
  let certA: KeyPair;
  let certB: KeyPair;
  let echo: Backend;
  let grpcServer: GrpcServer;
  let wsServer: WebSocketEcho;
  let gw: Windrose;
  let httpPort: number;
  let tlsPort: number;
  const closers: (() => unknown)[] = [];

  before(async () => {
    ca = await createCA();
    [certA, certB, echo, grpcServer, wsServer, httpPort, tlsPort] = await Promise.all([
      ca.issue(['a.example']), ca.issue(['b.example', 'www.b.example']),
      startBackend('echo'), startGrpcServer(), startWebSocketEcho(), freePort(), freePort(),
    ]);
    gw = await startWindrose({
      'gateway.yaml': gatewayYaml(httpPort, tlsPort, echo.port, grpcServer.port, wsServer.port),
      'secrets.yaml': secretsYaml(certA, certB),
    });
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    await gw?.stop();
    grpcServer?.close();
    await Promise.all([echo?.close(), wsServer?.close(), ca?.dispose()]);
  });

  /** Completes a TLS handshake with `servername` and returns what the client saw; the socket is closed. */
  async function handshake(servername: string, options: tls.ConnectionOptions = {}) {
    const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, servername, ca: ca.certPem, ...options });
    try {
      await once(socket, 'secureConnect');
      return {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError,
        fingerprint: socket.getPeerCertificate().fingerprint256,
        protocol: socket.getProtocol(),
      };
    } finally {
      socket.destroy();
    }
  }

  /** An HTTP/1.1 request over TLS with ALPN offering only http/1.1. */
  function httpsGet(host: string, path: string): Promise<{ status: number; alpn: string | false | null; body: Echoed }> {
    // https.RequestOptions omits ALPNProtocols, though a fresh agent passes it on to tls.connect.
    const options = { host, port: tlsPort, path, lookup: loopback, ca: ca.certPem, ALPNProtocols: ['http/1.1'], agent: false } as https.RequestOptions;
    return new Promise((resolve, reject) => {
      const req = https.get(options, (res) => {
        const alpn = (res.socket as tls.TLSSocket).alpnProtocol;
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
          resolve({ status: res.statusCode ?? 0, alpn, body: JSON.parse(text) as Echoed });
        });
      });
      req.on('error', reject);
    });
  }

  /** One HTTP/2 request on `session`; resolves with the response head and body text. */
  async function h2Get(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}) {
    const stream = session.request({ ':path': path, ...headers });
    stream.setEncoding('utf8');
    let text = '';
    stream.on('data', (c: string) => (text += c));
    const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
    await once(stream, 'end');
    return { status: head[':status'], headers: head, text };
  }

  function h2Connect(authority: string, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
    const session = http2.connect(authority, options);
    closers.push(() => session.close());
    return session;
  }

  describe('TLS termination', () => {
    test('each SNI name gets the certificate of its listener, verified against the test CA', async () => {
      const a = await handshake('a.example');
      assert.equal(a.authorized, true, String(a.authorizationError));
      assert.equal(a.fingerprint, certA.fingerprint256);
      const b = await handshake('b.example');
      assert.equal(b.authorized, true, String(b.authorizationError));
      assert.equal(b.fingerprint, certB.fingerprint256);
      // The second SAN of b's certificate selects it too.
      assert.equal((await handshake('www.b.example')).fingerprint, certB.fingerprint256);
    });

    test('an unknown or missing SNI name gets the first certificate, which the client then rejects for the name', async () => {
      const other = await handshake('c.example', { rejectUnauthorized: false, checkServerIdentity: () => undefined });
      assert.equal(other.fingerprint, certA.fingerprint256);
      await assert.rejects(handshake('c.example'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      // No SNI at all (a client dialing the IP) gets the same default.
      assert.equal((await handshake('', { checkServerIdentity: () => undefined })).fingerprint, certA.fingerprint256);
    });

    test('TLS 1.2 is the minimum: a TLS 1.1 client is refused, TLS 1.2 and 1.3 are accepted', async () => {
      // OpenSSL 3 forbids TLS 1.1 at its default security level; level 0 lets this client really offer it,
      // so the failure is the protocol_version alert the server sent and not a client-side refusal.
      await assert.rejects(
        handshake('a.example', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
        { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
      );
      assert.equal((await handshake('a.example', { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
      assert.equal((await handshake('a.example')).protocol, 'TLSv1.3');
    });

    test('HTTP/1.1 over TLS reaches the backend for each listener hostname, marked https', async () => {
      const a = await httpsGet('a.example', '/over-tls?x=1');
      assert.equal(a.status, 200);
      assert.equal(a.alpn, 'http/1.1');
      assert.equal(a.body.name, 'echo');
      assert.equal(a.body.url, '/over-tls?x=1');
      assert.equal(a.body.headers['x-forwarded-proto'], 'https');
      assert.equal(a.body.headers.host, `a.example:${tlsPort}`);
      const b = await httpsGet('b.example', '/b');
      assert.equal(b.status, 200);
      assert.equal(b.body.headers.host, `b.example:${tlsPort}`);
    });
  });

  describe('HTTP/2', () => {
    test('ALPN h2 on the TLS port: the request crosses as HTTP/2 and reaches the HTTP/1.1 backend', async () => {
      const session = h2Connect(`https://a.example:${tlsPort}`, { ca: ca.certPem, lookup: loopback });
      await once(session, 'connect');
      assert.equal(session.alpnProtocol, 'h2');
      const r = await h2Get(session, '/h2?via=alpn', { 'x-client': 'h2' });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const body = JSON.parse(r.text) as Echoed;
      assert.equal(body.url, '/h2?via=alpn');
      assert.equal(body.headers['x-client'], 'h2');
      assert.equal(body.headers['x-forwarded-proto'], 'https');
      assert.equal(body.headers.host, `a.example:${tlsPort}`);
      // Two streams on the one session, concurrently.
      const [one, two] = await Promise.all([h2Get(session, '/one'), h2Get(session, '/two')]);
      assert.deepEqual([(JSON.parse(one.text) as Echoed).url, (JSON.parse(two.text) as Echoed).url], ['/one', '/two']);
    });

    test('h2c with prior knowledge and HTTP/1.1 share the cleartext port', async () => {
      const session = h2Connect(`http://127.0.0.1:${httpPort}`);
      const r = await h2Get(session, '/h2c', { 'x-client': 'h2c' });
      assert.equal(r.status, 200);
      const body = JSON.parse(r.text) as Echoed;
      assert.equal(body.url, '/h2c');
      assert.equal(body.headers['x-client'], 'h2c');
      assert.equal(body.headers['x-forwarded-proto'], 'http');

      const res = await request(`http://127.0.0.1:${httpPort}/h1`, { headers: { 'x-client': 'h1' } });
      const h1 = await res.body.json() as Echoed;
      assert.equal(res.statusCode, 200);
      assert.equal(h1.url, '/h1');
      assert.equal(h1.headers['x-client'], 'h1');
    });

    test('an h2c POST body streams to the backend intact', async () => {
      const session = h2Connect(`http://127.0.0.1:${httpPort}`);
      const payload = 'x'.repeat(200_000);
      const stream = session.request({ ':path': '/upload', ':method': 'POST', 'content-type': 'text/plain' });
      stream.end(payload);
      stream.setEncoding('utf8');
      let text = '';
      stream.on('data', (c: string) => (text += c));
      const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
      await once(stream, 'end');
      assert.equal(head[':status'], 200);
      assert.equal((JSON.parse(text) as Echoed & { body: string }).body.length, payload.length);
    });

    test('a first read shorter than the HTTP/2 preface does not decide the protocol', async () => {
      // An HTTP/1.1 POST whose first read is the lone "P" the HTTP/2 preface also begins with.
      const h1 = new RawConnection(httpPort);
      closers.push(() => h1.close());
      await h1.write('P');
      // Silence has no event to await; this bounded wait lets a wrong choice show (an HTTP/2 server speaks
      // first, with SETTINGS) and keeps the rest of the request a separate read on the gateway.
      await delay(150);
      assert.equal(h1.socket.bytesRead, 0, 'the gateway answered a lone "P"');
      await h1.write(`OST /bytewise HTTP/1.1\r\nhost: 127.0.0.1:${httpPort}\r\ncontent-length: 2\r\n\r\nhi`);
      const exchange = await h1.responses(1);
      assert.equal(exchange.responses[0]?.status, 200);
      const echoed = exchange.responses[0].json<Echoed & { body: string }>();
      assert.equal(echoed.url, '/bytewise');
      assert.equal(echoed.body, 'hi');

      // The preface split in two still opens an HTTP/2 session, whose first frame is the server's SETTINGS.
      const h2 = net.connect({ host: '127.0.0.1', port: httpPort });
      closers.push(() => h2.destroy());
      await once(h2, 'connect');
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
      h2.write(preface.subarray(0, 9));
      await delay(150);
      const first = once(h2, 'data') as Promise<[Buffer]>;
      h2.write(Buffer.concat([preface.subarray(9), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      const [frame] = await first;
      assert.equal(frame[3], 4, `expected a SETTINGS frame, got ${JSON.stringify(frame.subarray(0, 16).toString('latin1'))}`);
    });
  });

  describe('gRPC to an h2c backend', () => {
    let client: EchoClient;
    before(() => {
      client = echoClient(`127.0.0.1:${httpPort}`);
      closers.push(() => client.close());
    });

    test('a unary call succeeds with request metadata, response headers and trailers intact', async () => {
      const r = await client.say('hello', { 'x-client': 'grpc-test' });
      assert.equal(r.error, undefined);
      assert.equal(r.reply?.text, 'hello');
      assert.equal(r.reply?.client, 'grpc-test');
      assert.equal(r.reply?.authority, `127.0.0.1:${httpPort}`);
      assert.equal(r.status.code, grpc.status.OK);
      assert.deepEqual(r.headers.get('x-served-by'), ['grpc-echo']);
      assert.match(String(r.headers.get('x-request-id')[0]), /^[0-9a-f-]{36}$/);
      assert.deepEqual(r.status.metadata.get('x-trailer'), ['after-body']);
    });

    test('an error status and its message arrive intact', async () => {
      const r = await client.lookup('widget');
      assert.equal(r.reply, undefined);
      assert.equal(r.error?.code, grpc.status.NOT_FOUND);
      assert.equal(r.error?.details, 'no item named widget');
      assert.equal(r.status.code, grpc.status.NOT_FOUND);
      assert.deepEqual(r.status.metadata.get('x-lookup'), ['missed']);
    });

    test('a server-streaming call delivers every message and then OK', async () => {
      const r = await client.count(50);
      assert.deepEqual(r.texts, Array.from({ length: 50 }, (_, i) => String(i + 1)));
      assert.equal(r.status.code, grpc.status.OK);
    });

    test('a hundred concurrent calls on one connection each get their own answer', async () => {
      const texts = Array.from({ length: 100 }, (_, i) => `call-${i}`);
      const results = await Promise.all(texts.map((t) => client.say(t)));
      assert.deepEqual(results.map((r) => r.reply?.text), texts);
    });

    test('a 3 MiB message crosses both ways, past HTTP/2 flow-control windows', async () => {
      const big = 'z'.repeat(3 * 1024 * 1024);
      const r = await client.say(big);
      assert.equal(r.status.code, grpc.status.OK);
      assert.equal(r.reply?.text.length, big.length);
    });

    test('gRPC works over TLS too, negotiated by ALPN on the HTTPS port', async () => {
      const secure = echoClient(`127.0.0.1:${tlsPort}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)), {
        'grpc.ssl_target_name_override': 'a.example',
        'grpc.default_authority': 'a.example',
      });
      closers.push(() => secure.close());
      const r = await secure.say('secure');
      assert.equal(r.reply?.text, 'secure');
      assert.equal(r.reply?.authority, 'a.example');
      const failed = await secure.lookup('thing');
      assert.equal(failed.error?.code, grpc.status.NOT_FOUND);
      assert.equal(failed.error?.details, 'no item named thing');
    });
  });

  describe('WebSocket', () => {
    /** An upgrade handshake on the cleartext port; resolves with what the gateway answered, 101 or not. */
    function upgrade(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
      return new Promise((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1', port: httpPort, path, agent: false,
          headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        });
        req.on('response', (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        });
        req.on('error', reject);
        req.end();
      });
    }

    async function echoes(ws: WebSocket, messages: string[]): Promise<string[]> {
      const got: string[] = [];
      const all = new Promise<void>((resolve, reject) => {
        ws.addEventListener('message', (ev) => {
          got.push(String(ev.data));
          if (got.length === messages.length) resolve();
        });
        ws.addEventListener('close', () => reject(new Error(`closed after ${got.length} of ${messages.length} messages`)));
      });
      for (const m of messages) ws.send(m);
      await all;
      return got;
    }

    async function closeCleanly(ws: WebSocket): Promise<number> {
      const closed = once(ws, 'close') as Promise<[{ code: number }]>;
      ws.close(1000, 'done');
      const [ev] = await closed;
      return ev.code;
    }

    test('messages are echoed through an upgraded cleartext connection', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/chat`);
      closers.push(() => ws.close());
      await once(ws, 'open');
      const big = 'y'.repeat(70_000);
      assert.deepEqual(await echoes(ws, ['hello', 'second message', big]), ['hello', 'second message', big]);
      assert.equal(await closeCleanly(ws), 1000);
      const seen = wsServer.handshakes.at(-1);
      assert.equal(seen?.url, '/ws/chat');
      assert.equal(seen?.headers['x-forwarded-proto'], 'http');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen?.headers['x-backend-filter'], 'ws', 'the backendRef filter ran');
    });

    test('upgrades split by the rule weights', async () => {
      // One in a million goes to an unresolvable backend (500); an even split would fail about half of these.
      const answers = await Promise.all(Array.from({ length: 16 }, () => upgrade('/ws-weighted')));
      assert.deepEqual(answers.map((a) => a.status), Array.from({ length: 16 }, () => 101));
    });

    test('a redirect filter answers an upgrade request with its redirect', async () => {
      const r = await upgrade('/ws-moved/room?x=1');
      assert.equal(r.status, 301);
      const location = new URL(String(r.headers.location));
      assert.equal(location.hostname, 'moved.example');
      assert.equal(`${location.pathname}${location.search}`, '/ws-moved/room?x=1');
      assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });

    test('messages are echoed over wss on the HTTPS port', async () => {
      const dispatcher = new Agent({ connect: { ca: ca.certPem, lookup: loopback } });
      closers.push(() => dispatcher.close());
      const ws = new WebSocket(`wss://b.example:${tlsPort}/ws/secure`, { dispatcher });
      closers.push(() => ws.close());
      await once(ws, 'open');
      assert.deepEqual(await echoes(ws, ['over', 'tls']), ['over', 'tls']);
      assert.equal(await closeCleanly(ws), 1000);
      const seen = wsServer.handshakes.at(-1);
      assert.equal(seen?.url, '/ws/secure');
      assert.equal(seen?.headers['x-forwarded-proto'], 'https');
    });
  });

  describe('certificate reload', () => {
    test('a new certificate in the Secret file is served to new connections without a restart', async () => {
      assert.equal((await handshake('a.example')).fingerprint, certA.fingerprint256);
      // An open connection made before the change must not be cut by it: that also shows nothing restarted.
      const session = h2Connect(`https://a.example:${tlsPort}`, { ca: ca.certPem, lookup: loopback });
      await once(session, 'connect');

      const renewed = await ca.issue(['a.example']);
      assert.notEqual(renewed.fingerprint256, certA.fingerprint256);
      gw.write('secrets.yaml', secretsYaml(renewed, certB));
      await waitForVersion(gw, 2);

      const fresh = await handshake('a.example');
      assert.equal(fresh.authorized, true, String(fresh.authorizationError));
      assert.equal(fresh.fingerprint, renewed.fingerprint256);
      assert.equal((await handshake('b.example')).fingerprint, certB.fingerprint256);
      // A client sending no SNI gets the port's default context, which is replaced separately from the SNI table.
      assert.equal((await handshake('', { checkServerIdentity: () => undefined })).fingerprint, renewed.fingerprint256);
      assert.equal((await httpsGet('a.example', '/renewed')).status, 200);
      await assert.rejects(
        handshake('a.example', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
        { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
        'the reloaded contexts keep the TLS 1.2 minimum',
      );

      const r = await h2Get(session, '/still-open');
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.text) as Echoed).url, '/still-open');
    });
  });
});
