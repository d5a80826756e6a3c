//! End to end: BackendTrafficPolicy circuitBreaker limits — requests in flight, requests waiting for a
//! connection, and retries in flight — against backends that hold or fail requests on the test's cue.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Pool, type Dispatcher } from 'undici';
import { metric } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { gateway, scenario } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

/** A loopback backend that keeps the requests it gets until the test lets them go, then answers with `answer`. */
class HoldingBackend {
  /** Paths of the requests received, in order of arrival. */
  readonly arrivals: string[] = [];
  maxConnections = 0;
  private open = 0;
  private held: (() => void)[] = [];
  private readonly waiters: { until: () => boolean; resolve: () => void }[] = [];
  readonly server: http.Server;

  constructor(answer: (res: http.ServerResponse) => void, private holdAll = true) {
    this.server = http.createServer((req, res) => {
      req.resume();
      this.arrivals.push(req.url ?? '/');
      if (this.holdAll) this.held.push(() => answer(res));
      else answer(res);
      this.notify();
    });
    this.server.on('connection', (socket) => {
      this.open++;
      this.maxConnections = Math.max(this.maxConnections, this.open);
      socket.once('close', () => this.open--);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Requests kept and not yet answered. */
  get holding(): number {
    return this.held.length;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** Resolves once `until` holds, checked on every arrival. */
  when(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }

  private notify(): void {
    for (const w of this.waiters.filter((x) => x.until())) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Answers the requests held now; later ones are held in turn. */
  release(): void {
    for (const respond of this.held.splice(0)) respond();
  }

  /** Answers the requests held now, and from now on every request as it comes. */
  releaseAll(): void {
    this.holdAll = false;
    this.release();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const ok = (res: http.ServerResponse): void => {
  res.writeHead(200, { 'x-backend': 'held', 'content-length': '2' }).end('ok');
};

const UNAVAILABLE = 'backend unavailable';
const unavailable = (res: http.ServerResponse): void => {
  res.writeHead(503, { 'x-backend': 'failing', 'content-type': 'text/plain', 'content-length': String(UNAVAILABLE.length) }).end(UNAVAILABLE);
};

interface Answer { readonly status: number; readonly backend: string | undefined; readonly body: string }

/** Resolves `n` of the answers to come; the rest keep arriving into the same list. */
class Answers {
  readonly list: Answer[] = [];
  private readonly waiters: { n: number; resolve: () => void }[] = [];

  async add(res: Promise<Dispatcher.ResponseData>): Promise<void> {
    const r = await res;
    this.list.push({ status: r.statusCode, backend: r.headers['x-backend'] as string | undefined, body: await r.body.text() });
    for (const w of this.waiters.filter((x) => this.list.length >= x.n)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  count(n: number): Promise<void> {
    if (this.list.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

const overflow = (gw: Windrose, backend: string, limit: string): Promise<number> =>
  metric(gw, 'windrose_upstream_overflow_total', { backend: `Backend default/${backend}`, limit });

const retryOn503 = (numRetries: number) => ({
  numRetries,
  retryOn: { triggers: ['retriable-status-codes'], httpStatusCodes: [503] },
  perRetry: { backOff: { baseInterval: '1ms' } },
});

/** A request the breaker mishandles would otherwise wait out the gateway's 5-minute backstop. */
const FAIL_FAST = { timeout: 20_000 };

describe('circuit breaking', () => {
  let gw: Windrose;
  let client: Pool;
  const requests = new HoldingBackend(ok);
  const pending = new HoldingBackend(ok);
  const retried = new HoldingBackend(unavailable);
  const lone = new HoldingBackend(unavailable, false);

  before(async () => {
    await Promise.all([requests.listen(), pending.listen(), retried.listen(), lone.listen()]);
    const port = await freePort();
    client = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
    gw = await startWindrose({
      'gateway.yaml': gateway({ http: port }),
      'requests.yaml': scenario('requests', [requests], { circuitBreaker: { maxParallelRequests: 5 } }),
      'pending.yaml': scenario('pending', [pending], { circuitBreaker: { maxConnections: 2, maxPendingRequests: 1 } }),
      'retried.yaml': scenario('retried', [retried], { circuitBreaker: { maxParallelRetries: 1 }, retry: retryOn503(2) }),
      'lone.yaml': scenario('lone', [lone], { circuitBreaker: { maxParallelRetries: 1 }, retry: retryOn503(2) }),
    });
  });

  after(async () => {
    // Backends first: closing them ends any request a failed test left held, so nothing below waits on one.
    await Promise.all([requests.close(), pending.close(), retried.close(), lone.close()]);
    await gw?.stop();
    await client?.close();
  });

  const send = (path: string) => client.request({ path, method: 'GET' });

  test('maxParallelRequests 5: of 10 concurrent requests 5 get 503 overloaded at once, 5 go through once the backend answers', FAIL_FAST, async () => {
    const answers = new Answers();
    const all = Array.from({ length: 10 }, (_, i) => answers.add(send(`/requests/${i}`)));
    await Promise.all([answers.count(5), requests.when(() => requests.holding === 5)]);
    assert.equal(answers.list.length, 5);
    for (const a of answers.list) {
      assert.equal(a.status, 503);
      assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'overloaded');
    }
    assert.equal(requests.arrivals.length, 5, 'the refused requests never reached the backend');
    assert.equal(await overflow(gw, 'requests', 'requests'), 5);

    requests.releaseAll();
    await Promise.all(all);
    assert.deepEqual(answers.list.slice(5).map((a) => [a.status, a.backend]), Array(5).fill([200, 'held']));
    assert.equal(requests.arrivals.length, 5);
    assert.equal(await overflow(gw, 'requests', 'requests'), 5);
  });

  test('maxConnections 2, maxPendingRequests 1: of 4 concurrent requests 2 are sent, 1 waits, 1 gets 503 overloaded', FAIL_FAST, async () => {
    const answers = new Answers();
    const all = Array.from({ length: 4 }, (_, i) => answers.add(send(`/pending/${i}`)));
    await Promise.all([answers.count(1), pending.when(() => pending.holding === 2)]);
    assert.equal(answers.list.length, 1);
    assert.equal(answers.list[0].status, 503);
    assert.equal((JSON.parse(answers.list[0].body) as { error: { code: string } }).error.code, 'overloaded');
    assert.equal(pending.arrivals.length, 2, 'the third admitted request waits for a connection');
    assert.equal(await overflow(gw, 'pending', 'pending'), 1);
    assert.equal(await overflow(gw, 'pending', 'requests'), 0);

    pending.releaseAll();
    await Promise.all(all);
    assert.deepEqual(answers.list.slice(1).map((a) => a.status), [200, 200, 200]);
    assert.equal(pending.arrivals.length, 3, 'the waiting request went out once a connection was free');
    assert.equal(pending.maxConnections, 2);
  });

  test('maxParallelRetries 1 lets one request retry after another up to numRetries', FAIL_FAST, async () => {
    const res = await send('/lone/x');
    assert.equal(res.statusCode, 503);
    assert.equal(await res.body.text(), UNAVAILABLE);
    assert.deepEqual(lone.arrivals, ['/lone/x', '/lone/x', '/lone/x'], 'the first try and both retries reached the backend');
    assert.equal(await overflow(gw, 'lone', 'retries'), 0);
  });

  test('maxParallelRetries 1: while one retry is out, the other failures are not retried and clients get the backend\'s 503', FAIL_FAST, async () => {
    const answers = new Answers();
    const all = Array.from({ length: 10 }, (_, i) => answers.add(send(`/retried/${i}`)));
    // The first tries fail together once all have arrived; the one retry let through is held until the others are answered.
    await retried.when(() => retried.holding === 10);
    retried.release();
    await Promise.race([
      Promise.all([answers.count(9), retried.when(() => retried.holding === 1)]),
      // Retries let through beyond the limit would show up here, held like the first.
      retried.when(() => retried.holding > 1),
    ]);
    assert.equal(retried.holding, 1, 'retries in flight at the backend');
    assert.deepEqual(answers.list.map((a) => [a.status, a.backend, a.body]), Array(9).fill([503, 'failing', UNAVAILABLE]));
    assert.equal(await overflow(gw, 'retried', 'retries'), 9);
    assert.equal(retried.arrivals.length, 11, 'one retry reached the backend');

    retried.releaseAll();
    await Promise.all(all);
    assert.deepEqual(answers.list[9], { status: 503, backend: 'failing', body: UNAVAILABLE });
    assert.equal(retried.arrivals.length, 12, 'the retried request used its second retry too');
    assert.equal(await overflow(gw, 'retried', 'retries'), 9);
  });
});
