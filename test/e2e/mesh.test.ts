//! End to end: a mesh of real `windrose control` and `windrose sidecar` processes on loopback, with
//! real applications behind the sidecars. Calls go app -> its sidecar (outbound, as an HTTP_PROXY
//! client) -> the destination's sidecar (inbound, mutual TLS) -> the destination app.

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { after, test } from 'node:test';
import { startBackend, type Backend } from '../helpers/backends.js';
import { createCA } from '../helpers/certs.js';
import { startLoad } from '../helpers/load.js';
import { callThrough, converged, proxies, startMeshControl, startSidecar, type MeshControl, type Sidecar } from '../helpers/mesh.js';
import { until } from '../helpers/metrics.js';
import { rawExchange } from '../helpers/raw.js';
import { startWebSocketEcho } from '../helpers/websocket.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function backend(name: string): Promise<Backend> {
  const b = await startBackend(name);
  cleanups.push(() => b.close());
  return b;
}

async function control(files: Record<string, string>, opts: Parameters<typeof startMeshControl>[1] = {}): Promise<MeshControl> {
  const c = await startMeshControl(files, opts);
  cleanups.push(() => c.dispose());
  return c;
}

async function sidecar(c: MeshControl, opts: Parameters<typeof startSidecar>[1]): Promise<Sidecar> {
  const s = await startSidecar(c, opts);
  cleanups.push(() => s.stop());
  return s;
}

function service(name: string, port = 9080, namespace = 'default'): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ports: [{ name: http, port: ${port} }]
---
`;
}

/** Waits until a call through `from` to `url` is answered by the app named `app`. */
function reachable(from: Sidecar, url: string, app: string) {
  return until(`${url} answered by ${app}`, async () => {
    const res = await callThrough(from, url);
    return res.status === 200 && res.headers['x-backend'] === app ? res : undefined;
  }, 20_000);
}

function plainGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function tlsGet(port: number, options: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', ...options }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

test('sidecars speak mutual TLS, pass the caller identity on, and a STRICT inbound refuses plaintext', { timeout: 60_000 }, async () => {
  const [reviewsApp, webApp] = [await backend('reviews'), await backend('web')];
  const c = await control({ 'mesh.yaml': service('reviews') });
  const reviews = await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });

  const res = await reachable(web, 'http://reviews.default:9080/hello', 'reviews');
  const echo = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
  assert.equal(echo.url, '/hello');
  assert.equal(echo.headers['x-forwarded-client-cert'], 'URI=spiffe://cluster.local/ns/default/sa/web');
  for (const host of ['reviews', 'reviews.default.svc', 'reviews.default.svc.cluster.local:9080']) {
    assert.equal((await callThrough(web, `http://${host}/x`)).headers['x-backend'], 'reviews', host);
  }
  const unknown = await callThrough(web, 'http://ratings.default/x');
  assert.equal(unknown.status, 404);

  const plain = await plainGet(reviews.inbound);
  assert.equal(plain.status, 403);
  assert.equal((JSON.parse(plain.body) as { error: { code: string } }).error.code, 'mtls_required');
  const upgrade = await rawExchange(reviews.inbound, 'GET /ws HTTP/1.1\r\nHost: reviews\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.equal(upgrade.responses[0]?.status, 403, 'a plaintext upgrade is refused too');
  assert.equal((upgrade.responses[0].json() as { error: { code: string } }).error.code, 'mtls_required');
  await assert.rejects(tlsGet(reviews.inbound, { rejectUnauthorized: false }), 'TLS without a client certificate fails the handshake');
  const stranger = await createCA('not the mesh');
  const forged = await stranger.issue(['web.default']);
  await assert.rejects(tlsGet(reviews.inbound, { rejectUnauthorized: false, cert: forged.certPem, key: forged.keyPem }), 'a certificate from another CA fails the handshake');
  assert.equal(reviewsApp.received.filter((e) => e.url === '/').length, 0, 'nothing unauthenticated reached the app');
});

/** A WebSocket opening handshake through `from`'s outbound port; resolves with the switched socket, or undefined when refused. */
function openWebSocket(from: Sidecar, url: string, absoluteForm = false): Promise<import('node:net').Socket | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: from.outbound, path: absoluteForm ? url : new URL(url).pathname, agent: false,
      headers: { host: new URL(url).host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (_res, socket) => resolve(socket as import('node:net').Socket));
    req.on('response', (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One masked text frame out (RFC 6455 5.3), and the echo's unmasked frame back. */
function echoOnce(socket: import('node:net').Socket, text: string): Promise<string> {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.subarray(2, 2 + (chunk[1] & 0x7f)).toString()));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  });
}

