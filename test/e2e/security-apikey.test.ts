//! End to end: API keys issued by `windrose keys`, checked by SecurityPolicy apiKeyAuth on a gateway
//! with two workers. A revoked key is refused by every worker within a second of `keys revoke`
//! returning; the same flow runs on SQLite (the default store) and on PostgreSQL.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { baseConfig, startBackend, type Backend, type Echo } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { route, securityPolicy } from '../helpers/resources.js';
import { CLI, startWindrose, type Windrose } from '../helpers/windrose.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const WORKERS = 2;

interface Run { code: number; stdout: string; stderr: string }

/** `windrose keys ARGS` against `store` (undefined: the default, from --data-dir), to completion. */
function keys(store: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'keys', ...args, ...(store === undefined ? [] : ['--store', store])], (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Created { id: number; key: string; prefix: string; consumer: string; expiresAt: string | null }

async function createKey(store: string, ...args: string[]): Promise<Created> {
  const r = await keys(store, 'create', '--output', 'json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Created;
}

const POLICY = securityPolicy('keys', {
  apiKeyAuth: { extractFrom: [{ header: 'x-api-key' }, { param: 'api_key' }], consumerHeader: 'x-windrose-consumer' },
}, { kind: 'HTTPRoute', name: 'main' });

interface Response { status: number; headers: http.IncomingHttpHeaders; body: string }

/** A GET on a connection of its own, so the kernel hands requests to either worker. */
function get(port: number, target: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Gateway { gw: Windrose; backend: Backend; port: number; store: string; workerPids: number[] }

/** Registers hooks that start an echo backend and a gateway with the key policy on `store`, and stop them. */
function gatewayOn(store: () => string): Gateway {
  const t = {} as Gateway;
  before(async () => {
    t.store = store();
    t.backend = await startBackend('a');
    t.port = await freePort();
    t.gw = await startWindrose({
      'gateway.yaml': baseConfig(t.port, { a: t.backend.port }), 'routes.yaml': route('main', { backends: ['a'] }), 'policy.yaml': POLICY,
    }, { workers: WORKERS, args: ['--store', t.store] });
    t.workerPids = t.gw.logs.filter((l) => l.msg === 'worker ready').map((l) => l.workerPid as number);
    assert.equal(t.workerPids.length, WORKERS);
  });
  after(async () => {
    if (t.gw) assert.equal(await t.gw.stop(), 0, 'the gateway drains, store closed, and exits 0');
    await t.backend?.close();
  });
  return t;
}

/** The worker that decided on request `id`, from its "API key accepted" or "API key refused" line. */
async function decidedBy(gw: Windrose, id: string): Promise<number> {
  const line = await gw.waitForLog((l) => l.requestId === id && (l.msg === 'API key accepted' || l.msg === 'API key refused'));
  return line.pid as number;
}

let sequence = 0;
const requestId = (what: string) => `${what}-${process.pid}-${sequence++}`;

/** Sends the key until every worker has accepted it: a new key reaches each worker with its next sync. */
async function untilEveryWorkerAccepts(t: Gateway, key: string): Promise<void> {
  const accepted = new Set<number>();
  for (let i = 0; accepted.size < WORKERS; i++) {
    assert.ok(i < 400, `only workers ${[...accepted].join(', ')} accepted the key`);
    const id = requestId('warm');
    const res = await get(t.port, '/warm', { 'x-api-key': key, 'x-request-id': id });
    if (res.status === 200) accepted.add(await decidedBy(t.gw, id));
  }
}

/** The common flow, on whichever store `t` uses. */
function keyFlow(t: Gateway): void {
  test('a key from `keys create` passes in the header and in the query; the consumer reaches the backend, the key does not', async () => {
    const { key } = await createKey(t.store, '--consumer', 'acme', '--name', 'e2e');
    await untilEveryWorkerAccepts(t, key);

    const byHeader = await get(t.port, '/orders?page=2', { 'x-api-key': key, 'x-windrose-consumer': 'admin' });
    assert.equal(byHeader.status, 200);
    const echo = JSON.parse(byHeader.body) as Echo;
    assert.equal(echo.url, '/orders?page=2');
    assert.equal(echo.headers['x-windrose-consumer'], 'acme', 'the consumer header is windrose\'s, not the client\'s');
    assert.equal(echo.headers['x-api-key'], undefined);

    const byParam = await get(t.port, `/orders?page=2&api_key=${key}&sort=asc`);
    assert.equal(byParam.status, 200);
    const echoed = JSON.parse(byParam.body) as Echo;
    assert.equal(echoed.url, '/orders?page=2&sort=asc');
    assert.equal(echoed.headers['x-windrose-consumer'], 'acme');
  });

  test('no key: 401 with WWW-Authenticate and the JSON error; the backend sees nothing', async () => {
    const seen = t.backend.received.length;
    const res = await get(t.port, '/orders');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], `ApiKey realm="127.0.0.1:${t.port}", header="x-api-key", param="api_key"`);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unauthenticated');
    assert.equal(body.error.message, 'this route requires an API key');
    assert.equal(t.backend.received.length, seen);
  });

  test('a revoked key is refused by every worker within one second of `keys revoke` returning', async (ctx) => {
    const { id, key } = await createKey(t.store, '--consumer', 'revocable');
    await untilEveryWorkerAccepts(t, key);

    const revoke = await keys(t.store, 'revoke', String(id));
    const revokedAt = performance.now();
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, new RegExp(`^revoked API key ${id} \\(wrk_[0-9A-Za-z]{8}\\) of consumer "revocable"`));

    // Several connections at a time, so each worker keeps getting requests.
    const firstRefusal = new Map<number, number>();
    const lateSuccesses: number[] = [];
    while (firstRefusal.size < WORKERS) {
      assert.ok(performance.now() - revokedAt < 5000, `workers that refused the key: ${[...firstRefusal.keys()].join(', ')}`);
      const batch = await Promise.all(Array.from({ length: 4 }, async () => {
        const rid = requestId('revoked');
        const res = await get(t.port, '/orders', { 'x-api-key': key, 'x-request-id': rid });
        return { rid, status: res.status, at: performance.now() - revokedAt };
      }));
      for (const r of batch) {
        const pid = await decidedBy(t.gw, r.rid);
        if (r.status === 401) {
          if (!firstRefusal.has(pid)) firstRefusal.set(pid, r.at);
        } else {
          assert.equal(r.status, 200);
          if (r.at >= 1000) lateSuccesses.push(r.at);
        }
      }
    }
    assert.deepEqual([...firstRefusal.keys()].sort(), [...t.workerPids].sort());
    ctx.diagnostic(`first refusal per worker, ms after keys revoke returned: ${[...firstRefusal.values()].map(Math.round).join(', ')}`);
    for (const [pid, at] of firstRefusal) assert.ok(at < 1000, `worker ${pid} first refused the key ${Math.round(at)} ms after the revocation`);
    assert.deepEqual(lateSuccesses, [], 'no worker accepted the key a second after its revocation');
    const refused = t.gw.logs.find((l) => l.msg === 'API key refused' && l.reason === 'revoked');
    assert.equal(refused?.consumer, 'revocable');
    assert.ok(!t.gw.logs.some((l) => JSON.stringify(l).includes(key)), 'no log line holds the key');
  });

  test('a key past its expiry is refused, with the same answer as an unknown one', async () => {
    const expiresAt = Date.now() + 2500;
    const { key } = await createKey(t.store, '--consumer', 'acme', '--name', 'short-lived', '--expires', new Date(expiresAt).toISOString());
    await untilEveryWorkerAccepts(t, key);
    assert.ok(Date.now() < expiresAt, 'the key worked before it expired');
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 10));
    const expired = await get(t.port, '/orders', { 'x-api-key': key });
    const unknown = await get(t.port, '/orders', { 'x-api-key': `${key.slice(0, 13)}${'x'.repeat(32)}` });
    assert.equal(expired.status, 401);
    assert.deepEqual(JSON.parse(expired.body).error.message, 'the API key is not valid');
    assert.deepEqual(JSON.parse(unknown.body).error.message, JSON.parse(expired.body).error.message);
    assert.equal(expired.headers['www-authenticate'], unknown.headers['www-authenticate']);
  });

  test('`keys list` shows every key with its status, and never a key or a hash', async () => {
    const list = await keys(t.store, 'list');
    assert.equal(list.code, 0, list.stderr);
    const [head, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(head, /^ID +PREFIX +CONSUMER +NAME +CREATED +EXPIRES +STATUS$/);
    const byConsumer = rows.map((r) => r.split(/ +/)).map(([id, prefix, consumer, name, , , status]) => ({ id, prefix, consumer, name, status }));
    assert.deepEqual(byConsumer.map((r) => [r.consumer, r.name, r.status]), [
      ['acme', 'e2e', 'active'], ['revocable', '-', 'revoked'], ['acme', 'short-lived', 'expired'],
    ]);
    for (const r of byConsumer) assert.match(r.prefix, /^wrk_[0-9A-Za-z]{8}$/);
    assert.doesNotMatch(list.stdout, /wrk_[0-9A-Za-z]{8}_|[0-9a-f]{64}/);

    const json = await keys(t.store, 'list', '--consumer', 'acme', '--output', 'json');
    const items = JSON.parse(json.stdout) as { consumer: string; status: string; revokedAt: string | null }[];
    assert.deepEqual(items.map((k) => [k.consumer, k.status]), [['acme', 'active'], ['acme', 'expired']]);
  });
}

