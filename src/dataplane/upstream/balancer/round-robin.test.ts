import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpstreamHost } from '../host.js';
import type { Balancer } from './balancer.js';
import { hosts, KeyContext, mulberry32 } from './hosts.fixture.js';
import { createRoundRobin } from './round-robin.js';

const NAMES = 'abcdefgh';

/** `count` picks as a string of host letters (a = first host). */
function sequence(balancer: Balancer, list: readonly UpstreamHost[], count: number, avoid?: UpstreamHost): string {
  const ctx = new KeyContext();
  let out = '';
  for (let i = 0; i < count; i++) out += NAMES[list.indexOf(balancer.pick(ctx, avoid)!)];
  return out;
}

test('equal weights rotate through every host in order, from a random start', () => {
  const list = hosts(1, 1, 1);
  assert.equal(sequence(createRoundRobin(list, () => 0), list, 7), 'abcabca');
  assert.equal(sequence(createRoundRobin(list, () => 0.5), list, 7), 'bcabcab');
  assert.equal(sequence(createRoundRobin(list, () => 0.9), list, 7), 'cabcabc');
});

test('equal weights skip the host to avoid and carry on after it', () => {
  const list = hosts(2, 2, 2);
  const balancer = createRoundRobin(list, () => 0);
  assert.equal(sequence(balancer, list, 1, list[0]), 'b');
  assert.equal(sequence(balancer, list, 3), 'cab');
});

test('unequal weights interleave smoothly: 5, 1, 1 gives a,a,b,a,c,a,a', () => {
  const list = hosts(5, 1, 1);
  assert.equal(sequence(createRoundRobin(list, () => 0), list, 21), 'aabacaa'.repeat(3));
});

test('unequal weights start at a random point of the cycle', () => {
  const list = hosts(5, 1, 1);
  // The cycle is 7 picks long; 0.5 skips floor(0.5 * 7) = 3 of them.
  assert.equal(sequence(createRoundRobin(list, () => 0.5), list, 14), 'acaaaab'.repeat(2));
});

test('every window of one cycle holds each host as often as its weight, never in a burst', () => {
  const weights = [5, 1, 1];
  const list = hosts(...weights);
  for (let seed = 1; seed <= 20; seed++) {
    const picks = sequence(createRoundRobin(list, mulberry32(seed)), list, 700);
    for (let start = 0; start + 7 <= picks.length; start++) {
      const window = picks.slice(start, start + 7);
      weights.forEach((w, i) => assert.equal(window.split(NAMES[i]).length - 1, w, `window "${window}" at ${start}, seed ${seed}`));
    }
    // The smooth order never lets the light hosts follow each other, and never gives a five in a row.
    assert.doesNotMatch(picks, /bc|cb|a{5}/);
  }
});

test('unequal weights give the others their usual turns while one host is avoided', () => {
  const list = hosts(4, 2, 1);
  const balancer = createRoundRobin(list, () => 0);
  const picks = sequence(balancer, list, 30, list[0]);
  assert.equal(picks, 'bcb'.repeat(10));
});
