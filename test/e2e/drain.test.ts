//! End to end: draining. SIGTERM to one worker drains it under load while the other serves and a
//! replacement starts, failing no request; SIGTERM to the gateway lets requests in flight finish,
//! refuses new connections and exits 0; the drain timeout cuts what outlasts it.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { baseConfig, gatewayWithBackend, simpleRoute, startBackend, type Backend } from '../helpers/backends.js';
import { startLoad } from '../helpers/load.js';
import { freePort } from '../helpers/ports.js';
import { startWindrose, type LogLine, type Windrose } from '../helpers/windrose.js';

interface WorkerView { id: number; pid: number; state: string; version: number }

async function servingWorkers(gw: Windrose): Promise<WorkerView[]> {
  const body = await (await request(`${gw.admin}/ready`)).body.json() as { workers: WorkerView[] };
  return body.workers;
}

/** How a connection attempt ends: 'connected', or the error code. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve('connected'); });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('SIGTERM to one of two workers', () => {
  const t = gatewayWithBackend({ 'routes.yaml': simpleRoute('main', 'a') }, { workers: 2 });

  test('drains it under load while the other serves; a replacement starts; no request fails', { timeout: 60_000 }, async () => {
    const original = (await servingWorkers(t.gw)).map((w) => w.pid);
    assert.equal(original.length, 2);
    const known = new Set(original);
    const drains: LogLine[] = [];
    const load = startLoad(t.base, { connections: 8 });
    try {
      await load.more(200);
      // Both, one after the other, as a rolling restart does: whichever held the connections is drained under load.
      for (const pid of original) {
        process.kill(pid, 'SIGTERM');
        const [exited, replacement] = await Promise.all([
          t.gw.waitForLog((l) => l.msg === 'worker exited' && l.workerPid === pid),
          t.gw.waitForLog((l) => l.msg === 'worker ready' && !known.has(l.workerPid as number)),
        ]);
        assert.equal(exited.code, 0, `worker ${pid} exit code`);
        known.add(replacement.workerPid as number);
        drains.push(await t.gw.waitForLog((l) => l.msg === 'stopped accepting; draining connections' && l.pid === pid));
        const drained = await t.gw.waitForLog((l) => l.msg === 'drained' && l.pid === pid);
        assert.equal(drained.cut, 0, `worker ${pid} had to cut connections at the drain timeout`);
        await load.more(200);
      }
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures, []);
    assert.ok(drains.some((d) => (d.connections as number) > 0), 'a drained worker held client connections');
    assert.ok(load.connects > 8, 'clients replaced the connections the drained workers closed');

    const now = await servingWorkers(t.gw);
    assert.equal(now.length, 2);
    for (const w of now) {
      assert.ok(!original.includes(w.pid), `worker ${w.pid} was replaced`);
      assert.equal(w.state, 'serving');
    }
    const res = await request(`${t.base}/after`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });
});

/** An echo backend that holds the answers to /slow… until `release()`; `arrived(n)` resolves once n are slow. */
async function holdingBackend(): Promise<{ backend: Backend; arrived(n: number): Promise<void>; release(): void }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const backend = await startBackend('slow', (req, res) => {
    if (!req.url?.startsWith('/slow')) return false;
    count++;
    for (const w of waiters.filter((x) => count >= x.n)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    void released.then(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 });
      res.end('done');
    });
    return true;
  });
  return {
    backend,
    release,
    arrived: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

async function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  const stream = session.request({ ':path': path });
  const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
  let body = '';
  for await (const chunk of stream) body += String(chunk);
  return { status: Number(head[':status']), body };
}

for (const workers of [1, 2]) {
  describe(`SIGTERM to the gateway, --workers ${workers}`, () => {
    test('requests in flight finish with 200, idle connections close, new connections are refused, exit 0', { timeout: 30_000 }, async () => {
      const slow = await holdingBackend();
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      const gw = await startWindrose({ 'gateway.yaml': baseConfig(port, { a: slow.backend.port }), 'routes.yaml': simpleRoute('main', 'a') }, { workers });
      const agent = new Agent();
      const idle = new Agent();
      const session = http2.connect(origin);
      try {
        const pids = (await servingWorkers(gw)).map((w) => w.pid);
        // A keep-alive connection left idle: the drain closes it after its grace rather than at the deadline.
        await (await request(`${origin}/warm`, { dispatcher: idle })).body.dump();

        const h1 = [1, 2, 3].map(async (i) => {
          const res = await request(`${origin}/slow/${i}`, { dispatcher: agent });
          return { status: res.statusCode, connection: res.headers.connection, body: await res.body.text() };
        });
        const h2 = h2Get(session, '/slow/h2');
        const goaway = once(session, 'goaway');
        await slow.arrived(4);

        const exited = gw.stop();
        await Promise.all(pids.map((pid) => workers === 1
          ? gw.waitForLog((l) => l.msg === 'stopped accepting; draining connections' && l.pid === pid)
          : gw.waitForLog((l) => l.msg === 'worker draining' && l.workerPid === pid)));
        assert.equal(await connectOutcome(port), 'ECONNREFUSED');
        await goaway;

        slow.release();
        for (const r of await Promise.all(h1)) assert.deepEqual(r, { status: 200, connection: 'close', body: 'done' });
        assert.deepEqual(await h2, { status: 200, body: 'done' });
        assert.equal(await exited, 0);
        for (const pid of pids) {
          const drained = await gw.waitForLog((l) => l.msg === 'drained' && l.pid === pid);
          assert.equal(drained.cut, 0, 'no connection was left for the deadline to cut');
        }
      } finally {
        session.destroy();
        await Promise.all([agent.destroy(), idle.destroy()]);
        await gw.stop();
        await slow.backend.close();
      }
    });
  });
}

describe('the drain timeout', () => {
  test('cuts a request that outlasts it, and the gateway still exits 0', { timeout: 30_000 }, async () => {
    const slow = await holdingBackend();
    const port = await freePort();
    const gw = await startWindrose({ 'gateway.yaml': baseConfig(port, { a: slow.backend.port }), 'routes.yaml': simpleRoute('main', 'a') }, { args: ['--drain-timeout', '300ms'] });
    try {
      const cut = assert.rejects(request(`http://127.0.0.1:${port}/slow`).then((r) => r.body.text()));
      await slow.arrived(1);
      assert.equal(await gw.stop(), 0);
      await cut;
      const drained = await gw.waitForLog((l) => l.msg === 'drained');
      assert.equal(drained.cut, 1);
    } finally {
      await gw.stop();
      slow.release();
      await slow.backend.close();
    }
  });
});