describe('API keys on SQLite', () => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'windrose-apikey-'));
  const store = `sqlite:${path.join(dir, 'windrose.db')}`;
  const t = gatewayOn(() => store);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  keyFlow(t);

  test('command-line mistakes exit 2, failures exit 1, each with one line on stderr', async () => {
    const noConsumer = await keys(store, 'create');
    assert.equal(noConsumer.code, 2);
    assert.match(noConsumer.stderr, /required option '--consumer <name>' not specified/);
    const badExpiry = await keys(store, 'create', '--consumer', 'acme', '--expires', 'tomorrow');
    assert.equal(badExpiry.code, 2);
    assert.match(badExpiry.stderr, /expected a duration such as 30d/);
    const unknown = await keys(store, 'revoke', '999999');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'windrose keys revoke: no API key with id 999999\n');
    const nobody = await keys(store, 'list', '--consumer', 'nobody');
    assert.equal(nobody.code, 1);
    assert.equal(nobody.stderr, 'windrose keys list: no consumer named "nobody"\n');
    const help = await keys(store, 'create', '--help');
    assert.equal(help.code, 0);
  });

  test('without --store, the store is windrose.db in --data-dir', async () => {
    const viaDir = await keys(undefined, 'list', '--data-dir', dir, '--output', 'json');
    const viaStore = await keys(store, 'list', '--output', 'json');
    assert.equal(viaDir.code, 0, viaDir.stderr);
    assert.deepEqual(JSON.parse(viaDir.stdout), JSON.parse(viaStore.stdout));
  });

  test('in text, the key alone goes to stdout; the warning that it cannot be shown again to stderr', async () => {
    const r = await keys(store, 'create', '--consumer', 'texty');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^wrk_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}\n$/);
    assert.match(r.stderr, /created API key \d+ \(wrk_[0-9A-Za-z]{8}\) of consumer "texty"\nstore the key now: windrose keeps only its hash and cannot show it again\n/);
    const revoked = await keys(store, 'revoke', r.stdout.trim());
    assert.equal(revoked.code, 0, 'the whole key names the key to revoke');
  });
});

