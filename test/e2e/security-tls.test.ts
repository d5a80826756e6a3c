//! End to end: TLS at the edge through the real CLI — client certificates (required, optional, CRL,
//! the verified certificate forwarded in a header), versions and ciphers, certificate reload without
//! a restart — and TLS to backends with BackendTLSPolicy.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { request } from 'undici';
import { stringify } from 'yaml';
import { GATEWAY_CLASS, startBackend, type Backend } from '../helpers/backends.js';
import { createCA, tlsSecret, type CertificateAuthority, type KeyPair } from '../helpers/certs.js';
import { freePort } from '../helpers/ports.js';
import { docs, securityPolicy } from '../helpers/resources.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

interface Echoed { url: string; headers: Record<string, string | undefined>; servername?: string }

const HOSTS = ['partner.example', 'optional.example', 'open.example', 'strict.example', 'ciphers.example', 'modern.example'];

function yaml(value: Record<string, unknown>): string {
  return stringify(value);
}

function tlsPolicy(name: string, target: { gateway: string; listener?: string }, tlsBlock: Record<string, unknown>): string {
  return securityPolicy(name, { tls: tlsBlock }, { kind: 'Gateway', name: target.gateway, ...(target.listener ? { sectionName: target.listener } : {}) });
}

interface Ports { http: number; partners: number; shared: number; ciphers: number; modern: number; plain: number }

function gatewayYaml(p: Ports, echo: number, tlsBackend: number): string {
  const https = (name: string, port: number, hostname: string) => ({ name, port, protocol: 'HTTPS', hostname, tls: { certificateRefs: [{ name: 'server-cert' }] } });
  const validation = { caCertificateRefs: [{ name: 'partner-ca' }] };
  const tlsBackends = ['good', 'wrong-host', 'untrusted', 'broken', 'by-san'];
  return docs(
    GATEWAY_CLASS,
    yaml({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
      spec: {
        gatewayClassName: 'windrose',
        listeners: [
          { name: 'http', port: p.http, protocol: 'HTTP' },
          https('partners', p.partners, 'partner.example'),
          https('optional', p.shared, 'optional.example'),
          https('open', p.shared, 'open.example'),
          https('strict', p.shared, 'strict.example'),
          https('ciphers', p.ciphers, 'ciphers.example'),
          https('modern', p.modern, 'modern.example'),
        ],
      },
    }),
    yaml({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'plain', namespace: 'default' },
      spec: { gatewayClassName: 'windrose', listeners: [{ name: 'http', port: p.plain, protocol: 'HTTP' }] },
    }),
    yaml({ apiVersion: 'windrose.dev/v1alpha1', kind: 'Backend', metadata: { name: 'echo', namespace: 'default' }, spec: { endpoints: [{ ip: '127.0.0.1', port: echo }] } }),
    ...tlsBackends.map((name) => yaml({ apiVersion: 'windrose.dev/v1alpha1', kind: 'Backend', metadata: { name: `tls-${name}`, namespace: 'default' }, spec: { endpoints: [{ ip: '127.0.0.1', port: tlsBackend }] } })),
    yaml({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'default' }, spec: { ports: [{ name: 'https', port: 443 }] } }),
    yaml({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'orders-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'orders' } },
      addressType: 'IPv4', ports: [{ name: 'https', port: tlsBackend }], endpoints: [{ addresses: ['127.0.0.1'] }],
    }),
    yaml({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'main', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gw' }, { name: 'plain' }],
        rules: [
          { backendRefs: [{ group: 'windrose.dev', kind: 'Backend', name: 'echo' }] },
          ...tlsBackends.map((name) => ({
            matches: [{ path: { type: 'PathPrefix', value: `/tls-${name}` } }],
            backendRefs: [{ group: 'windrose.dev', kind: 'Backend', name: `tls-${name}` }],
          })),
          { matches: [{ path: { type: 'PathPrefix', value: '/orders' } }], backendRefs: [{ name: 'orders', port: 443 }] },
        ],
      },
    }),
    tlsPolicy('partners', { gateway: 'gw', listener: 'partners' }, {
      clientValidation: { ...validation, crl: { refs: [{ name: 'partner-ca' }] } },
      forwardClientCertificate: { header: 'X-Client-Cert' },
    }),
    tlsPolicy('optional', { gateway: 'gw', listener: 'optional' }, {
      clientValidation: { caCertificateRefs: [{ kind: 'ConfigMap', name: 'partner-ca-bundle' }], optional: true },
      forwardClientCertificate: { header: 'x-client-cert' },
    }),
    tlsPolicy('strict', { gateway: 'gw', listener: 'strict' }, { clientValidation: validation }),
    tlsPolicy('ciphers', { gateway: 'gw', listener: 'ciphers' }, { ciphers: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] }),
    tlsPolicy('modern', { gateway: 'gw', listener: 'modern' }, { minVersion: 'TLSv1.3' }),
    tlsPolicy('plain', { gateway: 'plain' }, { clientValidation: validation }),
    ...[
      ['good', { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'backend-ca' }], hostname: 'orders.internal' }],
      ['wrong-host', { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'backend-ca' }], hostname: 'billing.internal' }],
      ['untrusted', { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'partner-ca-bundle' }], hostname: 'orders.internal' }],
      ['broken', { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'no-such-bundle' }], hostname: 'orders.internal' }],
      ['by-san', {
        caCertificateRefs: [{ group: '', kind: 'Secret', name: 'backend-ca-secret' }], hostname: 'sni.internal',
        subjectAltNames: [{ type: 'URI', uri: 'spiffe://backends/orders' }],
      }],
    ].map(([name, validation]) => yaml({
      apiVersion: name === 'by-san' ? 'gateway.networking.k8s.io/v1alpha3' : 'gateway.networking.k8s.io/v1',
      kind: 'BackendTLSPolicy', metadata: { name: `tls-${name as string}`, namespace: 'default' },
      spec: { targetRefs: [{ group: 'windrose.dev', kind: 'Backend', name: `tls-${name as string}` }], validation },
    })),
    yaml({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'BackendTLSPolicy', metadata: { name: 'orders', namespace: 'default' },
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: 'orders', sectionName: 'https' }],
        validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'backend-ca' }], hostname: 'orders.internal' },
      },
    }),
  );
}

