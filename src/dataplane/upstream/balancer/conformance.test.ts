import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadBalancerType } from '../../../config/model.js';
import type { UpstreamHost } from '../host.js';
import type { Balancer } from './balancer.js';
import { hosts, KeyContext, mulberry32 } from './hosts.fixture.js';
import { createBalancer } from './index.js';

interface Case {
  readonly type: LoadBalancerType;
  /** Shares of picks each host should get among idle hosts of equal latency. */
  readonly shares: (weights: readonly number[]) => number[];
  /** How far a measured share may be from the expected one. */
  readonly tolerance: number;
}

const byWeight = (weights: readonly number[]): number[] => {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
};
/** Least request looks at load and latency only; idle hosts of equal latency are equally likely. */
const even = (weights: readonly number[]): number[] => weights.map(() => 1 / weights.length);

const CASES: readonly Case[] = [
  { type: 'RoundRobin', shares: byWeight, tolerance: 0.001 },
  { type: 'Random', shares: byWeight, tolerance: 0.01 },
  { type: 'LeastRequest', shares: even, tolerance: 0.01 },
  // Each host's share of a ring varies by about 1/sqrt(its points).
  { type: 'ConsistentHash', shares: byWeight, tolerance: 0.03 },
];

const PICKS = 100_000;

function build(type: LoadBalancerType, list: readonly UpstreamHost[], seed = 1): Balancer {
  return createBalancer(list, { type, panicThresholdPercent: 50 }, mulberry32(seed));
}

/** Picks PICKS times with a distinct key each time; the share of picks each host got. */
function measure(balancer: Balancer, list: readonly UpstreamHost[], avoid?: UpstreamHost): number[] {
  const ctx = new KeyContext();
  const counts = new Map<UpstreamHost | undefined, number>();
  for (let i = 0; i < PICKS; i++) {
    ctx.key = `user-${i}`;
    const h = balancer.pick(ctx, avoid);
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  return list.map((h) => (counts.get(h) ?? 0) / PICKS);
}

function assertShares(actual: readonly number[], expected: readonly number[], tolerance: number): void {
  actual.forEach((share, i) => {
    assert.ok(Math.abs(share - expected[i]) <= tolerance, `host ${i}: share ${share.toFixed(4)}, expected ${expected[i].toFixed(4)} ± ${tolerance}`);
  });
}

for (const { type, shares, tolerance } of CASES) {
  describe(`${type} balancer`, () => {
    test('returns only hosts from its list, with and without a hash key', () => {
      const list = hosts(1, 2, 3, 1);
      const balancer = build(type, list);
      const ctx = new KeyContext();
      for (let i = 0; i < 1000; i++) {
        ctx.key = i % 2 === 0 ? `k${i}` : undefined;
        const picked = balancer.pick(ctx);
        assert.ok(picked !== undefined && list.includes(picked));
      }
    });

    test('returns undefined when there are no hosts', () => {
      assert.equal(build(type, []).pick(new KeyContext()), undefined);
    });

    test('never returns the host to avoid while there is another', () => {
      for (const list of [hosts(1, 1), hosts(1, 2, 7), hosts(3, 1, 1, 1, 2)]) {
        const balancer = build(type, list);
        const ctx = new KeyContext();
        for (const avoid of list) {
          for (let i = 0; i < 500; i++) {
            ctx.key = i % 5 === 0 ? undefined : `k${i}`;
            const picked = balancer.pick(ctx, avoid);
            assert.ok(picked !== undefined && picked !== avoid && list.includes(picked));
          }
        }
      }
    });

    test('returns the only host even when it is the one to avoid', () => {
      const list = hosts(1);
      const balancer = build(type, list);
      const ctx = new KeyContext();
      for (let i = 0; i < 10; i++) {
        ctx.key = `k${i}`;
        assert.equal(balancer.pick(ctx, list[0]), list[0]);
      }
    });

    test('ignores a host to avoid that is not in its list', () => {
      const list = hosts(1, 2);
      const stranger = hosts(1, 1, 1)[2];
      assertShares(measure(build(type, list), list, stranger), shares([1, 2]), tolerance);
    });

    test('spreads picks as expected over weights 1, 2, 7', () => {
      const list = hosts(1, 2, 7);
      assertShares(measure(build(type, list), list), shares([1, 2, 7]), tolerance);
    });

    test('spreads retries away from a host over the others as expected', () => {
      const list = hosts(1, 2, 7, 2);
      const measured = measure(build(type, list), list, list[2]);
      assert.equal(measured[2], 0);
      assertShares([measured[0], measured[1], measured[3]], shares([1, 2, 2]), tolerance);
    });

    test('picks the same sequence given the same random source', () => {
      const list = hosts(1, 2, 3, 4, 1);
      const run = (seed: number): number[] => {
        const balancer = build(type, list, seed);
        const ctx = new KeyContext();
        return Array.from({ length: 500 }, (_, i) => {
          ctx.key = i % 3 === 0 ? undefined : `k${i}`;
          return list.indexOf(balancer.pick(ctx, i % 7 === 0 ? list[1] : undefined)!);
        });
      };
      assert.deepEqual(run(7), run(7));
    });
  });
}
