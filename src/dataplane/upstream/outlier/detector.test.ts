import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutlierSettings } from '../../../config/model.js';
import { UpstreamHost, type TryOutcome } from '../host.js';
import { OutlierDetector, type EjectReason, type OutlierClock } from './detector.js';

const BASE = 1_000;
const MAX = 2_500;
const INTERVAL = 100;

const SETTINGS: OutlierSettings = {
  intervalMs: INTERVAL,
  consecutive5xx: 3,
  consecutiveGatewayErrors: 0,
  baseEjectionMs: BASE,
  maxEjectionMs: MAX,
  maxEjectionPercent: 100,
};

const OK: TryOutcome = { kind: 'status', status: 200 };
const NOT_FOUND: TryOutcome = { kind: 'status', status: 404 };
const E500: TryOutcome = { kind: 'status', status: 500 };
const E503: TryOutcome = { kind: 'status', status: 503 };
const RESET: TryOutcome = { kind: 'local', error: 'reset' };

class FakeClock implements OutlierClock {
  t = 1_000;
  intervals = 0;
  now(): number {
    return this.t;
  }
  setInterval(): unknown {
    return ++this.intervals;
  }
  clearInterval(): void {
    this.intervals--;
  }
}

function hosts(n: number): UpstreamHost[] {
  return Array.from({ length: n }, (_, i) => new UpstreamHost({ host: '127.0.0.1', port: 10_000 + i }, () => assert.fail('no traffic in unit tests')));
}

function setup(n: number, overrides: Partial<OutlierSettings> = {}) {
  const clock = new FakeClock();
  const list = hosts(n);
  const ejections: [UpstreamHost, EjectReason][] = [];
  let changes = 0;
  const detector = new OutlierDetector(list, { ...SETTINGS, ...overrides }, {
    onChange: () => changes++,
    onEject: (host, reason) => ejections.push([host, reason]),
  }, clock);
  return { clock, hosts: list, detector, ejections, changes: () => changes };
}

function repeat(detector: OutlierDetector, host: UpstreamHost, outcome: TryOutcome, times: number): void {
  for (let i = 0; i < times; i++) detector.report(host, outcome);
}

describe('OutlierDetector consecutive errors', () => {
  it('ejects at exactly the consecutive 5xx threshold', () => {
    const { hosts: [a], detector, ejections, changes, clock } = setup(3);
    repeat(detector, a, E500, 2);
    assert.equal(a.ejectedUntil, 0);
    detector.report(a, E500);
    assert.equal(a.ejectedUntil, clock.t + BASE);
    assert.equal(a.ejections, 1);
    assert.equal(a.healthy, false);
    assert.deepEqual(ejections, [[a, 'consecutive_5xx']]);
    assert.equal(changes(), 1);
  });

  it('counts local errors as 5xx and anything below 500 as success', () => {
    const { hosts: [a], detector } = setup(3);
    repeat(detector, a, RESET, 2);
    detector.report(a, NOT_FOUND);
    repeat(detector, a, E500, 2);
    assert.equal(a.ejectedUntil, 0, 'the 404 broke the run');
    detector.report(a, RESET);
    assert.notEqual(a.ejectedUntil, 0);
  });

  it('a success in between resets the run', () => {
    const { hosts: [a], detector } = setup(3);
    for (let i = 0; i < 5; i++) {
      repeat(detector, a, E500, 2);
      detector.report(a, OK);
    }
    assert.equal(a.ejectedUntil, 0);
  });

  it('ejects on consecutive gateway errors; another 5xx breaks that run', () => {
    const { hosts: [a, b], detector, ejections } = setup(3, { consecutive5xx: 0, consecutiveGatewayErrors: 3 });
    repeat(detector, a, E503, 2);
    detector.report(a, E500);
    repeat(detector, a, E503, 2);
    assert.equal(a.ejectedUntil, 0);
    detector.report(a, RESET);
    repeat(detector, b, E500, 10);
    assert.deepEqual(ejections, [[a, 'consecutive_gateway_errors']], 'plain 5xx do not count when only gateway errors are configured');
  });

  it('ignores reports for an ejected host and after stop()', () => {
    const { hosts: [a, b], detector, ejections } = setup(3);
    repeat(detector, a, E500, 6);
    assert.equal(ejections.length, 1);
    assert.equal(a.ejections, 1);
    detector.stop();
    repeat(detector, b, E500, 6);
    assert.equal(b.ejectedUntil, 0);
  });
});