/** The Secrets and ConfigMaps windrose reads certificates from; rewritten by the reload test. */
function secretsYaml(server: KeyPair, partnerCA: CertificateAuthority, crl: string, backendCA: CertificateAuthority): string {
  return docs(
    tlsSecret('server-cert', server),
    yaml({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'partner-ca', namespace: 'default' }, stringData: { 'ca.crt': partnerCA.certPem, 'ca.crl': crl } }),
    yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'partner-ca-bundle', namespace: 'default' }, data: { 'ca.crt': partnerCA.certPem } }),
    yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'backend-ca', namespace: 'default' }, data: { 'ca.crt': backendCA.certPem } }),
    yaml({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'backend-ca-secret', namespace: 'default' }, data: { 'ca.crt': Buffer.from(backendCA.certPem).toString('base64') } }),
  );
}

interface Answer { status: number; body: string; socket: tls.TLSSocket }

describe('TLS at the edge', () => {
  let serverCA: CertificateAuthority;
  let partnerCA: CertificateAuthority;
  let otherCA: CertificateAuthority;
  let backendCA: CertificateAuthority;
  let serverCert: KeyPair;
  let alice: KeyPair;
  let bob: KeyPair;
  let revoked: KeyPair;
  let stranger: KeyPair;
  let echo: Backend;
  let tlsBackend: https.Server;
  const tlsSeen: Echoed[] = [];
  let gw: Windrose;
  let ports: Ports;

  before(async () => {
    [serverCA, partnerCA, otherCA, backendCA, echo] = await Promise.all([createCA('edge CA'), createCA('partner CA'), createCA('other CA'), createCA('backend CA'), startBackend('echo')]);
    [serverCert, alice, bob, revoked, stranger] = await Promise.all([
      serverCA.issue(HOSTS),
      partnerCA.issue(['alice.partner.example'], { client: true, uris: ['spiffe://partners/alice'], subject: '/O=Acme, Inc./CN=alice' }),
      partnerCA.issue(['bob.partner.example'], { client: true }),
      partnerCA.issue(['mallory.partner.example'], { client: true }),
      otherCA.issue(['alice.partner.example'], { client: true, subject: '/O=Acme, Inc./CN=alice' }),
    ]);
    await partnerCA.revoke(revoked);
    const backendCert = await backendCA.issue(['orders.internal'], { uris: ['spiffe://backends/orders'] });
    tlsBackend = https.createServer({ cert: backendCert.certPem, key: backendCert.keyPem }, (req, res) => {
      const seen: Echoed = { url: req.url ?? '', headers: req.headers as Echoed['headers'], servername: (req.socket as tls.TLSSocket).servername || undefined };
      tlsSeen.push(seen);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
    });
    // An upgrade is answered 101 and then echoes, saying which server name it was reached by.
    tlsBackend.on('upgrade', (_req, socket: tls.TLSSocket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\nx-servername: ${socket.servername}\r\n\r\n`);
      socket.pipe(socket);
    });
    tlsBackend.listen(0, '127.0.0.1');
    await once(tlsBackend, 'listening');
    const [h, a, s, c, m, p] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    ports = { http: h, partners: a, shared: s, ciphers: c, modern: m, plain: p };
    gw = await startWindrose({
      'gateway.yaml': gatewayYaml(ports, echo.port, (tlsBackend.address() as AddressInfo).port),
      'secrets.yaml': secretsYaml(serverCert, partnerCA, await partnerCA.crl(), backendCA),
    });
  });

  after(async () => {
    await gw?.stop();
    tlsBackend?.closeAllConnections();
    tlsBackend?.close();
    await Promise.all([echo?.close(), serverCA?.dispose(), partnerCA?.dispose(), otherCA?.dispose(), backendCA?.dispose()]);
  });

  /** One HTTP/1.1 request over a fresh TLS connection to `port`, SNI `servername`, Host `host` (the SNI by default). */
  function get(port: number, servername: string, path: string, opts: { host?: string; client?: KeyPair; headers?: Record<string, string>; tls?: tls.ConnectionOptions } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port, path, servername, agent: false, ca: serverCA.certPem,
        headers: { host: opts.host ?? servername, ...opts.headers },
        ...(opts.client ? { cert: opts.client.certPem, key: opts.client.keyPem } : {}),
        ...opts.tls,
      }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: res.socket as tls.TLSSocket }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The handshake alone: what the client negotiated, with the socket closed. */
  async function handshake(port: number, servername: string, options: tls.ConnectionOptions = {}) {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: serverCA.certPem, ...options });
    try {
      await once(socket, 'secureConnect');
      return { protocol: socket.getProtocol(), cipher: socket.getCipher().name, serial: socket.getPeerCertificate().serialNumber };
    } finally {
      socket.destroy();
    }
  }

  const echoed = (a: Answer) => JSON.parse(a.body) as Echoed;
  const reachedBackend = (path: string) => echo.received.some((r) => r.url === path);
  const forwarded = (c: KeyPair, extra = '') => `Hash=${c.fingerprint256.replaceAll(':', '').toLowerCase()};Subject="CN=alice,O=Acme\\\\, Inc."${extra}`;

  describe('a listener that requires a client certificate', () => {
    test('a client without a certificate fails the handshake with the certificate_required alert', async () => {
      await assert.rejects(get(ports.partners, 'partner.example', '/no-cert'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
      // TLS 1.2 has no such alert; OpenSSL answers handshake_failure.
      await assert.rejects(get(ports.partners, 'partner.example', '/no-cert-12', { tls: { maxVersion: 'TLSv1.2' } }), { message: /alert handshake failure/ });
      assert.equal(reachedBackend('/no-cert') || reachedBackend('/no-cert-12'), false);
    });

    test('a certificate from another CA, or a revoked one, gets the connection closed before any request is served', async () => {
      await assert.rejects(get(ports.partners, 'partner.example', '/stranger', { client: stranger }));
      await assert.rejects(get(ports.partners, 'partner.example', '/revoked', { client: revoked }));
      assert.equal(reachedBackend('/stranger') || reachedBackend('/revoked'), false);
    });

    test('a valid certificate is served, with its hash, subject and SANs in the header the policy names', async () => {
      const a = await get(ports.partners, 'partner.example', '/alice', { client: alice });
      assert.equal(a.status, 200);
      assert.equal(echoed(a).headers['x-client-cert'], forwarded(alice, ';URI=spiffe://partners/alice;DNS=alice.partner.example'));
      const b = await get(ports.partners, 'partner.example', '/bob', { client: bob });
      assert.equal(echoed(b).headers['x-client-cert'], `Hash=${bob.fingerprint256.replaceAll(':', '').toLowerCase()};Subject="CN=bob.partner.example";DNS=bob.partner.example`);
    });

    test('a copy of the header sent by the client is replaced, never passed on', async () => {
      const a = await get(ports.partners, 'partner.example', '/forged', { client: alice, headers: { 'x-client-cert': 'Subject="CN=admin"' } });
      const seen = echo.received.filter((r) => r.url === '/forged');
      assert.equal(seen.length, 1);
      assert.equal(seen[0].rawHeaders.filter((h) => h.toLowerCase() === 'x-client-cert').length, 1);
      assert.equal(echoed(a).headers['x-client-cert'], forwarded(alice, ';URI=spiffe://partners/alice;DNS=alice.partner.example'));
    });

    test('over HTTP/2 every request on the connection carries the certificate', async () => {
      const session = http2.connect(`https://127.0.0.1:${ports.partners}`, { servername: 'partner.example', ca: serverCA.certPem, cert: alice.certPem, key: alice.keyPem });
      try {
        for (const path of ['/h2-1', '/h2-2']) {
          const stream = session.request({ ':path': path, ':authority': 'partner.example' });
          let body = '';
          stream.setEncoding('utf8').on('data', (c: string) => (body += c));
          await once(stream, 'end');
          assert.equal((JSON.parse(body) as Echoed).headers['x-client-cert'], forwarded(alice, ';URI=spiffe://partners/alice;DNS=alice.partner.example'));
        }
      } finally {
        session.close();
      }
    });

    test('TLS 1.2 is the default minimum: a TLS 1.1 or 1.0 client is refused with protocol_version', async () => {
      // OpenSSL 3 forbids TLS 1.1 at its default security level; level 0 lets this client really offer it.
      for (const version of ['TLSv1', 'TLSv1.1'] as const) {
        await assert.rejects(
          handshake(ports.partners, 'partner.example', { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', cert: alice.certPem, key: alice.keyPem }),
          { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
        );
      }
      assert.equal((await handshake(ports.partners, 'partner.example', { maxVersion: 'TLSv1.2', cert: alice.certPem, key: alice.keyPem })).protocol, 'TLSv1.2');
    });
  });

  describe('listeners sharing a port, each with its own validation', () => {
    test('optional: a client without a certificate is served, and a forged header is removed', async () => {
      const a = await get(ports.shared, 'optional.example', '/optional-anonymous', { headers: { 'x-client-cert': 'Subject="CN=admin"' } });
      assert.equal(a.status, 200);
      assert.equal(echoed(a).headers['x-client-cert'], undefined);
    });

    test('optional: a valid certificate (CA from a ConfigMap) is forwarded', async () => {
      const a = await get(ports.shared, 'optional.example', '/optional-alice', { client: alice });
      assert.equal(echoed(a).headers['x-client-cert'], forwarded(alice, ';URI=spiffe://partners/alice;DNS=alice.partner.example'));
    });

    test('optional: a certificate that does not verify is still refused, over HTTP/1.1 and HTTP/2', async () => {
      await assert.rejects(get(ports.shared, 'optional.example', '/optional-stranger', { client: stranger }));
      const session = http2.connect(`https://127.0.0.1:${ports.shared}`, { servername: 'optional.example', ca: serverCA.certPem, cert: stranger.certPem, key: stranger.keyPem });
      // The session fails (its socket is closed), which is the point: only its closing is awaited.
      const closed = new Promise((resolve) => session.on('close', resolve));
      session.on('error', () => undefined);
      session.request({ ':path': '/optional-stranger-h2', ':authority': 'optional.example' }).on('error', () => undefined);
      await closed;
      assert.equal(reachedBackend('/optional-stranger') || reachedBackend('/optional-stranger-h2'), false);
      assert.equal((await get(ports.shared, 'optional.example', '/optional-after')).status, 200);
    });

    test('required on a shared port: without a certificate the connection is closed before any request', async () => {
      await assert.rejects(get(ports.shared, 'strict.example', '/strict-anonymous'));
      assert.equal(reachedBackend('/strict-anonymous'), false);
      assert.equal((await get(ports.shared, 'strict.example', '/strict-alice', { client: alice })).status, 200);
    });

    test('a listener without validation on the same port ignores certificates', async () => {
      assert.equal((await get(ports.shared, 'open.example', '/open')).status, 200);
      const a = await get(ports.shared, 'open.example', '/open-stranger', { client: stranger });
      assert.equal(a.status, 200);
      assert.equal(echoed(a).headers['x-client-cert'], undefined);
    });

    test('a handshake made for another host does not open a host that requires a certificate: 421', async () => {
      const a = await get(ports.shared, 'open.example', '/fronted', { host: 'strict.example', client: alice });
      assert.equal(a.status, 421);
      assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'misdirected_request');
      assert.equal(reachedBackend('/fronted'), false);
    });

    test('a listener without TLS under a policy that requires certificates refuses with 403', async () => {
      const res = await request(`http://127.0.0.1:${ports.plain}/plain`);
      assert.equal(res.statusCode, 403);
      assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'client_certificate_required');
    });
  });

  describe('versions and ciphers', () => {
    test('a configured TLS 1.2 cipher list is what the port negotiates', async () => {
      const offered = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384';
      assert.equal((await handshake(ports.ciphers, 'ciphers.example', { maxVersion: 'TLSv1.2', ciphers: offered })).cipher, 'ECDHE-ECDSA-AES256-GCM-SHA384');
      await assert.rejects(handshake(ports.ciphers, 'ciphers.example', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
      // The default port serves the default list, AES-128 included.
      assert.equal((await handshake(ports.partners, 'partner.example', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', cert: alice.certPem, key: alice.keyPem })).cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    });

    test('a configured TLS 1.3 suite is the one TLS 1.3 clients get', async () => {
      const h = await handshake(ports.ciphers, 'ciphers.example');
      assert.equal(h.protocol, 'TLSv1.3');
      assert.equal(h.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
    });

    test('minVersion TLSv1.3 refuses a TLS 1.2 client', async () => {
      await assert.rejects(handshake(ports.modern, 'modern.example', { maxVersion: 'TLSv1.2' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
      assert.equal((await handshake(ports.modern, 'modern.example')).protocol, 'TLSv1.3');
    });
  });

  describe('upstream TLS with BackendTLSPolicy', () => {
    const http = (path: string) => request(`http://127.0.0.1:${ports.http}${path}`, { headers: { host: 'shop.example' } });

    test('a Backend is reached over TLS with the policy hostname as SNI, whatever the Host', async () => {
      const res = await http('/tls-good');
      assert.equal(res.statusCode, 200);
      const seen = (await res.body.json()) as Echoed;
      assert.equal(seen.servername, 'orders.internal');
      assert.equal(seen.headers.host, 'shop.example');
    });

    test('an upgraded connection reaches the backend over TLS too', async () => {
      const socket = net.connect(ports.http, '127.0.0.1');
      try {
        socket.setEncoding('utf8');
        socket.write('GET /tls-good/ws HTTP/1.1\r\nHost: shop.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
        let seen = '';
        const until = async (text: string) => {
          while (!seen.includes(text)) seen += (await once(socket, 'data') as [string])[0];
        };
        await until('\r\n\r\n');
        assert.match(seen, /^HTTP\/1\.1 101 /);
        assert.match(seen, /x-servername: orders\.internal\r\n/);
        socket.write('ping over tls');
        await until('ping over tls');
      } finally {
        socket.destroy();
      }
    });

    test('a Service port named by sectionName is reached over TLS', async () => {
      const res = await http('/orders');
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as Echoed).servername, 'orders.internal');
    });

    test('subjectAltNames replace the hostname check, which then only sets SNI', async () => {
      const res = await http('/tls-by-san');
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as Echoed).servername, 'sni.internal');
    });

    test('a certificate for another name, or from a CA the policy does not trust, is 503 upstream_connect_failed', async () => {
      const before = tlsSeen.length;
      for (const path of ['/tls-wrong-host', '/tls-untrusted']) {
        const res = await http(path);
        assert.equal(res.statusCode, 503, path);
        assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'upstream_connect_failed');
      }
      assert.equal(tlsSeen.length, before, 'nothing was sent to a backend that failed verification');
    });

    test('a policy whose CA cannot be resolved leaves its backend unresolved (500) and says why in /status', async () => {
      const res = await http('/tls-broken');
      assert.equal(res.statusCode, 500);
      assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'backend_not_resolved');
      const status = (await (await request(`${gw.admin}/status`)).body.json()) as {
        resources: { kind: string; name: string; ancestors?: { conditions: { type: string; status: string; reason: string }[] }[] }[];
      };
      const conditions = (name: string) => status.resources.find((r) => r.kind === 'BackendTLSPolicy' && r.name === name)?.ancestors?.[0]?.conditions
        .map((c) => `${c.type}=${c.status}/${c.reason}`);
      assert.deepEqual(conditions('tls-broken'), ['Accepted=False/NoValidCACertificate', 'ResolvedRefs=False/InvalidCACertificateRef']);
      assert.deepEqual(conditions('tls-good'), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
      assert.deepEqual(conditions('orders'), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
    });
  });

  describe('reload without restart', () => {
    test('a new server certificate and CRL apply to new handshakes; open connections are not cut', async () => {
      const session = http2.connect(`https://127.0.0.1:${ports.partners}`, { servername: 'partner.example', ca: serverCA.certPem, cert: bob.certPem, key: bob.keyPem });
      try {
        await once(session, 'connect');
        const renewed = await serverCA.issue(HOSTS);
        const before = await handshake(ports.partners, 'partner.example', { cert: alice.certPem, key: alice.keyPem });
        assert.equal(before.serial, new X509Certificate(serverCert.certPem).serialNumber);
        await partnerCA.revoke(bob);
        gw.write('secrets.yaml', secretsYaml(renewed, partnerCA, await partnerCA.crl(), backendCA));
        await waitForVersion(gw, 2);

        const after = await handshake(ports.partners, 'partner.example', { cert: alice.certPem, key: alice.keyPem });
        assert.equal(after.serial, new X509Certificate(renewed.certPem).serialNumber);
        assert.notEqual(after.serial, before.serial);
        await assert.rejects(get(ports.partners, 'partner.example', '/bob-revoked', { client: bob }));
        assert.equal(reachedBackend('/bob-revoked'), false);

        // Bob's connection from before the reload is not cut: a CRL, like a certificate, applies to new handshakes.
        const stream = session.request({ ':path': '/bob-still-open', ':authority': 'partner.example' });
        const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
        stream.resume();
        await once(stream, 'end');
        assert.equal(head[':status'], 200);
        assert.equal(reachedBackend('/bob-still-open'), true);
      } finally {
        session.close();
      }
    });
  });
});