test('a WebSocket through two sidecars rides their mutual TLS, with the caller identity passed on', { timeout: 60_000 }, async () => {
  const chatApp = await startWebSocketEcho();
  cleanups.push(() => chatApp.close());
  const webApp = await backend('web');
  const c = await control({ 'mesh.yaml': service('chat') });
  await sidecar(c, { serviceAccount: 'chat', services: ['chat'], appPort: chatApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  const socket = await until('the chat service accepts the upgrade', () => openWebSocket(web, 'http://chat.default:9080/ws'), 20_000);
  try {
    assert.equal(await echoOnce(socket, 'hello over the mesh'), 'hello over the mesh');
    assert.equal(chatApp.handshakes.at(-1)?.headers['x-forwarded-client-cert'], 'URI=spiffe://cluster.local/ns/default/sa/web');
  } finally {
    socket.destroy();
  }
  // As an HTTP_PROXY client sends it: the absolute-form target names the service, and the app gets the path alone.
  const proxied = await openWebSocket(web, 'http://chat.default:9080/ws/proxied', true);
  assert.ok(proxied !== undefined, 'the upgrade in absolute form was accepted');
  proxied.destroy();
  assert.equal(chatApp.handshakes.at(-1)?.url, '/ws/proxied');
});

test('PERMISSIVE inbound also serves plaintext callers, without an identity', { timeout: 60_000 }, async () => {
  const app = await backend('legacy');
  const c = await control({ 'mesh.yaml': service('legacy') });
  const s = await sidecar(c, { serviceAccount: 'legacy', services: ['legacy'], appPort: app.port, mode: 'PERMISSIVE' });
  const plain = await plainGet(s.inbound);
  assert.equal(plain.status, 200);
  const echo = JSON.parse(plain.body) as { headers: Record<string, string> };
  assert.equal(echo.headers['x-forwarded-client-cert'], undefined);
});

/** Answers an app could send that are not HTTP a client can trust, by path. */
const GARBAGE: Record<string, string> = {
  '/ssh': 'SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n',
  '/status': 'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n',
  '/header': 'HTTP/1.1 200 OK\r\nBad Header: v\r\nContent-Length: 0\r\n\r\n',
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  '/bad-length': 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
};

test('a sidecar answers its app\'s invalid HTTP with 502 upstream_bad_response and a dropped connection with 502 upstream_reset', { timeout: 60_000 }, async () => {
  const app = await startBackend('broken', (req, res) => {
    const garbage = GARBAGE[req.url ?? ''];
    if (garbage === undefined) res.socket?.destroy();
    else res.socket?.end(garbage);
    return true;
  });
  cleanups.push(() => app.close());
  const c = await control({ 'mesh.yaml': service('broken') });
  const s = await sidecar(c, { serviceAccount: 'broken', services: ['broken'], appPort: app.port, mode: 'PERMISSIVE' });
  for (const path of Object.keys(GARBAGE)) {
    const r = await plainGet(s.inbound, path);
    assert.equal(r.status, 502, path);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'upstream_bad_response', path);
  }
  const reset = await plainGet(s.inbound, '/reset');
  assert.equal(reset.status, 502);
  assert.equal((JSON.parse(reset.body) as { error: { code: string } }).error.code, 'upstream_reset');
  assert.equal(app.received.length, Object.keys(GARBAGE).length + 1, 'every request reached the app');
});

test('AuthorizationPolicy: the allowed caller is served, another identity gets 403, DENY wins over ALLOW', { timeout: 60_000 }, async () => {
  const [reviewsApp, webApp, otherApp] = [await backend('reviews'), await backend('web'), await backend('other')];
  const policy = `apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews-callers, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/web"] } }]
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin*"] } }]
`;
  const c = await control({ 'mesh.yaml': service('reviews'), 'policy.yaml': policy });
  const reviews = await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port, labels: { app: 'reviews' } });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  const other = await sidecar(c, { serviceAccount: 'other', appPort: otherApp.port });

  await reachable(web, 'http://reviews.default:9080/ok', 'reviews');
  const denied = await callThrough(other, 'http://reviews.default:9080/ok');
  assert.equal(denied.status, 403);
  assert.equal((JSON.parse(denied.body) as { error: { code: string } }).error.code, 'access_denied');
  const admin = await callThrough(web, 'http://reviews.default:9080/admin/users');
  assert.equal(admin.status, 403);
  assert.equal(reviewsApp.received.filter((e) => e.url.startsWith('/admin')).length, 0);

  const metrics = await (await fetch(`${reviews.admin}/metrics`)).text();
  const denials = metrics.split('\n').filter((l) => l.startsWith('windrose_authorization_decisions_total{') && l.includes('decision="deny"'));
  assert.equal(denials.reduce((n, l) => n + Number(l.split(' ').pop()), 0), 2, metrics);
});

