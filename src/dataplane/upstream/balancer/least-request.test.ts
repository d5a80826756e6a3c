import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpstreamHost } from '../host.js';
import { hosts, KeyContext, mulberry32 } from './hosts.fixture.js';
import { createLeastRequest } from './least-request.js';

function counts(list: readonly UpstreamHost[], picks: number, seed = 1): number[] {
  const balancer = createLeastRequest(list, mulberry32(seed));
  const ctx = new KeyContext();
  const out = list.map(() => 0);
  for (let i = 0; i < picks; i++) out[list.indexOf(balancer.pick(ctx)!)]++;
  return out;
}

test('prefers the host with fewer requests in flight', () => {
  const list = hosts(1, 1);
  list[0].active = 3;
  assert.deepEqual(counts(list, 100), [0, 100]);
});

test('prefers the host with the lower latency', () => {
  const list = hosts(1, 1);
  list[1].ewmaMs = 40;
  assert.deepEqual(counts(list, 100), [100, 0]);
});

test('weighs latency by load: 2 ms with 3 in flight beats 10 ms idle', () => {
  const list = hosts(1, 1);
  list[0].ewmaMs = 10;
  list[1].ewmaMs = 2;
  list[1].active = 3;
  assert.deepEqual(counts(list, 100), [0, 100]);
  list[1].active = 5;
  assert.deepEqual(counts(list, 100), [100, 0]);
});

test('never picks the costliest host of many, and a busy one only when drawn with a busier one', () => {
  const list = hosts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  list[0].active = 1;
  list[9].active = 10;
  const picks = 20_000;
  const got = counts(list, picks);
  assert.equal(got[9], 0);
  // Host 0 wins only against host 9: drawn as one of that pair in 2 * (1/10)(1/9) = 2.2% of picks.
  const share = got[0] / picks;
  assert.ok(share > 0.015 && share < 0.03, `busy host share ${share}`);
});

test('a host much faster than the rest gets the share of two draws, about 2/n', () => {
  const list = hosts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  for (const h of list) h.ewmaMs = 20;
  list[4].ewmaMs = 5;
  const picks = 20_000;
  const share = counts(list, picks)[4] / picks;
  // Drawn first or second of two distinct hosts: 1 - (9/10)(8/9) = 0.2.
  assert.ok(share > 0.18 && share < 0.22, `fast host share ${share}`);
});
