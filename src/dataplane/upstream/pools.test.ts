import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster } from '../../config/model.js';
import { DEFAULT_CLUSTER } from '../../config/translate/policies.js';
import { NO_HASH_KEY } from './hash-key.js';
import { UpstreamPools } from './pools.js';

const meshEndpoint = { host: '127.0.0.1', port: 1, identity: 'spiffe://cluster.local/ns/default/sa/reviews' };
const settings = { ...DEFAULT_CLUSTER, protocol: 'http1' as const };
const cluster = { key: 'reviews', name: 'default/reviews', endpoints: [meshEndpoint], settings } as unknown as Cluster;

test('a process without a mesh identity fails the connects to a mesh endpoint, and neither throws nor dies', async () => {
  const pools = new UpstreamPools();
  const host = pools.cluster(cluster).pick(NO_HASH_KEY);
  assert.ok(host !== undefined);
  const error = await new Promise<Error & { code?: string }>((resolve) => {
    host.dispatcher.dispatch({ path: '/', method: 'GET', headers: [] }, {
      onConnect: () => undefined, onHeaders: () => true, onData: () => true, onComplete: () => undefined, onError: resolve,
    });
  });
  assert.equal(error.code, 'ECONNREFUSED');
  await assert.rejects(pools.connect(settings, meshEndpoint), /needs mutual TLS but this process has no mesh identity/);
  await pools.close();
});
