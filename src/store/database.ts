//! The little SQL the store's tables need, the same over SQLite and PostgreSQL: statements are
//! written once, with parameters as $1, $2, … and SQL both dialects accept.

export type Dialect = 'sqlite' | 'postgres';

export type Row = Record<string, unknown>;

export interface Queryable {
  /** The rows a statement returns ([] for one that returns none). */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database extends Queryable {
  readonly dialect: Dialect;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it rejects. Writers
   * are serialized (SQLite takes its write lock at BEGIN; PostgreSQL rows lock as they are written).
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A unique constraint refused the write (SQLite SQLITE_CONSTRAINT_UNIQUE, PostgreSQL 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** BIGINT columns: numbers from SQLite, strings from PostgreSQL (pg keeps 64-bit integers exact). */
export function int(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function intOrUndefined(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : int(v);
}

/** A driver error as one line; a refused connection to a name with several addresses is an AggregateError without a message of its own. */
export function errorMessage(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[] };
  if (e?.message) return e.message;
  if (Array.isArray(e?.errors) && e.errors.length > 0) return errorMessage(e.errors[0]);
  return e?.code ?? String(err);
}
