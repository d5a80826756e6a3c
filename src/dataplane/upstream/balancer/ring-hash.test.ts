import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpstreamHost } from '../host.js';
import type { Balancer } from './balancer.js';
import { host, hosts, KeyContext, mulberry32 } from './hosts.fixture.js';
import { createRingHash } from './ring-hash.js';

const KEYS = 100_000;

/** Where each of KEYS keys lands. */
function assign(balancer: Balancer): UpstreamHost[] {
  const ctx = new KeyContext();
  return Array.from({ length: KEYS }, (_, i) => {
    ctx.key = `user-${i}`;
    return balancer.pick(ctx)!;
  });
}

function ring(list: readonly UpstreamHost[], seed = 1): Balancer {
  return createRingHash(list, mulberry32(seed));
}

test('a key maps to the same host whatever the order the hosts were listed in', () => {
  const list = hosts(1, 3, 1, 2, 1);
  const reversed = ring([...list].reverse(), 2);
  const shuffled = ring([list[2], list[0], list[4], list[1], list[3]], 3);
  const forward = assign(ring(list));
  assert.deepEqual(assign(reversed), forward);
  assert.deepEqual(assign(shuffled), forward);
});

test('a key maps to the same host on rings built from equal but distinct host objects', () => {
  // Another process, or a rebuild with fresh host objects: only addresses and weights count.
  assert.deepEqual(assign(ring(hosts(1, 2, 1))).map((h) => h.address), assign(ring(hosts(1, 2, 1))).map((h) => h.address));
});

test('a retry goes where the key would land without the failed host, every time', () => {
  const list = hosts(1, 1, 1, 1, 1);
  const full = ring(list);
  const withoutFirst = ring(list.slice(1));
  const ctx = new KeyContext();
  for (let i = 0; i < 5000; i++) {
    ctx.key = `user-${i}`;
    const primary = full.pick(ctx)!;
    const retry = full.pick(ctx, primary);
    assert.equal(retry, full.pick(ctx, primary));
    if (primary === list[0]) assert.equal(retry, withoutFirst.pick(ctx));
  }
});

test('without a hash key, a random host', () => {
  const list = hosts(1, 1, 1, 1);
  const balancer = ring(list, 9);
  const seen = new Set<UpstreamHost>();
  const ctx = new KeyContext();
  for (let i = 0; i < 100; i++) seen.add(balancer.pick(ctx)!);
  assert.equal(seen.size, 4);
});

test('disruption: adding an 11th host moves about 1/11 of keys, all to it; removing one moves only its keys', (t) => {
  const ten = hosts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const before = assign(ring(ten));
  const added = host(11);
  const afterAdd = assign(ring([...ten, added]));
  let moved = 0;
  for (let k = 0; k < KEYS; k++) {
    if (afterAdd[k] === before[k]) continue;
    moved++;
    assert.equal(afterAdd[k], added, `key ${k} moved between two hosts that stayed`);
  }
  const movedShare = moved / KEYS;
  assert.ok(movedShare > 0.06 && movedShare < 0.13, `moved ${movedShare}`);

  const removed = ten[3];
  const afterRemove = assign(ring(ten.filter((h) => h !== removed)));
  let movedOff = 0;
  for (let k = 0; k < KEYS; k++) {
    if (before[k] === removed) movedOff++;
    else assert.equal(afterRemove[k], before[k], `key ${k} moved though its host stayed`);
  }
  t.diagnostic(`10 -> 11 hosts: ${(movedShare * 100).toFixed(2)}% of ${KEYS} keys moved (ideal ${(100 / 11).toFixed(2)}%), all to the new host`);
  t.diagnostic(`10 -> 9 hosts: ${(movedOff / KEYS * 100).toFixed(2)}% moved, exactly the removed host's keys; 0 others`);
});

test('spread: keys per host stay close to even, and follow weights', (t) => {
  const ten = hosts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const perHost = ten.map(() => 0);
  for (const h of assign(ring(ten))) perHost[ten.indexOf(h)]++;
  const spread = Math.max(...perHost) / Math.min(...perHost);
  t.diagnostic(`10 equal hosts, ${KEYS} keys: min ${Math.min(...perHost)}, max ${Math.max(...perHost)}, max/min ${spread.toFixed(3)}`);
  assert.ok(spread < 1.3, `max/min ${spread}`);

  const weighted = hosts(1, 2, 7);
  const shares = weighted.map(() => 0);
  for (const h of assign(ring(weighted))) shares[weighted.indexOf(h)]++;
  t.diagnostic(`weights 1/2/7: shares ${shares.map((c) => (c / KEYS).toFixed(3)).join('/')}`);
});
