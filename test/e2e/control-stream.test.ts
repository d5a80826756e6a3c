//! End to end through the real CLI: proxies hold config streams to `windrose control` over mTLS and
//! get only what they need, pushed when it changes; NACKs are recorded; workloads expire without
//! heartbeats; a restart keeps the registry and the CA; SVIDs renew over mTLS; the root rotates,
//! an intermediate signs, and the control plane's own certificate renews at half its life.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { ProxyDescriptor, SnapshotMessage } from '../../src/mesh/protocol.js';
import {
  documentsOfKind, issueSvid, mintToken, MeshStream, postSvid, startControl, type ControlProcess, type Svid,
} from '../helpers/mesh-client.js';
import { CLI } from '../helpers/windrose.js';
import { until } from '../helpers/metrics.js';
import { createKeyAndCsr } from '../../src/mesh/csr.js';

const run = promisify(execFile);
const temps: string[] = [];
const controls: ControlProcess[] = [];
const streams: MeshStream[] = [];
after(async () => {
  for (const s of streams) s.close();
  await Promise.all(controls.map((c) => c.stop()));
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-mesh-'));
  temps.push(d);
  return d;
}

async function control(dataDir: string, args: readonly string[] = []): Promise<ControlProcess> {
  const c = await startControl(dataDir, args);
  controls.push(c);
  return c;
}

async function open(c: ControlProcess, svid: Svid | undefined, hello?: ProxyDescriptor, ca = c.trustBundle()): Promise<MeshStream> {
  const s = await MeshStream.open(c.port, ca, svid, hello);
  streams.push(s);
  return s;
}

async function proxies(c: ControlProcess): Promise<Record<string, unknown>[]> {
  return (await fetch(`${c.admin}/proxies`).then((r) => r.json())) as Record<string, unknown>[];
}

const metrics = (c: ControlProcess) => fetch(`${c.admin}/metrics`).then((r) => r.text());

const descriptor = (id: string, app: string, port: number): ProxyDescriptor => ({
  id, services: [app], labels: { app, version: 'v1' }, address: '127.0.0.1', port, zone: 'zone-a',
});

const hasText = (needle: string) => (s: SnapshotMessage) => s.documents.some((d) => d.text.includes(needle));

const SERVICES = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec:
  ports: [{ name: http, port: 9080 }]
---
apiVersion: v1
kind: Service
metadata: { name: ratings, namespace: shop }
spec:
  ports: [{ name: http, port: 9080 }]
`;

const MESH_ROUTE = (timeout: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews-mesh, namespace: shop }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: 9080 }]
  rules:
  - backendRefs: [{ name: reviews, port: 9080 }]
    timeouts: { request: ${timeout} }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: reviews-retries, namespace: shop }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: reviews-mesh }]
  retry: { numRetries: 2 }
`;

/** What a proxy must never see: the edge Gateway, its certificate and its routes. */
const EDGE = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: shop }
spec:
  gatewayClassName: windrose
  listeners: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: v1
kind: Secret
metadata: { name: edge-cert, namespace: shop }
type: Opaque
stringData: { password: hunter2 }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge-route, namespace: shop }
spec:
  parentRefs: [{ name: edge }]
  rules: [{ backendRefs: [{ name: reviews, port: 9080 }] }]
