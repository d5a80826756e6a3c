//! End to end: how windrose spreads requests over backends and endpoints — weighted backendRefs (a 5%
//! canary), the BackendTrafficPolicy load balancer types, ring-hash affinity across reloads and endpoint
//! changes, and zone-aware routing that spills to other zones when the local one fails.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startLoad, type LoadResult } from '../helpers/load.js';
import { waitForMetric } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { backend, docs, gateway, policy, route } from '../helpers/resources.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

/** Sends one GET and returns the x-backend of its 200 answer. */
async function backendOf(pool: Pool, path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await pool.request({ path, method: 'GET', headers });
  await res.body.dump();
  assert.equal(res.statusCode, 200, `GET ${path} ${JSON.stringify(headers)}`);
  return String(res.headers['x-backend']);
}

/** Sends `n` GETs over `connections` keep-alive connections; the answers counted by x-backend. */
async function tally(origin: string, path: string, n: number, connections = 8): Promise<Map<string, number>> {
  const pool = new Pool(origin, { connections });
  const counts = new Map<string, number>();
  let sent = 0;
  try {
    await Promise.all(Array.from({ length: connections }, async () => {
      while (sent < n) {
        sent++;
        const name = await backendOf(pool, path);
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }));
  } finally {
    await pool.close();
  }
  return counts;
}

function byBackend(results: readonly LoadResult[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of results) if (r.backend !== undefined) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
  return counts;
}

const share = (counts: ReadonlyMap<string, number>, name: string): number => {
  let total = 0;
  for (const v of counts.values()) total += v;
  return (counts.get(name) ?? 0) / total;
};

const shares = (counts: ReadonlyMap<string, number>): string =>
  [...counts.keys()].sort().map((k) => `${k} ${(share(counts, k) * 100).toFixed(1)}%`).join(', ');

describe('weighted backendRefs and balancer types', () => {
  let gw: Windrose;
  const servers: Backend[] = [];
  const origins: Record<string, string> = {};
  /** Answers of e3 to /least, the path the least-request test asks for, take this long. */
  const SLOW_MS = 50;

  before(async () => {
    const slowOnLeast = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
      if (req.url !== '/least') return false;
      const timer = setTimeout(() => res.writeHead(200, { 'x-backend': 'e3', 'content-length': '0' }).end(), SLOW_MS);
      res.once('close', () => clearTimeout(timer));
      return true;
    };
    servers.push(...await Promise.all([
      startBackend('stable'), startBackend('canary'), startBackend('e1'), startBackend('e2'), startBackend('e3', slowOnLeast),
    ]));
    const [stable, canary, e1, e2, e3] = servers;
    const ports = { main: await freePort(), canary: await freePort(), least: await freePort() };
    for (const [k, p] of Object.entries(ports)) origins[k] = `http://127.0.0.1:${p}`;
    const trio = [{ port: e1.port }, { port: e2.port }, { port: e3.port }];
    gw = await startWindrose({
      'gateway.yaml': gateway(ports),
      'backends.yaml': docs(
        backend('stable', [{ port: stable.port }]),
        backend('canary', [{ port: canary.port }]),
        backend('trio', trio),
        backend('trio-random', trio),
        backend('trio-least', trio),
        backend('weighted', [{ port: e1.port, weight: 1 }, { port: e2.port, weight: 3 }]),
      ),
      'routes.yaml': docs(
        route('canary', { sectionName: 'canary', backends: [{ name: 'stable', weight: 95 }, { name: 'canary', weight: 5 }] }),
        route('rr', { sectionName: 'main', backends: ['trio'], path: '/rr' }),
        route('weighted', { sectionName: 'main', path: '/weighted' }),
        route('random', { sectionName: 'main', backends: ['trio-random'], path: '/random' }),
        route('least', { sectionName: 'least', backends: ['trio-least'] }),
      ),
      'policies.yaml': docs(
        policy('random', { loadBalancer: { type: 'Random' } }),
        policy('least', { loadBalancer: { type: 'LeastRequest' } }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('a 95/5 split sends 5% ± 1% of 20,000 requests to the canary', async (t) => {
    const started = performance.now();
    const results = await startLoad(origins.canary, { connections: 16, requests: 20_000 }).done;
    const counts = byBackend(results);
    t.diagnostic(`${results.length} requests in ${((performance.now() - started) / 1000).toFixed(1)}s: canary ${(share(counts, 'canary') * 100).toFixed(2)}%`);
    assert.deepEqual(results.filter((r) => r.status !== 200), []);
    assert.equal(results.length, 20_000);
    assert.deepEqual([...counts.keys()].sort(), ['canary', 'stable']);
    assert.ok(Math.abs(share(counts, 'canary') - 0.05) <= 0.01, shares(counts));
  });

  test('round robin, the default, gives each of 3 endpoints a third (± 5%) of 600 requests', async (t) => {
    const counts = await tally(origins.main, '/rr', 600);
    t.diagnostic(shares(counts));
    assert.deepEqual([...counts.keys()].sort(), ['e1', 'e2', 'e3']);
    for (const name of counts.keys()) assert.ok(Math.abs(share(counts, name) - 1 / 3) <= 0.05, shares(counts));
  });

  test('endpoint weights 1 and 3 split 800 requests 25% / 75%', async (t) => {
    const counts = await tally(origins.main, '/weighted', 800);
    t.diagnostic(shares(counts));
    assert.deepEqual([...counts.keys()].sort(), ['e1', 'e2']);
    assert.ok(Math.abs(share(counts, 'e1') - 0.25) <= 0.03, shares(counts));
  });

  test('Random spreads 1,500 requests roughly evenly over 3 endpoints', async (t) => {
    const counts = await tally(origins.main, '/random', 1500);
    t.diagnostic(shares(counts));
    assert.deepEqual([...counts.keys()].sort(), ['e1', 'e2', 'e3']);
    // 7 points is over 5 standard deviations of a fair share of 1,500 draws.
    for (const name of counts.keys()) assert.ok(Math.abs(share(counts, name) - 1 / 3) <= 0.07, shares(counts));
  });

  test(`LeastRequest gives an endpoint answering in ${SLOW_MS}ms clearly less than a third under concurrent load`, async (t) => {
    const results = await startLoad(origins.least, { connections: 12, requests: 1500, path: () => '/least' }).done;
    const counts = byBackend(results);
    t.diagnostic(shares(counts));
    assert.deepEqual(results.filter((r) => r.status !== 200), []);
    assert.ok(share(counts, 'e3') < 0.2, shares(counts));
    // Both fast endpoints stay in use: the balancer avoids the slow one, it does not pin to one host.
    assert.ok(share(counts, 'e1') > 0.3 && share(counts, 'e2') > 0.3, shares(counts));
  });
});

describe('consistent hashing', () => {
  let gw: Windrose;
  let port: number;
  let pool: Pool;
  const servers: Backend[] = [];
  const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  let version = 1;
  /** Each key's endpoint under the first config. */
  let first: Map<string, string>;
  const byHeader = { type: 'ConsistentHash', consistentHash: { type: 'Header', header: { name: 'x-user' } } };

  /** Every key's backend, asked twice; the two answers must agree. */
  async function mapKeys(): Promise<Map<string, string>> {
    const answers = await Promise.all(keys.flatMap((k) => [backendOf(pool, '/', { 'x-user': k }), backendOf(pool, '/', { 'x-user': k })]));
    const map = new Map<string, string>();
    keys.forEach((k, i) => {
      assert.equal(answers[2 * i], answers[2 * i + 1], `${k} was answered by ${answers[2 * i]}, then by ${answers[2 * i + 1]}`);
      map.set(k, answers[2 * i]);
    });
    return map;
  }

  async function change(name: string, text: string): Promise<void> {
    gw.write(name, text);
    version++;
    await waitForVersion(gw, version);
  }

  const ringBackend = (n: number): string => backend('ring', servers.slice(0, n).map((s) => ({ port: s.port })));

  before(async () => {
    servers.push(...await Promise.all(['r0', 'r1', 'r2', 'r3', 'r4'].map((n) => startBackend(n))));
    port = await freePort();
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
    gw = await startWindrose({
      'gateway.yaml': gateway({ http: port }),
      'backend.yaml': ringBackend(4),
      'route.yaml': route('ring', { sectionName: 'http' }),
      'policy.yaml': policy('ring', { loadBalancer: byHeader }),
    });
  });

  after(async () => {
    await pool?.close();
    await gw?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('a header key always reaches the same endpoint, and 200 keys use all 4', async (t) => {
    first = await mapKeys();
    const used = new Map<string, number>();
    for (const b of first.values()) used.set(b, (used.get(b) ?? 0) + 1);
    t.diagnostic(`keys per endpoint: ${[...used].sort().map(([b, n]) => `${b} ${n}`).join(', ')}`);
    assert.deepEqual([...used.keys()].sort(), ['r0', 'r1', 'r2', 'r3']);
  });

  test('reloads keep every key on its endpoint: an unrelated route, and new connection settings for the backend', async () => {
    await change('other.yaml', route('other', { sectionName: 'http', backends: ['ring'], path: '/other' }));
    assert.deepEqual(await mapKeys(), first);
    // New settings make a new cluster, with new connection pools and a ring built afresh.
    await change('policy.yaml', policy('ring', { loadBalancer: byHeader, timeout: { http: { idleTimeout: '20s' } } }));
    assert.deepEqual(await mapKeys(), first);
  });

  test('a 5th endpoint moves only about a fifth of the keys, all of them to the new endpoint', async (t) => {
    await change('backend.yaml', ringBackend(5));
    const now = await mapKeys();
    const moved = keys.filter((k) => now.get(k) !== first.get(k));
    t.diagnostic(`${moved.length} of ${keys.length} keys moved (${((moved.length / keys.length) * 100).toFixed(1)}%; ideal 20%)`);
    assert.ok(moved.length > 0, 'the new endpoint takes some keys');
    assert.ok(moved.length <= 0.3 * keys.length, `${moved.length} keys moved`);
    for (const k of moved) assert.equal(now.get(k), 'r4', `${k} moved from ${first.get(k)} to ${now.get(k)}`);
  });

  test('Cookie: requests with the same cookie reach the same endpoint', async () => {
    await change('policy.yaml', policy('ring', { loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'Cookie', cookie: { name: 'session' } } } }));
    const sessions = Array.from({ length: 30 }, (_, i) => `s${i}-${i * 7919}`);
    const used = new Set<string>();
    for (const s of sessions) {
      const answers = await Promise.all([1, 2, 3].map((n) => backendOf(pool, '/', { cookie: `theme=${n}; session=${s}; lang=en` })));
      assert.equal(new Set(answers).size, 1, `session ${s} was answered by ${answers.join(', ')}`);
      used.add(answers[0]);
    }
    assert.ok(used.size >= 3, `30 sessions reached only ${[...used].join(', ')}`);
  });

  test('SourceIP: every request from one client address reaches the same endpoint, other addresses spread', async () => {
    await change('policy.yaml', policy('ring', { loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'SourceIP' } } }));
    const fromLocalhost = await tally(`http://127.0.0.1:${port}`, '/', 100);
    assert.equal(fromLocalhost.size, 1, `127.0.0.1 reached ${shares(fromLocalhost)}`);
    // Any 127/8 address is loopback, so other clients can be played from this host.
    const used = new Set<string>();
    for (let i = 2; i <= 17; i++) {
      const client = new Pool(`http://127.0.0.1:${port}`, { connections: 2, localAddress: `127.0.0.${i}` });
      try {
        const answers = await Promise.all([0, 1, 2, 3].map(() => backendOf(client, '/')));
        assert.equal(new Set(answers).size, 1, `127.0.0.${i} was answered by ${answers.join(', ')}`);
        used.add(answers[0]);
      } finally {
        await client.close();
      }
    }
    assert.ok(used.size >= 2, `16 client addresses all reached ${[...used].join(', ')}`);
  });
});

describe('locality', () => {
  /** Servers whose /healthz answers 503. */
  const sick = new Set<string>();
  const servers = new Map<string, Backend>();
  let ports: Record<string, number>;
  let config: Record<string, string>;

  const healthz = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (req.url !== '/healthz') return false;
    res.writeHead(sick.has(name) ? 503 : 200, { 'content-length': '0' }).end();
    return true;
  };

  before(async () => {
    for (const name of ['a1', 'a2', 'b1', 'pa1', 'pa2', 'pb1']) servers.set(name, await startBackend(name, healthz(name)));
    ports = { plain: await freePort(), checked: await freePort(), passive: await freePort() };
    const zoned = (prefix: string) => [
      { port: servers.get(`${prefix}a1`)!.port, zone: 'zone-a' },
      { port: servers.get(`${prefix}a2`)!.port, zone: 'zone-a' },
      { port: servers.get(`${prefix}b1`)!.port, zone: 'zone-b' },
    ];
    config = {
      'gateway.yaml': gateway(ports),
      'backends.yaml': docs(backend('zoned', zoned('')), backend('zoned-checked', zoned('')), backend('zoned-passive', zoned('p'))),
      'routes.yaml': docs(
        route('plain', { sectionName: 'plain', backends: ['zoned'] }),
        route('checked', { sectionName: 'checked', backends: ['zoned-checked'] }),
        route('passive', { sectionName: 'passive', backends: ['zoned-passive'] }),
      ),
      'policies.yaml': docs(
        policy('checked', {
          // Without a panic threshold, two of three endpoints down would spread traffic over all three again.
          loadBalancer: { panicThreshold: 0 },
          healthCheck: { active: { type: 'HTTP', http: { path: '/healthz' }, interval: '100ms', timeout: '1s', unhealthyThreshold: 1, healthyThreshold: 1 } },
        }),
        policy('passive', {
          loadBalancer: { panicThreshold: 0 },
          healthCheck: { passive: { consecutive5XxErrors: 1, maxEjectionPercent: 100, baseEjectionTime: '60s', interval: '1s' } },
          retry: { numRetries: 2, retryOn: { triggers: ['connect-failure', 'reset'] }, perRetry: { backOff: { baseInterval: '1ms' } } },
          // Every request on a connection that was cut retries at once; the default of 3 parallel retries would refuse some.
          circuitBreaker: { maxParallelRetries: 100 },
        }),
      ),
    };
  });

  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
  });

  describe('with --zone zone-a', () => {
    let gw: Windrose;
    before(async () => {
      gw = await startWindrose(config, { args: ['--zone', 'zone-a'] });
    });
    after(async () => {
      await gw?.stop();
    });

    test('all traffic stays on the two zone-a endpoints', async (t) => {
      const counts = await tally(`http://127.0.0.1:${ports.plain}`, '/', 600);
      t.diagnostic(shares(counts));
      assert.deepEqual([...counts.keys()].sort(), ['a1', 'a2']);
      assert.ok(Math.abs(share(counts, 'a1') - 0.5) <= 0.05, shares(counts));
    });

    test('active checks failing in zone-a: half the zone down spills 30% to zone-b, all of it down sends everything there', async (t) => {
      const origin = `http://127.0.0.1:${ports.checked}`;
      const unhealthy = { backend: 'Backend default/zoned-checked', state: 'unhealthy' };
      assert.deepEqual([...(await tally(origin, '/', 300)).keys()].sort(), ['a1', 'a2']);

      sick.add('a1');
      await waitForMetric(gw, 'windrose_upstream_endpoints', unhealthy, (v) => v === 1);
      const half = await tally(origin, '/', 1500);
      t.diagnostic(`a1 down: ${shares(half)}`);
      assert.deepEqual([...half.keys()].sort(), ['a2', 'b1']);
      // One of two local endpoints healthy, stretched by the overprovisioning factor 1.4, keeps 70% local.
      assert.ok(Math.abs(share(half, 'b1') - 0.3) <= 0.06, shares(half));

      sick.add('a2');
      await waitForMetric(gw, 'windrose_upstream_endpoints', unhealthy, (v) => v === 2);
      const none = await tally(origin, '/', 300);
      t.diagnostic(`a1 and a2 down: ${shares(none)}`);
      assert.deepEqual([...none.keys()], ['b1']);

      sick.clear();
      await waitForMetric(gw, 'windrose_upstream_endpoints', unhealthy, (v) => v === 0);
      assert.deepEqual([...(await tally(origin, '/', 300)).keys()].sort(), ['a1', 'a2'], 'traffic returns to zone-a once it is healthy');
    });

    test('zone-a endpoints stopping under load: outlier detection and retries move traffic to zone-b without a failed request', async (t) => {
      const load = startLoad(`http://127.0.0.1:${ports.passive}`, { connections: 8 });
      let mark = 0;
      try {
        await load.more(300);
        assert.ok(!load.results.some((r) => r.backend === 'pb1'), 'zone-b idles while zone-a is healthy');
        await Promise.all([servers.get('pa1')!.close(), servers.get('pa2')!.close()]);
        await load.more(300);
        mark = load.results.length;
        await load.more(300);
      } finally {
        await load.stop();
      }
      const afterwards = byBackend(load.results.slice(mark));
      t.diagnostic(`${load.results.length} requests, ${load.failures.length} failed; once zone-a had stopped: ${shares(afterwards)}`);
      assert.deepEqual(load.failures, []);
      assert.deepEqual([...afterwards.keys()], ['pb1']);
      await waitForMetric(gw, 'windrose_upstream_ejections_total', { backend: 'Backend default/zoned-passive' }, (v) => v === 2);
    });
  });

  test('without --zone, all three endpoints share the traffic', async (t) => {
    const gw = await startWindrose(config);
    try {
      const counts = await tally(`http://127.0.0.1:${ports.plain}`, '/', 600);
      t.diagnostic(shares(counts));
      assert.deepEqual([...counts.keys()].sort(), ['a1', 'a2', 'b1']);
      for (const name of counts.keys()) assert.ok(Math.abs(share(counts, name) - 1 / 3) <= 0.05, shares(counts));
    } finally {
      await gw.stop();
    }
  });
});