test('a GAMMA route splits exactly 5% of calls to the canary', { timeout: 90_000 }, async () => {
  const [v1, v2, webApp] = [await backend('v1'), await backend('v2'), await backend('web')];
  const split = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews-canary, namespace: default }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: 9080 }]
  rules:
  - backendRefs:
    - { name: reviews-v1, port: 9080, weight: 95 }
    - { name: reviews-v2, port: 9080, weight: 5 }
`;
  const c = await control({ 'mesh.yaml': service('reviews') + service('reviews-v1') + service('reviews-v2'), 'route.yaml': split });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews-v1'], appPort: v1.port });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews-v2'], appPort: v2.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/warm', 'v2');
  await reachable(web, 'http://reviews/warm', 'v1');

  const load = startLoad(`http://127.0.0.1:${web.outbound}`, { requests: 6000, connections: 8, headers: { host: 'reviews.default:9080' } });
  const results = await load.done;
  assert.equal(load.failures.length, 0, JSON.stringify(load.failures.slice(0, 3)));
  const canary = results.filter((r) => r.backend === 'v2').length / results.length;
  assert.ok(Math.abs(canary - 0.05) <= 0.01, `canary share ${(canary * 100).toFixed(2)}%`);
});

test('a config the proxy rejects is NACKed and the proxy keeps serving its previous version', { timeout: 60_000 }, async () => {
  const [reviewsApp, webApp] = [await backend('reviews'), await backend('web')];
  const c = await control({ 'mesh.yaml': service('reviews') });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/before', 'reviews');
  await converged(c, 2);
  const before = (await proxies(c)).find((p) => p.spiffeId.endsWith('/sa/web'))!;

  c.write('bad-route.yaml', `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: broken, namespace: default }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews }]
  rules:
  - matches: [{ path: { type: Sideways, value: /x } }]
    backendRefs: [{ name: reviews, port: 9080 }]
`);
  const nacked = await until('the web proxy NACKs', async () => (await proxies(c)).find((p) => p.spiffeId.endsWith('/sa/web') && p.nack !== undefined), 20_000);
  assert.match(nacked.nack!.error, /bad-route\.yaml:7:\d+ HTTPRoute default\/broken/);
  assert.equal(nacked.ackedVersion, before.ackedVersion, 'still on the version it had');
  assert.notEqual(nacked.nack!.version, before.ackedVersion);
  await web.waitForLog((l) => l.msg === 'config version rejected; still serving the previous one');
  assert.equal((await callThrough(web, 'http://reviews/after')).headers['x-backend'], 'reviews');

  c.write('bad-route.yaml', '');
  await until('the web proxy is in sync again', async () => {
    const p = (await proxies(c)).find((x) => x.spiffeId.endsWith('/sa/web'));
    return p && p.ackedVersion === p.sentVersion && p.ackedVersion !== nacked.nack!.version ? p : undefined;
  }, 20_000);
});

test('certificates that live 20 s rotate under continuous load with no failed request', { timeout: 90_000 }, async () => {
  const [reviewsApp, webApp] = [await backend('reviews'), await backend('web')];
  const c = await control({ 'mesh.yaml': service('reviews') }, { svidTtl: '20s' });
  const reviews = await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/warm', 'reviews');

  const load = startLoad(`http://127.0.0.1:${web.outbound}`, { connections: 4, headers: { host: 'reviews.default:9080' } });
  const renewed = (s: Sidecar, n: number) => until(`${n} renewals`, () => s.logs.filter((l) => l.msg === 'certificate renewed').length >= n ? true : undefined, 60_000, 200);
  await Promise.all([renewed(web, 2), renewed(reviews, 2)]);
  const results = await load.stop();
  assert.ok(results.length > 200, `${results.length} requests`);
  assert.equal(load.failures.length, 0, JSON.stringify(load.failures.slice(0, 3)));
  assert.equal(load.connects, 4, 'no client connection was dropped');
});

test('the control plane killed and restarted under load: no failed request, proxies resync', { timeout: 90_000 }, async () => {
  const [reviewsApp, webApp] = [await backend('reviews'), await backend('web')];
  const c = await control({ 'mesh.yaml': service('reviews') });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/warm', 'reviews');
  await converged(c, 2);

  const load = startLoad(`http://127.0.0.1:${web.outbound}`, { connections: 4, headers: { host: 'reviews.default:9080' } });
  await load.more(100);
  await c.stop('SIGKILL');
  await web.waitForLog((l) => l.msg === 'no config stream to the control plane; serving the last config');
  await load.more(300);
  await c.start();
  await converged(c, 2);
  await load.more(100);
  const results = await load.stop();
  assert.equal(load.failures.length, 0, JSON.stringify(load.failures.slice(0, 3)));
  assert.ok(results.length >= 500);
});