`;

const POLICY = (principal: string) => `apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews-callers, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules: [{ from: [{ source: { principals: ["${principal}"] } }] }]
`;

describe('config distribution', () => {
  const dataDir = tempDir();
  const configDir = tempDir();
  let c: ControlProcess;
  let reviews: MeshStream;
  let ratings: MeshStream;
  const write = (name: string, text: string) => fs.writeFileSync(path.join(configDir, name), text);

  before(async () => {
    write('services.yaml', SERVICES);
    write('mesh.yaml', MESH_ROUTE('2s'));
    write('edge.yaml', EDGE);
    write('policy.yaml', POLICY('cluster.local/ns/shop/sa/productpage'));
    c = await control(dataDir, ['--config', configDir, '--heartbeat-timeout', '1s']);
  });

  test('a stream without a client certificate is refused with 401', async () => {
    const s = await open(c, undefined);
    assert.equal(s.status, 401);
    assert.equal((JSON.parse(s.refusal) as { error: { code: string } }).error.code, 'client_certificate_required');
  });

  test('after hello a proxy gets its snapshot at once: only what it needs, with its own endpoint', async () => {
    const ca = c.trustBundle();
    const reviewsSvid = await issueSvid(c.port, ca, { token: await mintToken(dataDir, 'shop', 'reviews') });
    reviews = await open(c, reviewsSvid, descriptor('reviews-1', 'reviews', 15006));
    const first = await reviews.waitForSnapshot(() => true);
    assert.match(first.version, /^[0-9a-f]{16}$/);
    assert.deepEqual(first.trustBundle, [ca]);
    const files = first.documents.map((d) => `${d.file}:${d.line}`);
    assert.deepEqual(files.slice(0, 5), ['mesh.yaml:1', 'mesh.yaml:10', 'policy.yaml:1', 'services.yaml:1', 'services.yaml:7']);
    assert.ok(!first.documents.some((d) => d.file === 'edge.yaml'), 'no Gateway, Secret or Gateway route');
    assert.equal(first.documents[0].text, MESH_ROUTE('2s').split('---\n')[0]);
    const [slice] = documentsOfKind(first, 'EndpointSlice');
    assert.equal(slice.file, 'registry');
    assert.match(slice.text, /kubernetes\.io\/service-name: reviews/);
    assert.match(slice.text, /windrose\.dev\/spiffe-id: spiffe:\/\/cluster\.local\/ns\/shop\/sa\/reviews/);
    assert.match(slice.text, /- name: http\n\s+port: 15006/);
    assert.match(slice.text, /zone: zone-a/);

    const ratingsSvid = await issueSvid(c.port, ca, { token: await mintToken(dataDir, 'shop', 'ratings') });
    ratings = await open(c, ratingsSvid, descriptor('ratings-1', 'ratings', 15007));
    const ratingsFirst = await ratings.waitForSnapshot(() => true);
    assert.ok(!ratingsFirst.documents.some((d) => d.file === 'policy.yaml'), 'the reviews policy does not apply to ratings');
    assert.equal(documentsOfKind(ratingsFirst, 'EndpointSlice').length, 2);
    // The registration reaches the proxy already connected.
    await reviews.waitForSnapshot((s) => documentsOfKind(s, 'EndpointSlice').length === 2);
  });

  test('a change to one workload\'s policy is pushed to its proxy only; a shared change to both', async () => {
    const settled = async () => until('both proxies to ack their last snapshot', async () => {
      const list = await proxies(c);
      return list.length === 2 && list.every((p) => p.connected && p.ackedVersion === p.sentVersion) ? list : undefined;
    });
    await settled();
    const reviewsFrom = reviews.snapshots.length;
    const ratingsFrom = ratings.snapshots.length;
    write('policy.yaml', POLICY('cluster.local/ns/shop/sa/admin'));
    await reviews.waitForSnapshot(hasText('sa/admin'), reviewsFrom);
    write('mesh.yaml', MESH_ROUTE('3s'));
    const shared = await ratings.waitForSnapshot(hasText('request: 3s'), ratingsFrom);
    await reviews.waitForSnapshot(hasText('request: 3s'), reviewsFrom);
    // Changes are pushed in order: had ratings been sent the policy change, it would have come first.
    assert.deepEqual(ratings.snapshots.slice(ratingsFrom), [shared]);
    assert.equal(reviews.snapshots.length - reviewsFrom, 2);
    await settled();
  });

  test('a NACK is logged and shown in /proxies; the stream stays open and the next good config is acked', async () => {
    reviews.decide = (s) => (s.documents.some((d) => d.text.includes('unknownField')) ? 'mesh.yaml:9:5 HTTPRoute shop/reviews-mesh spec.rules[0].unknownField: unknown field' : undefined);
    const from = reviews.snapshots.length;
    write('mesh.yaml', MESH_ROUTE('4s').replace('    timeouts:', '    unknownField: 1\n    timeouts:'));
    const bad = await reviews.waitForSnapshot(hasText('unknownField'), from);
    const logged = await c.waitForLog((l) => l.level === 50 && l.version === bad.version);
    assert.equal(logged.proxy, 'reviews-1');
    assert.equal(logged.spiffeId, 'spiffe://cluster.local/ns/shop/sa/reviews');
    assert.match(String(logged.error), /unknownField: unknown field/);
    const shown = await until('the NACK in /proxies', async () => (await proxies(c)).find((p) => p.id === 'reviews-1' && p.nack !== undefined));
    assert.equal((shown.nack as { version: string }).version, bad.version);
    assert.notEqual(shown.ackedVersion, bad.version);
    // The control plane's own loader rejected the change too, and counted it.
    assert.match(await metrics(c), /windrose_config_reloads_total\{result="rejected"\} [1-9]/);

    write('mesh.yaml', MESH_ROUTE('5s'));
    const good = await reviews.waitForSnapshot(hasText('request: 5s'), from);
    assert.equal(reviews.closed, false);
    await until('the fix to be acked', async () => (await proxies(c)).find((p) => p.id === 'reviews-1' && p.ackedVersion === good.version));
    const text = await metrics(c);
    assert.match(text, /windrose_control_acks_total\{result="nack"\} 1\n/);
    assert.match(text, /windrose_control_proxies 2\n/);
    assert.match(text, /windrose_control_workloads 2\n/);
    assert.match(text, /windrose_control_svids_issued_total\{reason="join"\} 2\n/);
    assert.match(text, /windrose_control_pushes_total [1-9]\d*\n/);
    assert.match(text, /windrose_control_push_seconds_count [1-9]\d*\n/);
  });

  test('a proxy that stops its heartbeats is removed after the timeout, and the others are told', async () => {
    const from = reviews.snapshots.length;
    ratings.stopHeartbeats();
    const without = await reviews.waitForSnapshot((s) => documentsOfKind(s, 'EndpointSlice').length === 1, from);
    assert.match(documentsOfKind(without, 'EndpointSlice')[0].text, /sa\/reviews/);
    await ratings.waitClosed();
    assert.deepEqual((await proxies(c)).map((p) => p.id), ['reviews-1']);
    await c.waitForLog((l) => l.msg.startsWith('workload removed') && l.proxy === 'ratings-1');
  });
});

describe('restarts and certificates', () => {
  test('a restarted control plane keeps its registry and its CA: SVIDs issued before still connect', async () => {
    const dataDir = tempDir();
    const first = await control(dataDir);
    const ca = first.trustBundle();
    const svid = await issueSvid(first.port, ca, { token: await mintToken(dataDir, 'shop', 'reviews') });
    const before = await open(first, svid, descriptor('reviews-1', 'reviews', 15006));
    await before.waitForSnapshot(() => true);
    assert.equal(fs.statSync(path.join(dataDir, 'registry.json')).mode & 0o777, 0o600);
    assert.equal(await first.stop(), 0);

    const second = await control(dataDir);
    assert.equal(second.trustBundle(), ca);
    // A new proxy is told about the one that has not reconnected yet.
    const other = await open(second, await issueSvid(second.port, ca, { token: await mintToken(dataDir, 'shop', 'ratings') }), descriptor('ratings-1', 'ratings', 15007));
    const seen = await other.waitForSnapshot(() => true);
    assert.ok(documentsOfKind(seen, 'EndpointSlice').some((d) => d.text.includes('sa/reviews')));
    const again = await open(second, svid, descriptor('reviews-1', 'reviews', 15006));
    assert.equal(again.status, 200);
    await again.waitForSnapshot(() => true);
    const list = await proxies(second);
    assert.deepEqual(list.map((p) => [p.id, p.connected]), [['ratings-1', true], ['reviews-1', true]]);
  });

  test('a proxy renews its SVID with the current one and no token; a foreign certificate cannot', async () => {
    const dataDir = tempDir();
    const c = await control(dataDir);
    const ca = c.trustBundle();
    const svid = await issueSvid(c.port, ca, { token: await mintToken(dataDir, 'shop', 'reviews') });
    const renewed = await issueSvid(c.port, ca, { svid });
    assert.equal(new X509Certificate(renewed.certPem).subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/reviews');
    assert.notEqual(renewed.certPem, svid.certPem);
    // A certificate of another CA is not an identity, whatever it names.
    const foreignDir = tempDir();
    const foreign = await control(foreignDir);
    const stranger = await issueSvid(foreign.port, foreign.trustBundle(), { token: await mintToken(foreignDir, 'shop', 'reviews') });
    const refused = await postSvid(c.port, ca, createKeyAndCsr().csrPem, { svid: stranger });
    assert.equal(refused.status, 401);
    assert.match(await metrics(c), /windrose_control_svids_issued_total\{reason="renew"\} 1\n/);
  });

  test('ca rotate: both roots are pushed and new SVIDs chain to the new root; ca retire drops the old one', async () => {
    const dataDir = tempDir();
    const c = await control(dataDir);
    const oldRoot = c.trustBundle();
    const svid = await issueSvid(c.port, oldRoot, { token: await mintToken(dataDir, 'shop', 'reviews') });
    const s = await open(c, svid, descriptor('reviews-1', 'reviews', 15006));
    await s.waitForSnapshot(() => true);

    await run(CLI, ['control', 'ca', 'rotate', '--data-dir', dataDir]);
    assert.equal(fs.statSync(path.join(dataDir, 'ca', 'root.key.pem')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dataDir, 'ca', 'previous-root.key.pem')).mode & 0o777, 0o600);
    const newRoot = fs.readFileSync(path.join(dataDir, 'ca', 'root.crt.pem'), 'utf8');
    const rotated = await s.waitForSnapshot((m) => m.trustBundle.length === 2);
    assert.deepEqual(rotated.trustBundle, [newRoot, oldRoot]);
    // A proxy that still trusts only the old root can renew: the control plane serves with a certificate it verifies.
    const renewed = await issueSvid(c.port, oldRoot, { svid });
    assert.ok(new X509Certificate(renewed.certPem).verify(new X509Certificate(newRoot).publicKey));
    assert.ok(!new X509Certificate(renewed.certPem).verify(new X509Certificate(oldRoot).publicKey));
    // SVIDs of the old root still connect.
    const old = await open(c, svid, descriptor('reviews-2', 'reviews', 15008), oldRoot);
    assert.equal(old.status, 200);

    await run(CLI, ['control', 'ca', 'retire', '--data-dir', dataDir]);
    const retired = await s.waitForSnapshot((m) => m.trustBundle.length === 1, s.snapshots.indexOf(rotated));
    assert.deepEqual(retired.trustBundle, [newRoot]);
    // From now on the control plane serves a certificate of the new root.
    await until('a stream verified with the new root alone', async () => {
      try {
        const fresh = await MeshStream.open(c.port, newRoot, renewed, undefined);
        fresh.close();
        return fresh.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  });

  test('an intermediate placed in the CA directory signs new SVIDs, which carry it; the bundle keeps the root only', async () => {
    const dataDir = tempDir();
    const c = await control(dataDir);
    const root = c.trustBundle();
    const caDir = path.join(dataDir, 'ca');
    const work = tempDir();
    await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(work, 'i.key'), '-out', path.join(work, 'i.csr'), '-subj', '/O=windrose/CN=windrose intermediate']);
    fs.writeFileSync(path.join(work, 'ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nsubjectAltName=URI:spiffe://cluster.local\n');
    await run('openssl', ['x509', '-req', '-in', path.join(work, 'i.csr'), '-CA', path.join(caDir, 'root.crt.pem'), '-CAkey', path.join(caDir, 'root.key.pem'), '-set_serial', '7', '-days', '2', '-extfile', path.join(work, 'ext'), '-out', path.join(work, 'i.crt')]);
    fs.copyFileSync(path.join(work, 'i.key'), path.join(caDir, 'intermediate.key'));
    fs.chmodSync(path.join(caDir, 'intermediate.key'), 0o600);
    fs.copyFileSync(path.join(work, 'i.crt'), path.join(caDir, 'intermediate.crt'));
    await c.waitForLog((l) => l.msg === 'CA reloaded');

    const svid = await issueSvid(c.port, root, { token: await mintToken(dataDir, 'shop', 'reviews') });
    const [leafPem, intermediatePem] = svid.certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
    const leaf = new X509Certificate(leafPem);
    const intermediate = new X509Certificate(intermediatePem);
    assert.equal(intermediate.fingerprint256, new X509Certificate(fs.readFileSync(path.join(work, 'i.crt'))).fingerprint256);
    assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey));
    assert.equal(svid.trustBundle, root);
    // The chain verifies against the root alone: the control plane accepts the SVID on a stream.
    const s = await open(c, svid, descriptor('reviews-1', 'reviews', 15006), root);
    assert.equal(s.status, 200);
    assert.deepEqual((await s.waitForSnapshot(() => true)).trustBundle, [root]);
  });

  test('the control plane renews its own serving certificate at half its life', async () => {
    const c = await control(tempDir(), ['--svid-ttl', '4s']);
    const serial = () => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: c.port, ca: c.trustBundle(), ALPNProtocols: ['h2'] }, () => {
        resolve(socket.getPeerX509Certificate()!.serialNumber);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    const first = await serial();
    await until('a new serving certificate', async () => ((await serial()) !== first ? true : undefined), 10_000);
    await c.waitForLog((l) => l.msg === 'serving certificate renewed');
  });
});
