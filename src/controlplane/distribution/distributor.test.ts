import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { SnapshotMessage } from '../../mesh/protocol.js';
import { splitDocuments } from '../config/documents.js';
import type { ControlMetrics } from '../metrics.js';
import type { Workload } from '../registry/workloads.js';
import { Distributor, type ProxyConnection } from './distributor.js';

const counter = () => {
  const c = { n: 0, inc: () => { c.n++; } };
  return c;
};

function metrics() {
  const m = { pushed: counter(), acked: counter(), nacked: counter(), svidJoin: counter(), svidRenew: counter(), observed: [] as number[], proxies: 0 };
  const view: ControlMetrics = {
    ...m,
    pushToAck: { observe: (v) => m.observed.push(v) },
    setProxies: (n) => { m.proxies = n; },
    setWorkloads: () => undefined,
  };
  return { m, view };
}

const workload = (id: string, app: string): Workload => ({
  id, spiffeId: `spiffe://cluster.local/ns/shop/sa/${app}`, namespace: 'shop', serviceAccount: app,
  services: [app], labels: { app }, address: '10.0.0.1', port: 15006,
});

function connect(d: Distributor, w: Workload): { conn: ProxyConnection; got: SnapshotMessage[]; closed: boolean } {
  const out = { got: [] as SnapshotMessage[], closed: false, conn: undefined as unknown as ProxyConnection };
  out.conn = { workload: w, write: (line) => out.got.push(JSON.parse(line) as SnapshotMessage), close: () => { out.closed = true; } };
  d.attach(out.conn);
  return out;
}

const config = (reviewsPolicy: string, ratingsPolicy: string, timeout = '1s') => splitDocuments(`apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { ports: [{ name: http, port: 9080 }] }
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews, namespace: shop }
spec: { selector: { matchLabels: { app: reviews } }, note: ${reviewsPolicy} }
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: ratings, namespace: shop }
spec: { selector: { matchLabels: { app: ratings } }, note: ${ratingsPolicy} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge, namespace: shop }
spec: { parentRefs: [{ name: gw }], timeouts: { request: ${timeout} } }
`, 'mesh.yaml');

function distributor(now = () => 0) {
  const { m, view } = metrics();
  const d = new Distributor({ log: pino({ level: 'silent' }), metrics: view, registryDebounceMs: 100, now });
  d.setTrustBundle(['ROOT']);
  d.setConfig(config('a', 'a'));
  return { d, m };
}

test('a proxy gets its snapshot on attach; the version is a hash of the content, the same in another control plane', () => {
  const one = distributor();
  const two = distributor();
  const a = connect(one.d, workload('r1', 'reviews'));
  const b = connect(two.d, workload('r1', 'reviews'));
  assert.equal(a.got.length, 1);
  assert.equal(a.got[0].version, b.got[0].version);
  assert.deepEqual(a.got[0].trustBundle, ['ROOT']);
  one.d.close();
  two.d.close();
});

test('a change pushes only to the proxies whose content it changes; unrelated changes leave versions alone', () => {
  const { d, m } = distributor();
  const reviews = connect(d, workload('r1', 'reviews'));
  const ratings = connect(d, workload('t1', 'ratings'));
  const versions = [reviews.got[0].version, ratings.got[0].version];
  assert.notEqual(versions[0], versions[1]);

  d.setConfig(config('b', 'a'));
  d.flush();
  assert.equal(reviews.got.length, 2);
  assert.equal(ratings.got.length, 1, 'the reviews policy is not ratings\' business');
  assert.notEqual(reviews.got[1].version, versions[0]);

  // A Gateway route is nobody's business in the mesh: nothing is sent, versions stay.
  d.setConfig(config('b', 'a', '9s'));
  d.flush();
  assert.deepEqual([reviews.got.length, ratings.got.length], [2, 1]);

  // Going back to earlier content gives the earlier version again.
  d.setConfig(config('a', 'a'));
  d.flush();
  assert.equal(reviews.got[2].version, versions[0]);
  assert.equal(m.pushed.n, 4);
  d.close();
});

test('registry changes reach every proxy, with the new EndpointSlice mirroring the Service ports', () => {
  const { d } = distributor();
  const reviews = connect(d, workload('r1', 'reviews'));
  d.setWorkloads([workload('r1', 'reviews'), workload('r2', 'reviews')]);
  d.flush();
  const slices = reviews.got[1].documents.filter((doc) => doc.file === 'registry');
  assert.equal(slices.length, 2);
  assert.match(slices[0].text, /ports:\n\s+- name: http\n\s+port: 15006\n\s+protocol: TCP/);
  d.close();
});

test('acks and nacks are recorded per proxy; an ack observes the time since the push', () => {
  let now = 1_000;
  const { d, m } = distributor(() => now);
  const reviews = connect(d, workload('r1', 'reviews'));
  const key = 'spiffe://cluster.local/ns/shop/sa/reviews r1';
  const first = reviews.got[0].version;
  now += 250;
  d.ack(reviews.conn, first);
  assert.deepEqual(m.observed, [0.25]);
  assert.deepEqual(d.status(key), { sentVersion: first, ackedVersion: first, connected: true });

  d.setConfig(config('b', 'a'));
  d.flush();
  const second = reviews.got[1].version;
  d.nack(reviews.conn, second, 'mesh.yaml:9:5 bad');
  const status = d.status(key);
  assert.equal(status.ackedVersion, first);
  assert.deepEqual(status.nack, { version: second, error: 'mesh.yaml:9:5 bad', at: new Date(now).toISOString() });
  assert.equal(m.nacked.n, 1);
  // Unknown versions are ignored.
  d.ack(reviews.conn, 'ffff');
  assert.equal(m.acked.n, 1);
  d.close();
});

test('a new stream of the same proxy replaces the old one, which is closed; forget closes and drops the status', () => {
  const { d, m } = distributor();
  const w = workload('r1', 'reviews');
  const old = connect(d, w);
  const fresh = connect(d, w);
  assert.equal(old.closed, true);
  assert.equal(fresh.got.length, 1);
  d.detach(old.conn);
  assert.equal(m.proxies, 1, 'detaching the replaced stream leaves the new one');
  d.forget('spiffe://cluster.local/ns/shop/sa/reviews r1');
  assert.equal(fresh.closed, true);
  assert.equal(m.proxies, 0);
  assert.deepEqual(d.status('spiffe://cluster.local/ns/shop/sa/reviews r1'), { connected: false });
  d.close();
});
