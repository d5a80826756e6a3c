//! End to end: endpoint health. Outlier detection ejects a slow endpoint and lets it back once its
//! time is up; active health checks take an endpoint out and bring it back; with every endpoint down
//! the panic threshold keeps traffic flowing; the stream idle timeout cuts a backend gone silent.

import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startLoad, type LoadResult } from '../helpers/load.js';
import { metric, until, waitForMetric } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { docs, gateway, scenario } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

/** An echo backend whose /healthz answers `health()`; `onRequest` may take over any other request. */
function healthBackend(
  name: string, health: () => number,
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<Backend> {
  return startBackend(name, (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(health(), { 'content-length': '0' });
      res.end();
      return true;
    }
    return onRequest?.(req, res) ?? false;
  });
}

/** Sends `n` GETs to `<origin><prefix><i>` on 4 connections and returns which backend answered each. */
function burst(origin: string, prefix: string, n: number): Promise<LoadResult[]> {
  return startLoad(origin, { connections: 4, requests: n, path: (i) => `${prefix}${i}` }).done;
}

const count = (results: readonly LoadResult[], name: string) => results.filter((r) => r.backend === name).length;

describe('endpoint health', () => {
  let gw: Windrose;
  let base: string;
  const servers: Backend[] = [];
  /** Whether "slow" takes 1s to answer, and when each of its non-check requests arrived. */
  let slowMode = true;
  const slowArrivals: { at: number; url: string }[] = [];
  let checkedHealth = 500;

  before(async () => {
    const slow = await healthBackend('slow', () => 200, (req, res) => {
      slowArrivals.push({ at: performance.now(), url: req.url ?? '' });
      if (!slowMode) return false;
      const timer = setTimeout(() => {
        res.writeHead(200, { 'x-backend': 'slow', 'content-length': '4' });
        res.end('slow');
      }, 1000);
      res.once('close', () => clearTimeout(timer));
      return true;
    });
    const fast = await startBackend('fast');
    const [c1, c2] = await Promise.all([healthBackend('c1', () => 200), healthBackend('c2', () => checkedHealth)]);
    const [p1, p2] = await Promise.all([healthBackend('p1', () => 500), healthBackend('p2', () => 500)]);
    const stall = await startBackend('stall', (req, res) => {
      if (req.url === '/stall/after-head') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('x'.repeat(10));
      } else if (req.url === '/stall/trickle') {
        // Ten chunks 100ms apart: never silent for the idle timeout, though longer than it in all.
        res.writeHead(200, { 'content-length': '10' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write('x');
          if (++sent === 10) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.once('close', () => clearInterval(timer));
      }
      // /stall/before-head: no answer at all.
      return true;
    });
    servers.push(slow, fast, c1, c2, p1, p2, stall);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const activeCheck = { type: 'HTTP', http: { path: '/healthz' }, interval: '100ms', timeout: '500ms' };
    gw = await startWindrose({
      'config.yaml': docs(
        gateway({ http: port }),
        // Every client connection can be waiting on "slow" at once, so all of them may need a retry at once: the
        // breaker's default of 3 retries in flight would turn the fourth into a 504.
        scenario('pair', [slow, fast], {
          retry: { numRetries: 2, perRetry: { timeout: '300ms' } },
          circuitBreaker: { maxParallelRetries: 4 },
          healthCheck: { passive: { interval: '200ms', consecutiveGatewayErrors: 2, baseEjectionTime: '1s', maxEjectionPercent: 50 } },
        }),
        scenario('checked', [c1, c2], { healthCheck: { active: { ...activeCheck, unhealthyThreshold: 2, healthyThreshold: 1 } } }),
        scenario('panic', [p1, p2], { healthCheck: { active: { ...activeCheck, unhealthyThreshold: 1 } } }),
        scenario('stall', [stall], { timeout: { http: { streamIdleTimeout: '200ms' } } }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('a slow endpoint is ejected by its timeouts, gets nothing while ejected, and takes traffic again after', { timeout: 60_000 }, async (t) => {
    const series = { backend: 'Backend default/pair' };
    const sentAt: number[] = [];
    const load = startLoad(base, {
      connections: 4,
      path: (n) => {
        sentAt[n] = performance.now();
        return `/pair/${n}`;
      },
    });
    /** When the client sent the request a try at "slow" belongs to. */
    const sent = (url: string) => sentAt[Number(url.slice('/pair/'.length))];
    let quiet = 0;
    try {
      const startedAt = performance.now();
      await waitForMetric(gw, 'windrose_upstream_ejections_total', series, (v) => v > 0);
      const ejectedAt = performance.now();
      slowMode = false;
      t.diagnostic(`ejection seen ${Math.round(ejectedAt - startedAt)}ms after the load started`);
      assert.equal(await metric(gw, 'windrose_upstream_ejections_total', { ...series, reason: 'consecutive_gateway_errors' }), 1);
      // A request sent once the ejection is seen was routed after it, so it reaches "slow" only once the ejection is over.
      const back = await until('the ejected endpoint to get traffic again', () => {
        const i = slowArrivals.findIndex((a) => sent(a.url) > ejectedAt);
        return i < 0 ? undefined : i;
      }, 5000);
      // Before it, "slow" got only tries sent before the ejection: the silence in between is the ejection time.
      quiet = slowArrivals[back].at - slowArrivals[back - 1].at;
      t.diagnostic(`"slow" got no request for ${Math.round(quiet)}ms (base ejection time 1s)`);
      await until('the returned endpoint to answer requests', () => (count(load.results.filter((r) => r.at > slowArrivals[back].at), 'slow') >= 20 ? true : undefined));
    } finally {
      await load.stop();
    }
    assert.ok(quiet >= 900, `the ejected endpoint got a request ${Math.round(quiet)}ms after the one before`);
    assert.equal(await metric(gw, 'windrose_upstream_ejections_total', series), 1, 'the endpoint, fast again, was not ejected again');
    const rate = load.ok / load.results.length;
    t.diagnostic(`${load.results.length} requests, ${load.failures.length} failed`);
    assert.ok(rate >= 0.99, `success rate ${rate}: timed-out tries were retried on the other endpoint`);
  });

  test('active health checks take a failing endpoint out and bring it back once it passes', { timeout: 30_000 }, async () => {
    const series = { backend: 'Backend default/checked' };
    await waitForMetric(gw, 'windrose_upstream_health_transitions_total', { ...series, state: 'unhealthy' }, (v) => v >= 1);
    assert.equal(await metric(gw, 'windrose_upstream_endpoints', { ...series, state: 'unhealthy' }), 1);
    const down = await burst(base, '/checked/', 40);
    assert.deepEqual([count(down, 'c1'), count(down, 'c2')], [40, 0], 'the unhealthy endpoint gets no traffic');

    checkedHealth = 200;
    await waitForMetric(gw, 'windrose_upstream_health_transitions_total', { ...series, state: 'healthy' }, (v) => v >= 1);
    const up = await burst(base, '/checked/', 40);
    assert.equal(count(up, 'c1') + count(up, 'c2'), 40);
    assert.ok(count(up, 'c2') >= 10, `the endpoint back in got ${count(up, 'c2')} of 40`);
    assert.equal(await metric(gw, 'windrose_upstream_health_transitions_total', { ...series, state: 'unhealthy' }), 1);
    assert.equal(await metric(gw, 'windrose_upstream_health_transitions_total', { ...series, state: 'healthy' }), 1);
  });

  test('with every endpoint failing its checks, the panic threshold keeps requests flowing to all of them', { timeout: 30_000 }, async () => {
    const series = { backend: 'Backend default/panic' };
    await waitForMetric(gw, 'windrose_upstream_endpoints', { ...series, state: 'unhealthy' }, (v) => v === 2);
    const results = await burst(base, '/panic/', 20);
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
    assert.ok(count(results, 'p1') > 0 && count(results, 'p2') > 0, 'both endpoints took traffic');
    assert.ok(await metric(gw, 'windrose_upstream_panic_total', series) >= 20);
  });

  test('the stream idle timeout cuts a response that stalls and answers 504 to a backend that never starts one', { timeout: 30_000 }, async () => {
    let started = performance.now();
    const res = await request(`${base}/stall/after-head`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text(), 'the cut-off body is an error, not a short response');
    const cutAfter = performance.now() - started;
    assert.ok(cutAfter >= 180 && cutAfter < 2000, `cut after ${Math.round(cutAfter)}ms for a 200ms idle timeout`);

    started = performance.now();
    const silent = await request(`${base}/stall/before-head`);
    const text = await silent.body.text();
    const silentAfter = performance.now() - started;
    assert.equal(silent.statusCode, 504);
    assert.equal(silent.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'upstream_timeout');
    assert.ok(silentAfter >= 180 && silentAfter < 2000, `answered after ${Math.round(silentAfter)}ms`);

    started = performance.now();
    const trickle = await request(`${base}/stall/trickle`);
    assert.equal(trickle.statusCode, 200);
    assert.equal(await trickle.body.text(), 'x'.repeat(10));
    assert.ok(performance.now() - started >= 900, 'a body that keeps coming may take longer than the idle timeout');
  });
});