describe('OutlierDetector ejection time', () => {
  it('grows by the base per ejection, capped at the maximum, and ends on tick', () => {
    const { hosts: [a], detector, clock, changes } = setup(3);
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      repeat(detector, a, E500, 3);
      durations.push(a.ejectedUntil - clock.t);
      clock.t = a.ejectedUntil - 1;
      detector.tick();
      assert.notEqual(a.ejectedUntil, 0, 'still ejected one ms before its time');
      clock.t += 1;
      detector.tick();
      assert.equal(a.ejectedUntil, 0);
    }
    assert.deepEqual(durations, [BASE, 2 * BASE, MAX, MAX]);
    assert.equal(changes(), 8, 'one per ejection and one per return');
  });

  it('decays the ejection count by one per interval the host stays in', () => {
    const { hosts: [a], detector, clock } = setup(3);
    for (let i = 0; i < 3; i++) {
      repeat(detector, a, E500, 3);
      clock.t = a.ejectedUntil;
      detector.tick();
    }
    assert.equal(a.ejections, 3, 'no decay on the tick that returns the host');
    detector.tick();
    detector.tick();
    assert.equal(a.ejections, 1);
    repeat(detector, a, E500, 3);
    assert.equal(a.ejectedUntil - clock.t, 2 * BASE, 'the next ejection is short again');
    detector.tick();
    assert.equal(a.ejections, 2, 'no decay while ejected');
    clock.t = a.ejectedUntil;
    detector.tick();
    detector.tick();
    detector.tick();
    detector.tick();
    assert.equal(a.ejections, 0, 'never below zero');
  });
});

describe('OutlierDetector max ejection percent', () => {
  function ejectAll(detector: OutlierDetector, list: UpstreamHost[]): number {
    for (const h of list) repeat(detector, h, E500, 3);
    return list.filter((h) => h.ejectedUntil !== 0).length;
  }

  it('10 hosts at 20% eject at most 2', () => {
    const { hosts: list, detector } = setup(10, { maxEjectionPercent: 20 });
    assert.equal(ejectAll(detector, list), 2);
  });

  it('always allows one ejection: 3 hosts at 10% still eject 1', () => {
    const { hosts: list, detector } = setup(3, { maxEjectionPercent: 10 });
    assert.equal(ejectAll(detector, list), 1);
  });

  it('never ejects the last host still in', () => {
    const { hosts: list, detector } = setup(3);
    assert.equal(ejectAll(detector, list), 2);
    const { hosts: [only], detector: single } = setup(1);
    repeat(single, only, E500, 10);
    assert.equal(only.ejectedUntil, 0);
  });

  it('frees room when a host returns, and counts hosts already ejected by an earlier detector', () => {
    const first = setup(3, { maxEjectionPercent: 10 });
    const [a, b] = first.hosts;
    repeat(first.detector, a, E500, 3);
    const clock = first.clock;
    const reloaded = new OutlierDetector(first.hosts, { ...SETTINGS, maxEjectionPercent: 10 }, { onChange: () => undefined, onEject: () => undefined }, clock);
    repeat(reloaded, b, E500, 3);
    assert.equal(b.ejectedUntil, 0, 'a is still out');
    clock.t = a.ejectedUntil;
    reloaded.tick();
    repeat(reloaded, b, E500, 3);
    assert.notEqual(b.ejectedUntil, 0);
  });
});

describe('OutlierDetector success rate', () => {
  const successRate = { minimumHosts: 5, requestVolume: 100, stdevFactor: 1900 };

  function traffic(detector: OutlierDetector, list: UpstreamHost[], failures: number[], volume = 100): void {
    list.forEach((h, i) => {
      // Failures spread out so that no run of 5xx reaches the consecutive threshold.
      for (let r = 0; r < volume; r++) detector.report(h, r < failures[i] * 2 && r % 2 === 0 ? E500 : OK);
    });
  }

  it('ejects the outlier among 5 hosts', () => {
    const { hosts: list, detector, ejections, changes } = setup(5, { successRate });
    traffic(detector, list, [0, 1, 0, 1, 50]);
    assert.equal(ejections.length, 0, 'nothing before the sweep');
    detector.tick();
    assert.deepEqual(ejections, [[list[4], 'success_rate']]);
    assert.equal(changes(), 1);
  });

  it('ejects nothing when hosts are alike', () => {
    const { hosts: list, detector, ejections } = setup(5, { successRate });
    traffic(detector, list, [3, 2, 3, 2, 3]);
    detector.tick();
    assert.equal(ejections.length, 0);
  });

  it('ejects nothing below the request volume or with too few hosts', () => {
    const low = setup(5, { successRate });
    traffic(low.detector, low.hosts, [0, 1, 0, 1, 50], 99);
    low.detector.tick();
    assert.equal(low.ejections.length, 0, 'below request volume');

    const few = setup(5, { successRate });
    traffic(few.detector, few.hosts.slice(0, 4), [0, 1, 0, 50]);
    few.detector.tick();
    assert.equal(few.ejections.length, 0, 'only 4 hosts with enough volume');
  });

  it('starts a new window each sweep', () => {
    const { hosts: list, detector, ejections } = setup(5, { successRate });
    traffic(detector, list, [0, 1, 0, 1, 50], 60);
    detector.tick();
    traffic(detector, list, [0, 1, 0, 1, 50], 60);
    detector.tick();
    assert.equal(ejections.length, 0, 'two windows of 60 never add up to 100');
  });
});

describe('OutlierDetector lifecycle', () => {
  it('start() sets one interval and stop() clears it', () => {
    const { detector, clock } = setup(2);
    detector.start();
    detector.start();
    assert.equal(clock.intervals, 1);
    detector.stop();
    assert.equal(clock.intervals, 0);
  });
});
