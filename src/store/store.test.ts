// One suite for both stores: SQLite in a temporary directory, and PostgreSQL on 127.0.0.1:5432
// (database "test") in a schema of its own, dropped at the end.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { isUniqueViolation, type Database } from './database.js';
import { parseStoreLocation, type StoreLocation } from './location.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';
import { openStore, StoreOpenError, type Store } from './open.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  readonly name: string;
  /** A fresh, empty store location. */
  fresh(): StoreLocation;
  /** The raw database at a location, for what the Store does not expose. */
  raw(location: StoreLocation): Promise<Database>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'windrose-store-'));
  let n = 0;
  return {
    name: 'sqlite',
    fresh: () => parseStoreLocation(`sqlite:${path.join(dir, `s${n++}`, 'windrose.db')}`),
    raw: async (location) => openSqlite((location as { file: string }).file),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresBackend(): Backend {
  const run = `wr_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  return {
    name: 'postgres',
    fresh: () => {
      const schema = `${run}_${schemas.length}`;
      schemas.push(schema);
      return parseStoreLocation(`${PG_URL}?schema=${schema}`);
    },
    raw: (location) => openPostgres((location as { url: string }).url, (location as { schema: string }).schema),
    cleanup: async () => {
      const client = new pg.Client(PG_URL);
      await client.connect();
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await client.end();
    },
  };
}

const key = (prefix: string, consumer = 'acme', extra: { name?: string; expiresAt?: number } = {}) => ({
  consumer, prefix, hash: 'ab'.repeat(32), createdAt: 1_700_000_000_000, ...extra,
});

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`store on ${backend.name}`, () => {
    const open: Store[] = [];
    const opened = async (location = backend.fresh()) => {
      const store = await openStore(location);
      open.push(store);
      return store;
    };
    after(async () => {
      for (const s of open) await s.close();
      await backend.cleanup();
    });

    test('opening creates the schema once; opening again applies nothing', async () => {
      const location = backend.fresh();
      await (await opened(location)).close();
      const db = await backend.raw(location);
      try {
        assert.equal(await migrate(db), SCHEMA_VERSION);
        const rows = await db.query<{ version: unknown }>('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => Number(r.version)), [1]);
      } finally {
        await db.close();
      }
    });

    test('a schema newer than this windrose is refused, not written to', async () => {
      const location = backend.fresh();
      await (await opened(location)).close();
      const db = await backend.raw(location);
      await db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [SCHEMA_VERSION + 1, 'future', 0]);
      await db.close();
      await assert.rejects(openStore(location), (err: Error) => err instanceof StoreOpenError && /newer than this windrose knows/.test(err.message));
    });

    test('creating a key creates its consumer once; list, find and the consumer filter', async () => {
      const store = await opened();
      const a = await store.apiKeys.create(key('wrk_aaaaaaaa', 'acme', { name: 'ci', expiresAt: 1_800_000_000_000 }));
      const b = await store.apiKeys.create(key('wrk_bbbbbbbb', 'acme'));
      const c = await store.apiKeys.create(key('wrk_cccccccc', 'globex'));
      assert.deepEqual(a, { id: a.id, prefix: 'wrk_aaaaaaaa', consumer: 'acme', name: 'ci', createdAt: 1_700_000_000_000, expiresAt: 1_800_000_000_000, revokedAt: undefined });
      assert.ok(b.id > a.id && c.id > b.id);
      assert.deepEqual((await store.consumers.list()).map((x) => x.name), ['acme', 'globex']);
      assert.deepEqual(await store.apiKeys.list(), [a, b, c]);
      assert.deepEqual(await store.apiKeys.list({ consumer: 'globex' }), [c]);
      assert.deepEqual(await store.apiKeys.find({ id: b.id }), b);
      assert.deepEqual(await store.apiKeys.find({ prefix: 'wrk_cccccccc' }), c);
      assert.equal(await store.apiKeys.find({ prefix: 'wrk_zzzzzzzz' }), undefined);
      assert.equal(await store.consumers.find('nobody'), undefined);
    });

    test('a prefix already taken is a unique violation, and nothing of the failed write stays', async () => {
      const store = await opened();
      await store.apiKeys.create(key('wrk_dupdupdu'));
      await assert.rejects(store.apiKeys.create(key('wrk_dupdupdu', 'other')), (err) => isUniqueViolation(err));
      assert.deepEqual((await store.consumers.list()).map((x) => x.name), ['acme']);
      assert.deepEqual((await store.apiKeys.changedSince(0, 10)).map((k) => k.changeSeq), [1]);
    });

    test('an invalid consumer name is refused before anything is written', async () => {
      const store = await opened();
      await assert.rejects(store.apiKeys.create(key('wrk_xxxxxxxx', 'bad name')), /invalid consumer name "bad name"/);
      assert.deepEqual(await store.apiKeys.list(), []);
    });

    test('revoking stamps the key once; revoking again keeps the first time', async () => {
      const store = await opened();
      const k = await store.apiKeys.create(key('wrk_revoke01'));
      const first = await store.apiKeys.revoke({ prefix: k.prefix }, 1_750_000_000_000);
      assert.deepEqual(first, { key: { ...k, revokedAt: 1_750_000_000_000 }, revokedNow: true });
      const again = await store.apiKeys.revoke({ id: k.id }, 1_760_000_000_000);
      assert.deepEqual(again, { key: { ...k, revokedAt: 1_750_000_000_000 }, revokedNow: false });
      assert.equal(await store.apiKeys.revoke({ id: 999_999 }, 0), undefined);
    });

    test('changedSince gives each write once, in order, page by page; a revocation comes back as a newer change', async () => {
      const store = await opened();
      const keys = [];
      for (let i = 0; i < 5; i++) keys.push(await store.apiKeys.create(key(`wrk_page000${i}`)));
      const firstPage = await store.apiKeys.changedSince(0, 3);
      assert.deepEqual(firstPage.map((k) => k.prefix), ['wrk_page0000', 'wrk_page0001', 'wrk_page0002']);
      assert.deepEqual(firstPage.map((k) => k.changeSeq), [1, 2, 3]);
      assert.equal(firstPage[0].hash, 'ab'.repeat(32));
      const rest = await store.apiKeys.changedSince(3, 3);
      assert.deepEqual(rest.map((k) => k.changeSeq), [4, 5]);
      assert.deepEqual(await store.apiKeys.changedSince(5, 3), []);
      await store.apiKeys.revoke({ id: keys[1].id }, 1_750_000_000_000);
      const changed = await store.apiKeys.changedSince(5, 10);
      assert.deepEqual(changed.map((k) => [k.prefix, k.changeSeq, k.revokedAt]), [['wrk_page0001', 6, 1_750_000_000_000]]);
    });

    test('writers in two connections get distinct, gap-free change numbers', async () => {
      const location = backend.fresh();
      const one = await opened(location);
      const two = await opened(location);
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).apiKeys.create(key(`wrk_conc${String(i).padStart(4, '0')}`, `c${i % 3}`))));
      const seqs = (await one.apiKeys.changedSince(0, 100)).map((k) => k.changeSeq);
      assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
    });

    if (backend.name === 'sqlite') {
      test('the file is private to its owner and written ahead (WAL)', async () => {
        const location = backend.fresh();
        await (await opened(location)).close();
        const file = (location as { file: string }).file;
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        const db = await backend.raw(location);
        try {
          assert.deepEqual(await db.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
        } finally {
          await db.close();
        }
      });
    }
  });
}
