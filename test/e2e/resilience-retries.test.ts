//! End to end: retries. A backend killed under load costs no request and is ejected; a retry budget
//! caps the extra load retries put on a failing backend; nothing is retried once the response has
//! started; non-idempotent requests and large bodies are retried only when safe; per-try timeouts;
//! and the Gateway API's own HTTPRoute `retry` field.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startLoad } from '../helpers/load.js';
import { metric, until } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { backend, docs, gateway, route, scenario } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

interface Arrival {
  readonly method: string;
  readonly body: Buffer;
}

/**
 * A loopback backend that keeps every request's method and body bytes by URL, so a test can see
 * each try of one request. `answer` gets the request and how many times its URL has arrived.
 */
class Recorder {
  readonly arrivals = new Map<string, Arrival[]>();
  requests = 0;
  /** TCP connections accepted. */
  connections = 0;
  readonly server: http.Server;

  constructor(answer: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const url = req.url ?? '';
        const list = this.arrivals.get(url) ?? [];
        list.push({ method: req.method ?? '', body: Buffer.concat(chunks) });
        this.arrivals.set(url, list);
        answer(req, res, list.length);
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  tries(url: string): Arrival[] {
    return this.arrivals.get(url) ?? [];
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), 'x-backend': 'recorder' });
  res.end(text);
}

/**
 * The path says how the backend treats a URL: `/first-503/` answers 503 to its first try only,
 * `/first-slow/` answers its first try after 500ms, `/always-503/` always fails; the rest answer 200.
 */
function flakyAnswer(req: http.IncomingMessage, res: http.ServerResponse, nth: number): void {
  const url = req.url ?? '';
  if (url.includes('/always-503/') || (url.includes('/first-503/') && nth === 1)) return reply(res, 503, 'unavailable');
  if (url.includes('/first-slow/') && nth === 1) {
    const timer = setTimeout(() => reply(res, 200, `slow try ${nth}`), 500);
    res.once('close', () => clearTimeout(timer));
    return;
  }
  reply(res, 200, `try ${nth}`);
}

