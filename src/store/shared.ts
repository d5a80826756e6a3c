//! The store of a serving process (the gateway, or one of its workers): located once at startup
//! (`--store`), opened on the first request that needs it, kept across config reloads, and closed
//! when the process drains. What is built on it (the API-key keyring) is stopped before it closes.

import type { Logger } from 'pino';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { DEFAULT_DATA_DIR, defaultStoreLocation, type StoreLocation } from './location.js';
import { openStore, type Store } from './open.js';

interface Settings {
  readonly location: StoreLocation;
  /** Where the store's outages and the refusals of what it holds are reported. */
  readonly log: Logger;
}

let settings: Settings | undefined;
let opening: Promise<Store> | undefined;
const dependents = new Set<() => void>();

/** Sets where this process's store is; the processes that serve call it before the first request. */
export function useStore(location: StoreLocation, log: Logger): void {
  settings = { location, log };
}

export function sharedStoreSettings(): Settings {
  settings ??= { location: defaultStoreLocation(DEFAULT_DATA_DIR), log: createLogger('info', defaultLogFormat()) };
  return settings;
}

/** The store, opened on first use. A failed open is forgotten, so the next call tries again. */
export function sharedStore(): Promise<Store> {
  if (opening === undefined) {
    const attempt = openStore(sharedStoreSettings().location);
    opening = attempt;
    attempt.catch(() => {
      if (opening === attempt) opening = undefined;
    });
  }
  return opening;
}

/** `stop` runs when the store closes, before it does. */
export function onSharedStoreClose(stop: () => void): void {
  dependents.add(stop);
}

export async function closeSharedStore(): Promise<void> {
  for (const stop of dependents) stop();
  dependents.clear();
  const open = opening;
  opening = undefined;
  if (open !== undefined) await open.then((store) => store.close(), () => undefined);
}
