import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseConfigText } from '../../config/load.js';
import { registryDocuments } from './endpoint-slices.js';
import { RegistryFile } from './file-store.js';
import { workloadKey, WorkloadRegistry, type RegistryStore, type Workload } from './workloads.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const workload = (id: string, extra: Partial<Workload> = {}): Workload => ({
  id, spiffeId: 'spiffe://cluster.local/ns/shop/sa/reviews', namespace: 'shop', serviceAccount: 'reviews',
  services: ['reviews'], labels: { app: 'reviews' }, address: '10.0.0.5', port: 15006, ...extra,
});

const memory = (initial: Workload[] = []): RegistryStore & { saved: (readonly Workload[])[] } => {
  const saved: (readonly Workload[])[] = [];
  return { saved, load: () => initial, save: (w) => { saved.push(w); } };
};

test('a workload whose proxy is silent for longer than the timeout expires; any message keeps it', () => {
  let now = 0;
  const store = memory();
  const registry = new WorkloadRegistry(store, () => now);
  assert.equal(registry.register(workload('a')), true);
  assert.equal(registry.register(workload('b')), true);
  assert.equal(registry.register(workload('b')), false, 'the same registration again is no change');
  now = 900;
  registry.touch(workloadKey(workload('a')));
  now = 1_500;
  assert.deepEqual(registry.expire(1_000).map((w) => w.id), ['b']);
  assert.deepEqual(registry.list().map((w) => w.id), ['a']);
  now = 1_901;
  assert.deepEqual(registry.expire(1_000).map((w) => w.id), ['a']);
  assert.equal(registry.size, 0);
  // Saved on each change: two registrations and two expiries, never for a heartbeat.
  assert.deepEqual(store.saved.map((s) => s.length), [1, 2, 1, 0]);
});

test('the same id under another identity is another workload: no proxy takes over another\'s registration', () => {
  const registry = new WorkloadRegistry(memory());
  registry.register(workload('a'));
  registry.register(workload('a', { spiffeId: 'spiffe://cluster.local/ns/shop/sa/evil', serviceAccount: 'evil' }));
  assert.equal(registry.size, 2);
});

test('registry.json is written whole with mode 0600 and read back with last-seen = now', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-registry-'));
  dirs.push(dir);
  const file = path.join(dir, 'registry.json');
  const first = new WorkloadRegistry(new RegistryFile(file), () => 0);
  first.register(workload('a', { zone: 'z1', labels: { app: 'reviews', version: 'v2' } }));
  first.register(workload('b', { address: 'reviews-b.shop.svc' }));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), ['registry.json'], 'no temp file left behind');

  const store = new RegistryFile(file);
  const restarted = new WorkloadRegistry(store, () => 50_000);
  assert.deepEqual(restarted.list(), first.list());
  assert.equal(restarted.get(workloadKey(workload('a')))!.lastSeen, 50_000);
  assert.equal(store.skipped, 0);
});

test('registry.json entries that are not workloads are skipped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-registry-'));
  dirs.push(dir);
  const file = path.join(dir, 'registry.json');
  fs.writeFileSync(file, JSON.stringify({ format: 1, workloads: [workload('a'), { ...workload('b'), port: 0 }] }));
  const store = new RegistryFile(file);
  assert.deepEqual(store.load().map((w) => w.id), ['a']);
  assert.equal(store.skipped, 1);
});

test('registry EndpointSlices pass windrose\'s own schema, in a stable order and with stable names', () => {
  const workloads = [
    workload('b', { address: '2001:db8::1', zone: 'z2' }),
    workload('a', { services: ['reviews', 'ratings'] }),
    workload('c', { address: 'reviews-c.shop.svc' }),
  ];
  const ports = (_ns: string, name: string) => (name === 'reviews' ? { ports: [{ name: 'http' }, { name: 'grpc', appProtocol: 'kubernetes.io/h2c' }] } : undefined);
  const docs = registryDocuments(workloads, ports);
  assert.deepEqual(registryDocuments([...workloads].reverse(), ports), docs);
  const loaded = parseConfigText(docs.map((d) => d.text).join('---\n'), 'registry');
  assert.deepEqual(loaded.errors, []);
  const slices = loaded.resources.filter((r) => r.kind === 'EndpointSlice');
  assert.equal(slices.length, 4);
  const ofB = slices.find((r) => r.kind === 'EndpointSlice' && r.spec.addressType === 'IPv6')!;
  assert.equal(ofB.kind, 'EndpointSlice');
  if (ofB.kind !== 'EndpointSlice') return;
  assert.deepEqual(ofB.spec.ports?.map((p) => [p.name, p.port, p.appProtocol]), [['http', 15006, undefined], ['grpc', 15006, 'kubernetes.io/h2c']]);
  assert.deepEqual(ofB.spec.endpoints, [{ addresses: ['2001:db8::1'], conditions: { ready: true }, zone: 'z2' }]);
  assert.equal(ofB.metadata.annotations?.['windrose.dev/spiffe-id'], 'spiffe://cluster.local/ns/shop/sa/reviews');
  assert.equal(ofB.metadata.labels?.['kubernetes.io/service-name'], 'reviews');
  assert.ok(slices.some((r) => r.kind === 'EndpointSlice' && r.spec.addressType === 'FQDN'));
  // Without the Service in the config: one unnamed port.
  const ratings = slices.find((r) => r.metadata.labels?.['kubernetes.io/service-name'] === 'ratings')!;
  assert.ok(ratings.kind === 'EndpointSlice' && ratings.spec.ports?.length === 1 && ratings.spec.ports[0].name === undefined);
});

test('a Service that names service accounts gets endpoints only from proxies running as one of them', () => {
  const workloads = [workload('a'), workload('b', { serviceAccount: 'intruder', spiffeId: 'spiffe://cluster.local/ns/shop/sa/intruder' })];
  const only = (accounts?: string[]) => () => ({ ports: [], ...(accounts ? { serviceAccounts: accounts } : {}) });
  const endpoints = (docs: ReturnType<typeof registryDocuments>) => docs.map((d) => /spiffe-id: (\S+)/.exec(d.text)?.[1]);
  assert.deepEqual(endpoints(registryDocuments(workloads, only(['reviews']))), ['spiffe://cluster.local/ns/shop/sa/reviews']);
  assert.equal(registryDocuments(workloads, only()).length, 2, 'without the annotation, any service account of the namespace');
  assert.equal(registryDocuments(workloads, only([])).length, 0);
});
