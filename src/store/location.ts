//! Where the store lives, as `--store` / WINDROSE_STORE write it: `sqlite:PATH` (the default, a file
//! in the data directory) or a PostgreSQL URL, optionally with `?schema=NAME`.

import path from 'node:path';

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly file: string }
  /** `url` is what the pg driver gets: the text given, without windrose's own `schema` parameter. */
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string | undefined };

/** `--data-dir`'s default, the same as `windrose control`'s. */
export const DEFAULT_DATA_DIR = 'windrose-data';

/** The store's file name inside the data directory. */
export const STORE_FILE = 'windrose.db';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export class StoreLocationError extends Error {}

/** Parses a location; a relative SQLite path is resolved against the working directory, once, here. */
export function parseStoreLocation(text: string): StoreLocation {
  if (text.startsWith('sqlite:')) {
    // sqlite:///abs/path (the URL habit of other tools) means the same as sqlite:/abs/path.
    const file = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new StoreLocationError('expected sqlite:PATH with a file path, e.g. sqlite:windrose-data/windrose.db');
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new StoreLocationError(`invalid PostgreSQL URL ${JSON.stringify(redact(text))}`);
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    if (schema !== undefined && !SCHEMA_RE.test(schema)) {
      throw new StoreLocationError(`invalid schema ${JSON.stringify(schema)}: expected lowercase letters, digits and '_', starting with a letter or '_'`);
    }
    url.searchParams.delete('schema');
    return { kind: 'postgres', url: url.toString(), schema };
  }
  throw new StoreLocationError(`expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE, got ${JSON.stringify(redact(text))}`);
}

export function defaultStoreLocation(dataDir: string): StoreLocation {
  return { kind: 'sqlite', file: path.resolve(dataDir, STORE_FILE) };
}

/** The location as text that parses back to it, for handing to worker processes. */
export function formatStoreLocation(location: StoreLocation): string {
  if (location.kind === 'sqlite') return `sqlite:${location.file}`;
  if (location.schema === undefined) return location.url;
  const url = new URL(location.url);
  url.searchParams.set('schema', location.schema);
  return url.toString();
}

/** The location for messages and logs: never the password. */
export function describeStoreLocation(location: StoreLocation): string {
  return redact(formatStoreLocation(location));
}

function redact(text: string): string {
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