/** Response of a request made with undici, body read whole. */
async function send(url: string, opts: Parameters<typeof request>[1] = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const res = await request(url, opts);
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

describe('retries', () => {
  let gw: Windrose;
  let base: string;
  let trio: Backend[];
  /** Answers 503 to every other request it receives, whichever route it came from. */
  let half: Recorder;
  /** Sends a 200 head and 10 of 100 body bytes, then drops the connection. */
  let dying: Recorder;
  let flaky: Recorder;

  before(async () => {
    trio = await Promise.all(['t1', 't2', 't3'].map((n) => startBackend(n)));
    half = new Recorder((_req, res) => (half.requests % 2 === 1 ? reply(res, 503, 'unavailable') : reply(res, 200, 'ok')));
    dying = new Recorder((req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x'.repeat(10), () => req.socket.destroy());
    });
    flaky = new Recorder(flakyAnswer);
    await Promise.all([half.listen(), dying.listen(), flaky.listen()]);
    const port = await freePort();
    // Privileged, so never handed out for port 0: no server of a test running alongside can take it over.
    const deadPort = 1;
    base = `http://127.0.0.1:${port}`;
    const retryOnFailure = { triggers: ['connect-failure', 'reset', 'retriable-status-codes'], httpStatusCodes: [502, 503, 504] };
    const retryOn503 = { triggers: ['retriable-status-codes'], httpStatusCodes: [503] };
    const retryHalf = (budget: Record<string, unknown>) => ({
      retry: { numRetries: 4, retryOn: retryOn503, perRetry: { backOff: { baseInterval: '1ms', maxInterval: '5ms' } }, budget },
      circuitBreaker: { maxParallelRetries: 8 },
    });
    gw = await startWindrose({
      'config.yaml': docs(
        gateway({ http: port }),
        // At the kill every client connection may have a request on the victim; each may need a retry at once,
        // more than the breaker's default of 3 retries in flight.
        scenario('trio', trio, {
          retry: { numRetries: 2, retryOn: retryOnFailure, perRetry: { backOff: { baseInterval: '10ms', maxInterval: '50ms' } } },
          healthCheck: { passive: { consecutiveGatewayErrors: 3, baseEjectionTime: '30s' } },
          circuitBreaker: { maxParallelRetries: 8 },
        }),
        // Two Backends on the one port, so each route's retries have their own budget and metrics. The
        // breaker's default of 3 retries in flight would refuse some of the retries 8 clients need, hiding the budget's effect.
        scenario('half-free', [half], retryHalf({ disabled: true })),
        scenario('half-budget', [half], retryHalf({ percent: 20, minRetriesPerSecond: 1, interval: '30s' })),
        scenario('dying', [dying], { retry: { numRetries: 2, retryOn: retryOnFailure } }),
        scenario('idem', [flaky], { retry: { numRetries: 2, retryOn: retryOn503 } }),
        scenario('nonidem', [flaky], { retry: { numRetries: 2, retryOn: { ...retryOn503, nonIdempotent: true }, maxBodySize: '1Ki' } }),
        // The refused endpoint weighs 50 times the live one, so nearly every first try is refused.
        scenario('dead-first', [{ port: deadPort, weight: 50 }, { port: flaky.port, weight: 1 }], { retry: { numRetries: 2 } }),
        scenario('per-try', [flaky], { retry: { numRetries: 2, perRetry: { timeout: '100ms' } } }),
        backend('one-try', [flaky]), route('one-try', { path: '/one-try/', rule: '    timeouts: { backendRequest: 100ms }\n' }),
        backend('route-retry', [flaky]), route('route-retry', { path: '/route-retry/', rule: '    retry: { attempts: 2, codes: [503], backoff: 10ms }\n' }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([...(trio ?? []).map((b) => b.close()), half?.close(), dying?.close(), flaky?.close()]);
  });

  test('a backend killed under continuous load costs no request, is ejected within seconds and gets no tries after', { timeout: 60_000 }, async (t) => {
    const series = { backend: 'Backend default/trio' };
    const load = startLoad(base, { connections: 8, path: (n) => `/trio/${n}` });
    let killedAt = 0;
    let retriesAtEjection = 0;
    let ejectedAt = 0;
    try {
      await load.more(600);
      const victim = trio[0];
      killedAt = performance.now();
      // As a process dying: in-flight requests are reset and the port refuses from now on.
      victim.server.closeAllConnections();
      victim.server.close();
      retriesAtEjection = await until('an ejection of the killed endpoint', async () => {
        const [ejections, retries] = await Promise.all([metric(gw, 'windrose_upstream_ejections_total', series), metric(gw, 'windrose_upstream_retries_total', series)]);
        return ejections > 0 ? retries : undefined;
      }, 10_000);
      ejectedAt = performance.now();
      const ejectedAfter = ejectedAt - killedAt;
      t.diagnostic(`ejected ${Math.round(ejectedAfter)}ms after the kill, after ${retriesAtEjection} retries`);
      assert.ok(ejectedAfter < 5000, `ejected ${Math.round(ejectedAfter)}ms after the kill`);
      assert.equal(await metric(gw, 'windrose_upstream_ejections_total', { ...series, reason: 'consecutive_gateway_errors' }), 1);
      assert.equal(await metric(gw, 'windrose_upstream_endpoints', { ...series, state: 'ejected' }), 1);
      await load.more(1200);
    } finally {
      await load.stop();
    }
    // Only tries already on their way to the dead endpoint when it was ejected can have failed since.
    const retriesAfter = await metric(gw, 'windrose_upstream_retries_total', series) - retriesAtEjection;
    t.diagnostic(`retries after the ejection: ${retriesAfter}`);
    assert.ok(retriesAfter <= 8, `${retriesAfter} tries failed after the ejection`);
    const results = load.results;
    const rate = load.ok / results.length;
    t.diagnostic(`${results.length} requests, ${load.failures.length} failed: success rate ${(rate * 100).toFixed(3)}%`);
    assert.ok(rate >= 0.999, `success rate ${rate}; failures: ${JSON.stringify(load.failures.slice(0, 5))}`);
    const served = (from: number, to: number) => new Set(results.filter((r) => r.at >= from && r.at < to).map((r) => r.backend));
    assert.deepEqual([...served(0, killedAt)].sort(), ['t1', 't2', 't3'], 'all three served before the kill');
    assert.deepEqual([...served(ejectedAt, Infinity)].sort(), ['t2', 't3'], 'the two survivors share the load after the ejection');
  });

  test('a retry budget caps the extra load retries put on a backend failing every other request', { timeout: 60_000 }, async (t) => {
    const requests = 2000;
    const run = async (name: string) => {
      const before = half.requests;
      const connectionsBefore = half.connections;
      const started = performance.now();
      const results = await startLoad(base, { connections: 8, requests, path: (n) => `/${name}/${n}` }).done;
      return {
        sent: half.requests - before,
        connections: half.connections - connectionsBefore,
        failed: results.filter((r) => r.status !== 200),
        seconds: (performance.now() - started) / 1000,
      };
    };

    const free = await run('half-free');
    const freeRatio = free.sent / requests;
    t.diagnostic(`budget off: backend got ${free.sent} requests for ${requests} (${freeRatio.toFixed(3)}x), clients saw ${free.failed.length} 503s`);
    // Concurrent requests interleave, so each try fails as if by a coin toss: with 4 retries a request takes
    // 1 + 1/2 + 1/4 + 1/8 + 1/16 tries on average, and 1 in 32 fails all five.
    assert.ok(freeRatio >= 1.8 && freeRatio <= 2, `budget off: ${freeRatio}x`);
    assert.ok(free.failed.length <= requests * 0.06, `budget off: ${free.failed.length} requests failed`);
    // A retried 503's body is read and dropped, so its connection carries the next try instead of being cut.
    assert.ok(free.connections <= 16, `budget off: ${free.connections} connections for ${free.sent - requests} retries`);
    assert.equal(await metric(gw, 'windrose_upstream_retry_budget_exhausted_total', { backend: 'Backend default/half-free' }), 0);
    assert.equal(await metric(gw, 'windrose_upstream_overflow_total', { backend: 'Backend default/half-free' }), 0);

    const capped = await run('half-budget');
    const cappedRatio = capped.sent / requests;
    t.diagnostic(`budget 20% + 1/s: backend got ${capped.sent} requests for ${requests} (${cappedRatio.toFixed(3)}x) in ${capped.seconds.toFixed(1)}s, clients saw ${capped.failed.length} 503s`);
    // The whole run falls in one 30s budget window: 20% of the requests plus 30 retries from the floor.
    assert.ok(capped.seconds < 27, `the run took ${capped.seconds}s, longer than the budget window allows for this bound`);
    assert.ok(capped.sent <= requests * 1.2 + 30, `budget on: ${cappedRatio}x`);
    assert.ok(capped.sent >= requests * 1.15, `budget on: retries were still sent (${cappedRatio}x)`);
    assert.ok(await metric(gw, 'windrose_upstream_retry_budget_exhausted_total', { backend: 'Backend default/half-budget' }) > 0);

    for (const r of [free, capped]) {
      assert.ok(r.failed.every((f) => f.status === 503), 'a request out of retries gets the backend answer');
      // Half the tries failed; each failure was either retried (one more try) or answered to the client.
      const retries = r.sent - requests;
      assert.ok(Math.abs(r.sent / 2 - retries - r.failed.length) <= 1, `${r.sent} tries, ${retries} retries, ${r.failed.length} failures`);
    }
  });

  test('nothing is retried once response bytes have reached the client', async () => {
    const res = await request(`${base}/dying/x`);
    assert.equal(res.statusCode, 200, 'the head was relayed');
    await assert.rejects(res.body.text(), 'the body is cut off, not completed');
    assert.equal(dying.requests, 1, 'the backend got one request');
    assert.equal(await metric(gw, 'windrose_upstream_retries_total', { backend: 'Backend default/dying' }), 0);
  });

  test('a POST answered 503 is not retried unless the policy allows non-idempotent retries', async () => {
    const body = randomBytes(800);
    const url = `/idem/first-503/${randomUUID()}`;
    const r = await send(`${base}${url}`, { method: 'POST', body });
    assert.equal(r.status, 503);
    assert.equal(flaky.tries(url).length, 1);
    // The same policy does retry an idempotent method.
    const put = `/idem/first-503/${randomUUID()}`;
    assert.equal((await send(`${base}${put}`, { method: 'PUT', body })).status, 200);
    assert.equal(flaky.tries(put).length, 2);
  });

  test('with nonIdempotent a POST is retried with the same body bytes, sized or chunked', async () => {
    const body = randomBytes(800);
    const sized = `/nonidem/first-503/${randomUUID()}`;
    const r = await send(`${base}${sized}`, { method: 'POST', body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'try 2');
    assert.deepEqual(flaky.tries(sized).map((a) => [a.method, a.body.equals(body)]), [['POST', true], ['POST', true]]);

    const chunked = `/nonidem/first-503/${randomUUID()}`;
    const c = await send(`${base}${chunked}`, { method: 'POST', body: Readable.from([body.subarray(0, 300), body.subarray(300)]) });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(flaky.tries(chunked).map((a) => a.body.equals(body)), [true, true]);
  });

  test('a body larger than maxBodySize is sent once, whole, and not retried', async () => {
    const body = randomBytes(4096);
    const url = `/nonidem/first-503/${randomUUID()}`;
    const r = await send(`${base}${url}`, { method: 'POST', body });
    assert.equal(r.status, 503);
    const tries = flaky.tries(url);
    assert.equal(tries.length, 1);
    assert.ok(tries[0].body.equals(body), 'the one try carried the whole body');
  });

  test('a POST whose first try is refused is retried on the live endpoint and succeeds', async () => {
    const series = { backend: 'Backend default/dead-first' };
    const before = await metric(gw, 'windrose_upstream_retries_total', series);
    const n = 20;
    for (let i = 0; i < n; i++) {
      const body = randomBytes(200);
      const url = `/dead-first/${i}/${randomUUID()}`;
      const r = await send(`${base}${url}`, { method: 'POST', body });
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      const tries = flaky.tries(url);
      assert.equal(tries.length, 1);
      assert.ok(tries[0].body.equals(body));
    }
    const retried = await metric(gw, 'windrose_upstream_retries_total', series) - before;
    // At weights 50:1 the live endpoint can take a first try at most once in these 20.
    assert.ok(retried >= n - 1, `${retried} of ${n} requests went to the refused endpoint first`);
  });

  test('a try past perRetry.timeout is abandoned and retried; without retries the client gets 504', async () => {
    const url = `/per-try/first-slow/${randomUUID()}`;
    const started = performance.now();
    const r = await send(`${base}${url}`);
    const ms = performance.now() - started;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'try 2');
    assert.equal(flaky.tries(url).length, 2);
    assert.ok(ms >= 95 && ms < 450, `answered after ${Math.round(ms)}ms, not after the slow try's 500ms`);

    const once = `/one-try/first-slow/${randomUUID()}`;
    const late = await send(`${base}${once}`);
    assert.equal(late.status, 504);
    assert.equal(late.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(late.text) as { error: { code: string } }).error.code, 'upstream_timeout');
    assert.equal(flaky.tries(once).length, 1);
  });

  test("the HTTPRoute rule's own retry field retries a 503", async () => {
    const url = `/route-retry/first-503/${randomUUID()}`;
    const r = await send(`${base}${url}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'try 2');
    assert.equal(flaky.tries(url).length, 2);
    const failing = `/route-retry/always-503/${randomUUID()}`;
    assert.equal((await send(`${base}${failing}`)).status, 503);
    assert.equal(flaky.tries(failing).length, 3, 'attempts: 2 means two retries after the first try');
  });
});