describe('API keys on PostgreSQL', () => {
  const schema = `wr_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  const t = gatewayOn(() => `${PG_URL}?schema=${schema}`);
  after(async () => {
    const client = new pg.Client(PG_URL);
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  keyFlow(t);
});

/** A TCP relay to PostgreSQL that a test can cut and restore, as a network partition would. */
async function relay(to: number): Promise<{ port: number; cut(): void; restore(): Promise<void>; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(to, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { sockets.delete(s); down.destroy(); up.destroy(); });
    }
    down.pipe(up).pipe(down);
  });
  const port = await freePort();
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  const cut = () => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return { port, cut, restore: listen, close: cut };
}

describe('API keys while PostgreSQL is unreachable', () => {
  const schema = `wr_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  const direct = `${PG_URL}?schema=${schema}`;
  let link: Awaited<ReturnType<typeof relay>>;
  let backend: Backend;
  let gw: Windrose;
  let port: number;

  before(async () => {
    link = await relay(5432);
    backend = await startBackend('a');
    port = await freePort();
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { a: backend.port }), 'routes.yaml': route('main', { backends: ['a'] }), 'policy.yaml': POLICY,
    }, { workers: 1, args: ['--store', `postgres://postgres@127.0.0.1:${link.port}/test?schema=${schema}`] });
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
    link?.close();
    const client = new pg.Client(PG_URL);
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  test('the gateway keeps serving the keys it has, says so loudly, and catches up when the store is back', async () => {
    const before = await createKey(direct, '--consumer', 'acme');
    const status = async (key: string) => (await get(port, '/orders', { 'x-api-key': key })).status;
    for (let s = await status(before.key); s !== 200; s = await status(before.key)) assert.equal(s, 401, 'refused only until the first sync brings the key');

    link.cut();
    await gw.waitForLog((l) => l.msg === 'API-key store unreachable; serving the keys as last synced');
    assert.equal(await status(before.key), 200, 'a known key still works');
    assert.equal(await status(`${before.key.slice(0, 13)}${'x'.repeat(32)}`), 401, 'a wrong one is still refused');
    const during = await createKey(direct, '--consumer', 'acme', '--name', 'made-during-the-outage');

    await link.restore();
    await gw.waitForLog((l) => l.msg === 'API-key store reachable again; keys in sync');
    assert.equal(await status(during.key), 200, 'the key created meanwhile arrived with the first sync');
    assert.equal(gw.proc.exitCode, null, 'the gateway never went down');
  });
});
