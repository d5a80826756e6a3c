//! `--data-dir` and `--store`, which say where consumers and API keys are kept, the same way for
//! `windrose gateway` and `windrose keys`: the SQLite file DIR/windrose.db unless --store names another.

import { Option } from 'commander';
import { DEFAULT_DATA_DIR, defaultStoreLocation, parseStoreLocation, STORE_FILE, type StoreLocation } from '../store/location.js';

export interface StoreFlags {
  readonly dataDir: string;
  readonly store?: string;
}

export function dataDirOption(): Option {
  return new Option('--data-dir <path>', `where the store's SQLite file (${STORE_FILE}) is kept`).env('WINDROSE_DATA_DIR').default(DEFAULT_DATA_DIR);
}

/** Parsed by `storeLocation`, not by commander, whose message would repeat the URL and its password. */
export function storeOption(): Option {
  return new Option('--store <url>', `consumers and API keys: sqlite:PATH or postgres://USER@HOST:PORT/DB[?schema=NAME] (default: sqlite:DIR/${STORE_FILE} of --data-dir)`)
    .env('WINDROSE_STORE');
}

/** Where the flags say the store is; a location that does not parse is a command-line error: exit 2. */
export function storeLocation(command: string, o: StoreFlags): StoreLocation {
  if (o.store === undefined) return defaultStoreLocation(o.dataDir);
  try {
    return parseStoreLocation(o.store);
  } catch (err) {
    process.stderr.write(`windrose ${command}: --store: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
