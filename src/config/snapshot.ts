//! The versioned, immutable snapshot holder: readers take the current one; a new one replaces it
//! atomically and subscribers hear of it.

import type { Snapshot } from './model.js';
import type { Resource } from './resources.js';
import type { Translation } from './translate/index.js';

export interface Active {
  readonly snapshot: Snapshot;
  /** The resources it was built from, for the admin /config view. */
  readonly resources: readonly Resource[];
}

export class SnapshotStore {
  private current: Active | undefined;
  private readonly listeners: ((active: Active) => void)[] = [];

  get active(): Active | undefined {
    return this.current;
  }

  publish(translation: Translation, resources: readonly Resource[], version?: number): Active {
    const snapshot: Snapshot = { ...translation, version: version ?? (this.current?.snapshot.version ?? 0) + 1, createdAt: new Date().toISOString() };
    this.current = { snapshot, resources };
    for (const l of this.listeners) l(this.current);
    return this.current;
  }

  subscribe(listener: (active: Active) => void): void {
    this.listeners.push(listener);
  }
}
