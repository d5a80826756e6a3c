//! API keys as the store keeps them: the public prefix, the SHA-256 of the whole key, never the key.
//! Every write stamps the row with the next value of the `api_keys` change counter, which is how each
//! gateway worker picks up new and revoked keys without reading the whole table again.

import { ensureConsumer } from './consumers.js';
import { int, intOrUndefined, type Database, type Queryable, type Row } from './database.js';

export interface ApiKeyRecord {
  readonly id: number;
  /** The public part of the key, unique: what `keys list` shows and `keys revoke` accepts. */
  readonly prefix: string;
  readonly consumer: string;
  /** The label given at creation. */
  readonly name: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number | undefined;
  readonly revokedAt: number | undefined;
}

/** A key as the gateway syncs it: with its hash and the change that wrote it last. */
export interface SyncedApiKey extends ApiKeyRecord {
  /** SHA-256 of the whole key, hex. */
  readonly hash: string;
  readonly changeSeq: number;
}

export interface NewApiKey {
  readonly consumer: string;
  readonly prefix: string;
  readonly hash: string;
  readonly name?: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
}

/** Which key a command means: its id or its prefix. */
export type ApiKeyRef = { readonly id: number } | { readonly prefix: string };

const COLUMNS = 'k.id, k.prefix, c.name AS consumer, k.name, k.created_at, k.expires_at, k.revoked_at';
const FROM = 'api_keys k JOIN consumers c ON c.id = k.consumer_id';

function record(r: Row): ApiKeyRecord {
  return {
    id: int(r.id), prefix: String(r.prefix), consumer: String(r.consumer), name: r.name === null ? undefined : String(r.name),
    createdAt: int(r.created_at), expiresAt: intOrUndefined(r.expires_at), revokedAt: intOrUndefined(r.revoked_at),
  };
}

/** Takes the next change number; the counter row stays locked until the transaction ends. */
async function nextChange(tx: Queryable): Promise<number> {
  const rows = await tx.query("UPDATE change_counters SET seq = seq + 1 WHERE name = 'api_keys' RETURNING seq");
  return int(rows[0].seq);
}

function where(ref: ApiKeyRef): [string, unknown] {
  return 'id' in ref ? ['k.id = $1', ref.id] : ['k.prefix = $1', ref.prefix];
}

export class ApiKeys {
  constructor(private readonly db: Database) {}

  /** Stores a new key, creating its consumer when absent. A prefix already taken fails with a unique violation. */
  create(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.db.transaction(async (tx) => {
      const consumer = await ensureConsumer(tx, key.consumer, key.createdAt);
      const seq = await nextChange(tx);
      const rows = await tx.query(
        `INSERT INTO api_keys (consumer_id, prefix, hash, name, created_at, expires_at, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [consumer.id, key.prefix, key.hash, key.name ?? null, key.createdAt, key.expiresAt ?? null, seq],
      );
      return {
        id: int(rows[0].id), prefix: key.prefix, consumer: consumer.name, name: key.name,
        createdAt: key.createdAt, expiresAt: key.expiresAt, revokedAt: undefined,
      };
    });
  }

  async list(filter: { readonly consumer?: string } = {}): Promise<ApiKeyRecord[]> {
    const rows = filter.consumer === undefined
      ? await this.db.query(`SELECT ${COLUMNS} FROM ${FROM} ORDER BY k.id`)
      : await this.db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE c.name = $1 ORDER BY k.id`, [filter.consumer]);
    return rows.map(record);
  }

  async find(ref: ApiKeyRef): Promise<ApiKeyRecord | undefined> {
    const [cond, value] = where(ref);
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE ${cond}`, [value]);
    return rows.length === 0 ? undefined : record(rows[0]);
  }

  /** Revokes a key; `revokedNow` is false for one that was revoked already (its first revocation time stays). */
  revoke(ref: ApiKeyRef, at: number): Promise<{ key: ApiKeyRecord; revokedNow: boolean } | undefined> {
    return this.db.transaction(async (tx) => {
      const [cond, value] = where(ref);
      const rows = await tx.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE ${cond}`, [value]);
      if (rows.length === 0) return undefined;
      const key = record(rows[0]);
      if (key.revokedAt !== undefined) return { key, revokedNow: false };
      const seq = await nextChange(tx);
      await tx.query('UPDATE api_keys SET revoked_at = $1, change_seq = $2 WHERE id = $3', [at, seq, key.id]);
      return { key: { ...key, revokedAt: at }, revokedNow: true };
    });
  }

  /** Keys written after change `seq`, oldest change first, at most `limit` of them. */
  async changedSince(seq: number, limit: number): Promise<SyncedApiKey[]> {
    const rows = await this.db.query(
      `SELECT ${COLUMNS}, k.hash, k.change_seq FROM ${FROM} WHERE k.change_seq > $1 ORDER BY k.change_seq LIMIT $2`,
      [seq, limit],
    );
    return rows.map((r) => ({ ...record(r), hash: String(r.hash), changeSeq: int(r.change_seq) }));
  }
}
