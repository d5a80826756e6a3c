import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseStoreLocation } from '../../../../store/location.js';
import { openStore } from '../../../../store/open.js';
import { closeSharedStore, useStore } from '../../../../store/shared.js';
import { issueApiKey } from './format.js';
import { FakeSource, recordingLogger, type LogEntry } from './keyring.fixture.js';
import { Keyring, sharedKeyring, SYNC_INTERVAL_MS } from './keyring.js';

function ring(source: FakeSource, intervalMs = 1): { ring: Keyring; entries: LogEntry[] } {
  const { log, entries } = recordingLogger();
  return { ring: new Keyring(async () => source, log, 'sqlite:/test/windrose.db', intervalMs), entries };
}

test('the first load brings every key, by prefix, and later syncs bring new and revoked ones', async () => {
  const source = new FakeSource();
  source.add('wrk_aaaaaaaa', { hash: 'ab'.repeat(32), expiresAt: 5 });
  const { ring: r, entries } = ring(source);
  try {
    assert.equal(r.ready, false);
    assert.equal(await r.load(), true);
    assert.equal(r.ready, true);
    assert.deepEqual(r.get('wrk_aaaaaaaa'), { id: 1, prefix: 'wrk_aaaaaaaa', consumer: 'acme', digest: Buffer.from('ab'.repeat(32), 'hex'), expiresAt: 5, revoked: false });
    assert.deepEqual(entries.map((e) => [e.level, e.msg, e.fields.keys]), [['info', 'API keys loaded', 1]]);

    source.add('wrk_bbbbbbbb');
    source.revoke('wrk_aaaaaaaa');
    await source.nextSync();
    await source.nextSync();
    assert.equal(r.get('wrk_bbbbbbbb')?.revoked, false);
    assert.equal(r.get('wrk_aaaaaaaa')?.revoked, true);
  } finally {
    r.stop();
  }
});

test('a first load larger than one page is read page by page', async () => {
  const source = new FakeSource();
  for (let i = 0; i < 5001; i++) source.add(`wrk_${String(i).padStart(8, '0')}`);
  const { ring: r } = ring(source, 60_000);
  try {
    assert.equal(await r.load(), true);
    assert.equal(source.calls, 2);
    assert.ok(r.get('wrk_00005000'));
  } finally {
    r.stop();
  }
});

test('when the store goes away the keys keep serving; the outage is logged once, and the recovery', async () => {
  const source = new FakeSource();
  source.add('wrk_aaaaaaaa');
  const { ring: r, entries } = ring(source);
  try {
    await r.load();
    source.failing = true;
    await source.nextSync();
    await source.nextSync();
    await source.nextSync();
    assert.equal(r.ready, true);
    assert.ok(r.get('wrk_aaaaaaaa'));
    const errors = entries.filter((e) => e.level === 'error');
    assert.deepEqual(errors.map((e) => e.msg), ['API-key store unreachable; serving the keys as last synced']);
    assert.equal(errors[0].fields.err, 'connect ECONNREFUSED 127.0.0.1:5432');

    source.add('wrk_bbbbbbbb');
    source.failing = false;
    await source.nextSync();
    await source.nextSync();
    assert.ok(r.get('wrk_bbbbbbbb'), 'what changed during the outage arrives with the first sync after it');
    assert.deepEqual(entries.filter((e) => e.level === 'warn').map((e) => e.msg), ['API-key store reachable again; keys in sync']);
  } finally {
    r.stop();
  }
});

test('a failed first load says so; the keyring becomes ready once the store answers', async () => {
  const source = new FakeSource();
  source.add('wrk_aaaaaaaa');
  source.failing = true;
  const { ring: r, entries } = ring(source);
  try {
    assert.equal(await r.load(), false);
    assert.equal(r.ready, false);
    assert.equal(r.get('wrk_aaaaaaaa'), undefined);
    assert.equal(entries[0].msg, 'API-key store unreachable; requests that present an API key get 503 until it answers');
    source.failing = false;
    await source.nextSync();
    await source.nextSync();
    assert.equal(r.ready, true);
    assert.ok(r.get('wrk_aaaaaaaa'));
  } finally {
    r.stop();
  }
});

test('the shared keyring follows the real store: a revocation arrives within one sync interval', async () => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'windrose-keyring-'));
  const location = parseStoreLocation(`sqlite:${path.join(dir, 'windrose.db')}`);
  const { log } = recordingLogger();
  useStore(location, log);
  const cli = await openStore(location);
  let first: Keyring | undefined;
  try {
    const issued = issueApiKey();
    await cli.apiKeys.create({ consumer: 'acme', prefix: issued.prefix, hash: issued.hash, createdAt: Date.now() });
    const r = sharedKeyring();
    first = r;
    assert.equal(sharedKeyring(), r, 'one keyring per process');
    assert.equal(await r.load(), true);
    assert.equal(r.get(issued.prefix)?.revoked, false);
    await cli.apiKeys.revoke({ prefix: issued.prefix }, Date.now());
    const revokedAt = performance.now();
    while (r.get(issued.prefix)?.revoked !== true) await new Promise((resolve) => setTimeout(resolve, 5));
    const took = performance.now() - revokedAt;
    assert.ok(took < SYNC_INTERVAL_MS + 100, `seen after ${took} ms`);
  } finally {
    await closeSharedStore();
    await cli.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.notEqual(sharedKeyring(), first, 'closing the store retires its keyring');
  await closeSharedStore();
});
