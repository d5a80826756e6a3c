//! Each serving process's copy of the store's API keys, by prefix. It is loaded whole on the first
//! request that presents a key, then kept in step by asking the store every 250 ms for the keys
//! written since the last change it saw, so a revocation reaches every worker well within a second
//! while a request only looks up a Map. When the store cannot be reached the copy keeps serving as
//! last synced and the outage is logged; writes go to the store, so nothing is lost, and the next
//! sync after it returns brings them.

import type { Logger } from 'pino';
import type { SyncedApiKey } from '../../../../store/api-keys.js';
import { errorMessage } from '../../../../store/database.js';
import { describeStoreLocation } from '../../../../store/location.js';
import { onSharedStoreClose, sharedStore, sharedStoreSettings } from '../../../../store/shared.js';

/** How often each process asks the store what changed: the bound on how long a revoked key still works. */
export const SYNC_INTERVAL_MS = 250;
/** Keys per query, so a first load of many keys does not hold one huge result. */
const PAGE = 5000;
/** How often a continuing outage is logged again. */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export interface KeyEntry {
  readonly id: number;
  readonly prefix: string;
  readonly consumer: string;
  /** SHA-256 of the whole key. */
  readonly digest: Buffer;
  readonly expiresAt: number | undefined;
  readonly revoked: boolean;
}

/** Where the keyring reads the keys: the store's api_keys table. */
export interface KeySource {
  changedSince(seq: number, limit: number): Promise<SyncedApiKey[]>;
}

const entryOf = (k: SyncedApiKey): KeyEntry => ({
  id: k.id, prefix: k.prefix, consumer: k.consumer, digest: Buffer.from(k.hash, 'hex'), expiresAt: k.expiresAt, revoked: k.revokedAt !== undefined,
});

export class Keyring {
  private readonly keys = new Map<string, KeyEntry>();
  private seq = 0;
  private loaded = false;
  private first: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private outageSince: number | undefined;
  private outageLogged = 0;

  constructor(
    private readonly source: () => Promise<KeySource>,
    readonly log: Logger,
    /** The store's location, for log lines. */
    private readonly store: string,
    private readonly intervalMs = SYNC_INTERVAL_MS,
  ) {}

  /** Whether the keys have been loaded; until then `get` knows none. */
  get ready(): boolean {
    return this.loaded;
  }

  get(prefix: string): KeyEntry | undefined {
    return this.keys.get(prefix);
  }

  /** Starts syncing on the first call; resolves true once the keys are loaded, false if that first load failed. */
  load(): Promise<boolean> {
    this.first ??= this.sync().then(() => this.loaded);
    return this.first;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async sync(): Promise<void> {
    try {
      const source = await this.source();
      for (;;) {
        const changed = await source.changedSince(this.seq, PAGE);
        for (const k of changed) {
          this.keys.set(k.prefix, entryOf(k));
          this.seq = k.changeSeq;
        }
        if (changed.length < PAGE) break;
      }
      if (!this.loaded) this.log.info({ store: this.store, keys: this.keys.size }, 'API keys loaded');
      this.loaded = true;
      if (this.outageSince !== undefined) {
        this.log.warn({ store: this.store, unreachableMs: Date.now() - this.outageSince }, 'API-key store reachable again; keys in sync');
        this.outageSince = undefined;
      }
    } catch (err) {
      this.failed(err);
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.sync(), this.intervalMs);
        // Syncing alone never keeps a process alive.
        this.timer.unref();
      }
    }
  }

  private failed(err: unknown): void {
    const now = Date.now();
    const fields = { store: this.store, err: errorMessage(err), keys: this.keys.size };
    const consequence = this.loaded ? 'serving the keys as last synced' : 'requests that present an API key get 503 until it answers';
    if (this.outageSince === undefined) {
      this.outageSince = now;
      this.outageLogged = now;
      this.log.error(fields, `API-key store unreachable; ${consequence}`);
    } else if (now - this.outageLogged >= OUTAGE_LOG_INTERVAL_MS) {
      this.outageLogged = now;
      this.log.error({ ...fields, unreachableMs: now - this.outageSince }, `API-key store still unreachable; ${consequence}`);
    }
  }
}

let shared: Keyring | undefined;

/** The keyring of this process's store, created on first use and shared by every config generation. */
export function sharedKeyring(): Keyring {
  if (shared === undefined) {
    const { location, log } = sharedStoreSettings();
    const ring = new Keyring(async () => (await sharedStore()).apiKeys, log, describeStoreLocation(location));
    onSharedStoreClose(() => {
      ring.stop();
      if (shared === ring) shared = undefined;
    });
    shared = ring;
  }
  return shared;
}
