import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSettings, Endpoint } from '../model.js';
import { ClusterRegistry } from './backends.js';
import { clusterSettings } from './policies.js';
import { healthOf } from './resilience.js';

const endpoints: Endpoint[] = [{ host: '192.0.2.1', port: 80 }, { host: '192.0.2.2', port: 80 }];
const base: ClusterSettings = clusterSettings('http1', {}, false);

test('equal endpoints and settings share one cluster', () => {
  const registry = new ClusterRegistry();
  assert.equal(registry.intern('b', endpoints, base), registry.intern('b', [...endpoints], clusterSettings('http1', {}, false)));
  // An explicit weight of 1 is the same as none.
  assert.equal(registry.intern('b', endpoints, base), registry.intern('b', [{ ...endpoints[0], weight: 1 }, endpoints[1]], base));
  assert.equal(registry.all().length, 1);
});

test('a change of balancer, health, breaker, budget, endpoint weight, zone or identity alone gives another cluster', () => {
  const registry = new ClusterRegistry();
  const variants: [readonly Endpoint[], ClusterSettings][] = [
    [endpoints, base],
    [endpoints, { ...base, loadBalancer: { type: 'LeastRequest', panicThresholdPercent: 50 } }],
    [endpoints, { ...base, loadBalancer: { type: 'RoundRobin', panicThresholdPercent: 10 } }],
    [endpoints, { ...base, loadBalancer: { type: 'ConsistentHash', hashOn: { kind: 'header', name: 'x-user' }, panicThresholdPercent: 50 } }],
    [endpoints, { ...base, loadBalancer: { type: 'ConsistentHash', hashOn: { kind: 'cookie', name: 'x-user' }, panicThresholdPercent: 50 } }],
    [endpoints, { ...base, healthCheck: healthOf({ active: { type: 'HTTP', http: { path: '/healthz' } } }).active }],
    [endpoints, { ...base, outlier: healthOf({ passive: {} }).outlier }],
    [endpoints, { ...base, circuitBreaker: { ...base.circuitBreaker, maxRetries: 4 } }],
    [endpoints, clusterSettings('http1', {}, true)],
    [[{ ...endpoints[0], weight: 2 }, endpoints[1]], base],
    [[{ ...endpoints[0], zone: 'zone-a' }, endpoints[1]], base],
    [[{ ...endpoints[0], zone: 'zone-b' }, endpoints[1]], base],
    [[{ ...endpoints[0], identity: 'spiffe://cluster.local/ns/default/sa/a' }, endpoints[1]], base],
    [[{ ...endpoints[0], identity: 'spiffe://cluster.local/ns/default/sa/b' }, endpoints[1]], base],
  ];
  const keys = variants.map(([eps, settings]) => registry.intern('b', eps, settings).key);
  assert.equal(new Set(keys).size, variants.length);
});
