import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { createCA, type CertificateAuthority } from '../../../test/helpers/certs.js';
import { parseConfigText } from '../load.js';
import { translate } from './index.js';

let ca: CertificateAuthority;
before(async () => { ca = await createCA(); });
after(() => ca.dispose());

const doc = (apiVersion: string, kind: string, name: string, body: Record<string, unknown>) =>
  stringify({ apiVersion, kind, metadata: { name, namespace: 'default' }, ...body });

function policy(name: string, target: Record<string, unknown>, validation: Record<string, unknown>, created?: string): string {
  return stringify({
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'BackendTLSPolicy',
    metadata: { name, namespace: 'default', ...(created ? { creationTimestamp: created } : {}) },
    spec: { targetRefs: [target], validation },
  });
}

/** One rule per backend, path /<name>, on Gateway gw; resolves to the translation. */
function translated(backends: { name: string; ref: Record<string, unknown> }[], extra: string[]) {
  const text = [
    stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'windrose' }, spec: { controllerName: 'windrose.dev/gateway-controller' } }),
    doc('gateway.networking.k8s.io/v1', 'Gateway', 'gw', { spec: { gatewayClassName: 'windrose', listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] } }),
    doc('v1', 'Service', 'orders', { spec: { ports: [{ name: 'https', port: 443 }, { name: 'admin', port: 9443 }, { name: 'grpc', port: 50051, appProtocol: 'kubernetes.io/h2c' }] } }),
    doc('windrose.dev/v1alpha1', 'Backend', 'legacy', { spec: { endpoints: [{ ip: '192.0.2.9', port: 8443 }] } }),
    doc('v1', 'ConfigMap', 'orders-ca', { data: { 'ca.crt': ca.certPem } }),
    doc('gateway.networking.k8s.io/v1', 'HTTPRoute', 'r', {
      spec: { parentRefs: [{ name: 'gw' }], rules: backends.map((b) => ({ matches: [{ path: { type: 'PathPrefix', value: `/${b.name}` } }], backendRefs: [b.ref] })) },
    }),
    ...extra,
  ].join('---\n');
  const loaded = parseConfigText(text, 'btls.yaml');
  assert.deepEqual(loaded.errors, []);
  return translate(loaded.resources);
}

const caRef = { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'orders-ca' }] };
const service = (sectionName?: string) => ({ group: '', kind: 'Service', name: 'orders', ...(sectionName ? { sectionName } : {}) });
const routes = [
  { name: 'https', ref: { name: 'orders', port: 443 } },
  { name: 'admin', ref: { name: 'orders', port: 9443 } },
  { name: 'legacy', ref: { group: 'windrose.dev', kind: 'Backend', name: 'legacy' } },
];

function tlsByCluster(t: ReturnType<typeof translate>) {
  return Object.fromEntries(t.clusters.map((c) => [c.name, c.settings.tls === undefined ? null : { hostname: c.settings.tls.hostname, ca: c.settings.tls.caPem !== undefined, sans: c.settings.tls.subjectAltNames }]));
}

test('a policy on a Service port is narrower than one on the whole Service; a Backend takes its own', () => {
  const t = translated(routes, [
    policy('whole', service(), { ...caRef, hostname: 'orders.internal' }),
    policy('admin-port', service('admin'), { wellKnownCACertificates: 'System', hostname: 'admin.orders.internal', subjectAltNames: [{ type: 'Hostname', hostname: 'admin.orders.internal' }] }),
    stringify({
      apiVersion: 'gateway.networking.k8s.io/v1alpha3', kind: 'BackendTLSPolicy', metadata: { name: 'legacy', namespace: 'default' },
      spec: { targetRefs: [{ group: 'windrose.dev', kind: 'Backend', name: 'legacy' }], validation: { ...caRef, hostname: 'legacy.internal' } },
    }),
  ]);
  assert.deepEqual(tlsByCluster(t), {
    'Service default/orders:443': { hostname: 'orders.internal', ca: true, sans: undefined },
    'Service default/orders:9443': { hostname: 'admin.orders.internal', ca: false, sans: [{ type: 'Hostname', value: 'admin.orders.internal' }] },
    'Backend default/legacy': { hostname: 'legacy.internal', ca: true, sans: undefined },
  });
  const conditions = Object.fromEntries(t.statuses.filter((s) => s.kind === 'BackendTLSPolicy').map((s) => [s.name, s.ancestors?.[0].conditions.map((c) => `${c.type}=${c.status}`)]));
  const applied = ['Accepted=True', 'ResolvedRefs=True'];
  assert.deepEqual(conditions, { whole: applied, 'admin-port': applied, legacy: applied });
});

test('of two policies on one target the older applies and the newer is Conflicted', () => {
  const t = translated(routes.slice(0, 1), [
    policy('newer', service(), { ...caRef, hostname: 'new.internal' }, '2026-02-01T00:00:00Z'),
    policy('older', service(), { ...caRef, hostname: 'old.internal' }, '2026-01-01T00:00:00Z'),
  ]);
  assert.equal(tlsByCluster(t)['Service default/orders:443']?.hostname, 'old.internal');
  const newer = t.statuses.find((s) => s.name === 'newer');
  assert.deepEqual(newer?.ancestors?.[0].conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=False/Conflicted']);
});

test('a policy that cannot be applied leaves its backend unresolved, never cleartext', () => {
  const t = translated(routes.slice(0, 1), [policy('bad', service(), { caCertificateRefs: [{ group: 'example.com', kind: 'Bundle', name: 'x' }], hostname: 'orders.internal' })]);
  assert.equal(t.clusters.length, 0);
  const bad = t.statuses.find((s) => s.name === 'bad');
  assert.deepEqual(bad?.ancestors?.[0].conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=False/NoValidCACertificate', 'ResolvedRefs=False/InvalidKind']);
  const route = t.statuses.find((s) => s.kind === 'HTTPRoute');
  const resolved = route?.parents?.[0].conditions.find((c) => c.type === 'ResolvedRefs');
  assert.equal(resolved?.reason, 'InvalidBackendTLSPolicy');
  assert.match(resolved?.message ?? '', /Service default\/orders: its BackendTLSPolicy cannot be applied: caCertificateRef kind Bundle/);
});

test('a cleartext HTTP/2 (h2c) port cannot take TLS: the backend is unresolved', () => {
  const t = translated([{ name: 'grpc', ref: { name: 'orders', port: 50051 } }], [policy('all', service(), { ...caRef, hostname: 'orders.internal' })]);
  assert.equal(t.clusters.length, 0);
  const resolved = t.statuses.find((s) => s.kind === 'HTTPRoute')?.parents?.[0].conditions.find((c) => c.type === 'ResolvedRefs');
  assert.equal(resolved?.reason, 'UnsupportedProtocol');
});