test('mesh routes match headers and retry, a policy on a Service injects faults', { timeout: 60_000 }, async () => {
  let calls = 0;
  const flaky = await startBackend('v1', (_req, res) => {
    if (calls++ % 2 === 1) return false;
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('busy');
    return true;
  });
  cleanups.push(() => flaky.close());
  const [v2, webApp] = [await backend('v2'), await backend('web')];
  const mesh = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews, namespace: default }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews }]
  rules:
  - matches: [{ headers: [{ name: x-canary, value: "yes" }] }]
    backendRefs: [{ name: reviews-v2, port: 9080 }]
  - backendRefs: [{ name: reviews-v1, port: 9080 }]
    retry: { codes: [503], attempts: 2, backoff: 1ms }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: ratings-fault, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Service, name: ratings }]
  faultInjection: { abort: { httpStatus: 418, percentage: 100 } }
`;
  const c = await control({ 'mesh.yaml': service('reviews') + service('reviews-v1') + service('reviews-v2') + service('ratings'), 'routes.yaml': mesh });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews-v1'], appPort: flaky.port });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews-v2', 'ratings'], appPort: v2.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/warm', 'v1');

  for (let i = 0; i < 10; i++) assert.equal((await callThrough(web, `http://reviews/r${i}`)).headers['x-backend'], 'v1', 'every call answered after a retry');
  assert.ok(calls >= 20, `the flaky app saw ${calls} tries`);
  assert.equal((await callThrough(web, 'http://reviews/c', { headers: { 'x-canary': 'yes' } })).headers['x-backend'], 'v2');
  const fault = await callThrough(web, 'http://ratings/x');
  assert.equal(fault.status, 418);
  assert.equal((JSON.parse(fault.body) as { error: { code: string } }).error.code, 'fault_injected');
});

test('a workload whose proxy stops heart-beating leaves the registry and its callers stop trying it', { timeout: 60_000 }, async () => {
  const [reviewsApp, webApp] = [await backend('reviews'), await backend('web')];
  const c = await control({ 'mesh.yaml': service('reviews') }, { heartbeatTimeout: '1s' });
  const reviews = await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await reachable(web, 'http://reviews/warm', 'reviews');
  await reviews.stop('SIGKILL');
  const gone = await until('the endpoint is removed', async () => {
    const res = await callThrough(web, 'http://reviews/after');
    return res.status === 503 && res.body.includes('no_healthy_upstream') ? res : undefined;
  }, 20_000);
  assert.equal(gone.status, 503);
  assert.equal((await proxies(c)).filter((p) => p.spiffeId.endsWith('/sa/reviews')).length, 0);
});

test('a proxy that cannot renew says so loudly, and renews once the control plane is back', { timeout: 60_000 }, async () => {
  const app = await backend('web');
  const c = await control({ 'mesh.yaml': service('web') }, { svidTtl: '8s' });
  const web = await sidecar(c, { serviceAccount: 'web', services: ['web'], appPort: app.port });
  await c.stop('SIGKILL');
  const alarm = await web.waitForLog((l) => l.msg === 'certificate expires soon and renewal keeps failing', 20_000);
  assert.equal(alarm.level, 50, 'logged as an error');
  const metrics = await (await fetch(`${web.admin}/metrics`)).text();
  assert.match(metrics, /windrose_mesh_certificate_renewals_total\{result="failure"\} [1-9]/);
  assert.match(metrics, /windrose_mesh_control_connected 0/);
  assert.equal((await fetch(`${web.admin}/ready`)).status, 200, 'still serving its last config');
  await c.start();
  await web.waitForLog((l) => l.msg === 'certificate renewed' || (l.msg === 'certificate issued' && (l.time as number) > (alarm.time as number)), 30_000);
  await converged(c, 1);
});

test('a Service that names its service accounts gets no endpoint from a workload running as another', { timeout: 60_000 }, async () => {
  const [reviewsApp, intruderApp, webApp] = [await backend('reviews'), await backend('intruder'), await backend('web')];
  const guarded = service('reviews').replace('metadata: { name: reviews, namespace: default }', 'metadata: { name: reviews, namespace: default, annotations: { windrose.dev/service-accounts: reviews } }');
  const c = await control({ 'mesh.yaml': guarded });
  await sidecar(c, { serviceAccount: 'reviews', services: ['reviews'], appPort: reviewsApp.port });
  await sidecar(c, { serviceAccount: 'intruder', services: ['reviews'], appPort: intruderApp.port });
  const web = await sidecar(c, { serviceAccount: 'web', appPort: webApp.port });
  await c.proc.waitForLog((l) => l.msg.startsWith('not registered as an endpoint') && String(l.spiffeId).endsWith('/sa/intruder'));
  await converged(c, 3);
  await reachable(web, 'http://reviews/warm', 'reviews');
  for (let i = 0; i < 20; i++) assert.equal((await callThrough(web, `http://reviews/${i}`)).headers['x-backend'], 'reviews');
  assert.equal(intruderApp.received.length, 0);
});
