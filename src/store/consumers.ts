//! Consumers: who a credential belongs to, known by name to rate limits, plans and billing.

import { int, type Queryable } from './database.js';

export interface Consumer {
  readonly id: number;
  readonly name: string;
  readonly createdAt: number;
}

/**
 * A consumer's name travels upstream as a header value and into logs and metrics labels, so it is
 * kept to characters that are safe in all three.
 */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;

export function consumerNameProblem(name: string): string | undefined {
  return NAME_RE.test(name) ? undefined
    : `invalid consumer name ${JSON.stringify(name)}: expected 1 to 128 letters, digits and . _ : @ + -, starting with a letter or digit`;
}

const row = (r: Record<string, unknown>): Consumer => ({ id: int(r.id), name: String(r.name), createdAt: int(r.created_at) });

export class Consumers {
  constructor(private readonly db: Queryable) {}

  async find(name: string): Promise<Consumer | undefined> {
    const rows = await this.db.query('SELECT id, name, created_at FROM consumers WHERE name = $1', [name]);
    return rows.length === 0 ? undefined : row(rows[0]);
  }

  async list(): Promise<Consumer[]> {
    return (await this.db.query('SELECT id, name, created_at FROM consumers ORDER BY name')).map(row);
  }
}

/** The consumer named `name`, created when absent; for use inside a transaction that writes its keys. */
export async function ensureConsumer(tx: Queryable, name: string, now: number): Promise<Consumer> {
  const problem = consumerNameProblem(name);
  if (problem !== undefined) throw new Error(problem);
  await tx.query('INSERT INTO consumers (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
  const rows = await tx.query('SELECT id, name, created_at FROM consumers WHERE name = $1', [name]);
  return row(rows[0]);
}
