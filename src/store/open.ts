//! Opens the store: the database its location names, with the schema migrated, and one object per
//! table. Only the driver the location needs is loaded.

import { ApiKeys } from './api-keys.js';
import { Consumers } from './consumers.js';
import { errorMessage, type Database } from './database.js';
import { describeStoreLocation, type StoreLocation } from './location.js';
import { migrate } from './migrations.js';

export interface Store {
  readonly location: StoreLocation;
  readonly consumers: Consumers;
  readonly apiKeys: ApiKeys;
  close(): Promise<void>;
}

export class StoreOpenError extends Error {}

async function connect(location: StoreLocation): Promise<Database> {
  if (location.kind === 'sqlite') {
    const { openSqlite } = await import('./sqlite.js');
    return openSqlite(location.file);
  }
  const { openPostgres } = await import('./postgres.js');
  return openPostgres(location.url, location.schema);
}

export async function openStore(location: StoreLocation): Promise<Store> {
  let db: Database;
  try {
    db = await connect(location);
  } catch (err) {
    throw new StoreOpenError(`cannot open the store ${describeStoreLocation(location)}: ${errorMessage(err)}`);
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new StoreOpenError(`cannot prepare the store ${describeStoreLocation(location)}: ${errorMessage(err)}`);
  }
  return { location, consumers: new Consumers(db), apiKeys: new ApiKeys(db), close: () => db.close() };
}
