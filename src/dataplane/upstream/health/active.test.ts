import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import Pool from 'undici/lib/dispatcher/pool.js';
import type { Endpoint, HealthCheckSettings } from '../../../config/model.js';
import { UpstreamHost } from '../host.js';
import { tcpConnector } from '../../../../test/helpers/backends.js';
import type { UpstreamDispatcher } from '../dispatcher.js';
import { NodeHttp1Pool } from '../node-http1-pool.js';
import { ActiveHealthChecker, type HealthCheckTimers } from './active.js';

const SETTINGS: HealthCheckSettings = {
  path: '/healthz',
  method: 'GET',
  intervalMs: 20,
  timeoutMs: 1_000,
  healthyThreshold: 3,
  unhealthyThreshold: 2,
  expectedStatuses: [[200, 299]],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function backend(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** A host whose pool is undici's (a gateway's) or Node's client (a sidecar's). */
function hostOfClient(port: number, client: 'undici' | 'node'): UpstreamHost {
  const pool = (ep: Endpoint): UpstreamDispatcher => (client === 'undici'
    ? new Pool(`http://127.0.0.1:${ep.port}`) as unknown as UpstreamDispatcher
    : new NodeHttp1Pool({ connect: tcpConnector(ep.port), connections: 1, keepAliveTimeoutMs: 60_000, headersTimeoutMs: 300_000 }));
  const host = new UpstreamHost({ host: '127.0.0.1', port }, pool);
  cleanups.push(() => host.close());
  return host;
}

/**
 * Runs a checker over one host and records what it reports; `until` awaits the reports instead of sleeping.
 * The timers are ref'd, unlike the checker's own, so a test with no server left still waits for its checks.
 */
function watch(host: UpstreamHost, settings: Partial<HealthCheckSettings> = {}, timers = trackedTimers().timers) {
  const events = new EventEmitter();
  const results: boolean[] = [];
  const changes: boolean[] = [];
  const checker = new ActiveHealthChecker([host], { ...SETTINGS, ...settings }, {
    onResult: (h, ok) => {
      assert.equal(h, host);
      results.push(ok);
      events.emit('report');
    },
    onChange: (h, healthy) => {
      assert.equal(h.activeHealthy, healthy);
      changes.push(healthy);
      events.emit('report');
    },
  }, timers);
  cleanups.push(() => checker.stop());
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) await once(events, 'report');
  };
  return { checker, results, changes, until };
}

/** Real timers that remember which are still pending, to show that nothing is left to fire. */
function trackedTimers() {
  const pending = new Set<NodeJS.Timeout>();
  const timers: HealthCheckTimers = {
    setTimeout: (fn, ms) => {
      const t = setTimeout(() => {
        pending.delete(t);
        fn();
      }, ms);
      pending.add(t);
      return t;
    },
    clearTimeout: (t) => {
      pending.delete(t as NodeJS.Timeout);
      clearTimeout(t as NodeJS.Timeout);
    },
  };
  return { timers, pending };
}

for (const client of ['undici', 'node'] as const) describe(`ActiveHealthChecker (${client} pool)`, { timeout: 10_000 }, () => {
  const hostOn = (port: number) => hostOfClient(port, client);

  it('marks a host down after unhealthyThreshold failures and up after healthyThreshold successes', async () => {
    let status = 500;
    const seen: IncomingMessage[] = [];
    const { port } = await backend((req, res) => {
      seen.push(req);
      res.writeHead(status).end('body to drop');
    });
    const host = hostOn(port);
    const { checker, results, changes, until } = watch(host);
    assert.equal(host.activeHealthy, true, 'a new host starts healthy');
    checker.start();
    await until(() => changes.length === 1);
    assert.deepEqual(results, [false, false]);
    assert.equal(host.activeHealthy, false);
    assert.equal(host.healthy, false);
    status = 200;
    await until(() => changes.length === 2);
    assert.deepEqual(results, [false, false, true, true, true]);
    assert.deepEqual(changes, [false, true]);
    assert.equal(host.healthy, true);
    const req = seen[0];
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/healthz');
    assert.equal(req.headers.host, `127.0.0.1:${port}`);
    assert.equal(req.headers['user-agent'], 'windrose-health-check');
  });

  it('accepts any status in the expected ranges', async () => {
    let status = 204;
    const { port } = await backend((req, res) => res.writeHead(status).end());
    const host = hostOn(port);
    const { checker, results, changes, until } = watch(host, { unhealthyThreshold: 1, expectedStatuses: [[200, 204], [418, 418]] });
    checker.start();
    await until(() => results.length === 1);
    status = 418;
    await until(() => results.length === 3);
    status = 205;
    await until(() => changes.length === 1);
    assert.equal(results.at(-1), false);
    assert.deepEqual(results.slice(0, 3), [true, true, true]);
    assert.equal(host.activeHealthy, false);
  });

  it('counts a backend that never answers as a failure after timeoutMs and aborts the request', async () => {
    const aborted = new EventEmitter();
    const { port } = await backend((req) => req.socket.once('close', () => aborted.emit('close')));
    const host = hostOn(port);
    const { checker, results, changes, until } = watch(host, { unhealthyThreshold: 1, timeoutMs: 50 });
    const closed = once(aborted, 'close');
    checker.start();
    await until(() => changes.length === 1);
    assert.deepEqual(results, [false]);
    await closed;
  });

  it('counts a refused connection as a failure', async () => {
    const { server, port } = await backend(() => assert.fail('nothing listens'));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const host = hostOn(port);
    const { checker, results, changes, until } = watch(host);
    checker.start();
    await until(() => changes.length === 1);
    assert.deepEqual(results, [false, false]);
  });

  it('counts a dispatcher that cannot be created as a failure', async () => {
    const host = new UpstreamHost({ host: '127.0.0.1', port: 1 }, () => {
      throw new Error('no pool');
    });
    const { checker, changes, until } = watch(host, { unhealthyThreshold: 1 });
    checker.start();
    await until(() => changes.length === 1);
    assert.equal(host.activeHealthy, false);
  });

  it('keeps a host found down under an earlier checker down until it passes', async () => {
    const { port } = await backend((req, res) => res.writeHead(200).end());
    const host = hostOn(port);
    host.activeHealthy = false;
    const { checker, results, changes, until } = watch(host);
    checker.start();
    await until(() => changes.length === 1);
    assert.deepEqual(results, [true, true, true]);
  });

  it('stop() leaves no timer pending and ignores the check in flight', async () => {
    const arrived = new EventEmitter();
    const aborted = new EventEmitter();
    const { port } = await backend((req) => {
      req.socket.once('close', () => aborted.emit('close'));
      arrived.emit('request');
    });
    const host = hostOn(port);
    const { timers, pending } = trackedTimers();
    const { checker, results, changes } = watch(host, { unhealthyThreshold: 1, timeoutMs: 5_000 }, timers);
    const request = once(arrived, 'request');
    checker.start();
    await request;
    assert.equal(pending.size, 1, 'only the deadline of the check in flight');
    const closed = once(aborted, 'close');
    checker.stop();
    assert.equal(pending.size, 0);
    await closed;
    assert.deepEqual(results, []);
    assert.deepEqual(changes, []);
    assert.equal(host.activeHealthy, true);
  });
});
