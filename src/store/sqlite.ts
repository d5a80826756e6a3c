//! The store in one SQLite file (better-sqlite3). WAL mode lets the gateway's workers read while a
//! `windrose keys` command writes; the file is created mode 0600 (SQLite gives its -wal and -shm
//! files the same mode).

import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Database, Queryable, Row } from './database.js';

/** How long a writer waits for another writer's lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Transactions of every connection in this process, one at a time. better-sqlite3 blocks the thread
 * while it waits for a lock, so a second connection's BEGIN waiting for the first would stop the very
 * event loop the first needs to finish; other processes are waited for with the busy timeout.
 */
let transactions: Promise<unknown> = Promise.resolve();

/** $1, $2, … become @p1, @p2, …: better-sqlite3 binds numbered parameters only by name. */
function named(sql: string): string {
  return sql.replace(/\$(\d+)/g, '@p$1');
}

export function openSqlite(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new BetterSqlite3(file);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  // In WAL mode NORMAL loses no committed data on a process crash, only possibly the last commits on power loss.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');

  const statements = new Map<string, BetterSqlite3.Statement>();
  const run = <T extends Row>(sql: string, params: readonly unknown[] = []): T[] => {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(named(sql));
      statements.set(sql, stmt);
    }
    const bound: Record<string, unknown> = {};
    params.forEach((v, i) => { bound[`p${i + 1}`] = v === undefined ? null : v; });
    if (stmt.reader) return stmt.all(bound) as T[];
    stmt.run(bound);
    return [];
  };
  const queryable: Queryable = { query: async (sql, params) => run(sql, params) };
  let closed: Promise<void> | undefined;

  return {
    dialect: 'sqlite',
    query: queryable.query,
    transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const done = transactions.then(async () => {
        // IMMEDIATE takes the write lock now, so two writers never both read and then both write.
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(queryable);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      });
      transactions = done.catch(() => undefined);
      return done;
    },
    close() {
      closed ??= transactions.then(() => { db.close(); });
      return closed;
    },
  };
}
