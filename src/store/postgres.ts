//! The store in PostgreSQL (pg), for several gateway nodes sharing one set of consumers and keys.
//! With `?schema=NAME` every connection works in that schema, created on first use.

import pg from 'pg';
import type { Database, Queryable, Row } from './database.js';

/** Few connections: a gateway worker polls with one, a `windrose keys` command writes with one. */
const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 3000;
/** A poll that hangs on a half-dead connection must fail, so the next one can try a fresh one. */
const QUERY_TIMEOUT_MS = 5000;

export async function openPostgres(url: string, schema: string | undefined): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    options: schema === undefined ? undefined : `-c search_path=${schema}`,
  });
  // An idle connection that the server closes (a restart, a failover) is dropped from the pool; the
  // next query opens a new one or reports the outage itself. Without a listener the error would be thrown.
  pool.on('error', () => undefined);
  try {
    // A first query either way, so an unreachable server fails the open rather than the first use. The
    // schema is looked up before it is created: CREATE SCHEMA checks a privilege that a role using an
    // existing schema may not have, even with IF NOT EXISTS.
    const found = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema ?? 'public']);
    if (schema !== undefined && found.rowCount === 0) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (err) {
    await pool.end();
    throw err;
  }

  let closed: Promise<void> | undefined;
  const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T extends Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
  });

  return {
    dialect: 'postgres',
    query: on(pool).query,
    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A connection whose ROLLBACK failed is in an unknown state: it is closed, not reused.
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(on(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => { broken = e; });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
