//! Where the gateway's snapshots are served: this process (here), or worker processes (workers.ts).

import type { Logger } from 'pino';
import type { WorkerView } from '../admin/server.js';
import type { ListenerLimits } from '../config/model.js';
import type { Active, SnapshotStore } from '../config/snapshot.js';
import type { StoreLocation } from '../store/location.js';
import { useStore } from '../store/shared.js';
import { configRegistry, dataPlaneRegistry } from '../telemetry/metrics.js';
import { renderText } from '../telemetry/series.js';
import { DataPlane } from './dataplane.js';

/** What serving needs to know besides the snapshots. */
export interface ServeOptions {
  readonly workers: number;
  readonly bind: string;
  /** The zone this gateway runs in, for zone-aware endpoint choice. */
  readonly zone?: string;
  readonly limits: ListenerLimits;
  /** Where consumers and API keys are kept; unset, the SQLite file of the default data directory. */
  readonly store?: StoreLocation;
  readonly drainMs: number;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly log: Logger;
}

export interface Servers {
  apply(active: Active): Promise<void>;
  ready(): boolean;
  workers(): readonly WorkerView[];
  metrics(): Promise<string>;
  /** Drains every serving process and resolves once they have stopped. */
  drain(graceMs: number): Promise<void>;
}

export function inProcess(opts: ServeOptions, store: SnapshotStore): Servers {
  if (opts.store !== undefined) useStore(opts.store, opts.log);
  const plane = new DataPlane(opts.bind, opts.log, opts.zone);
  let draining = false;
  return {
    apply: (active) => plane.apply(active.snapshot),
    ready: () => !draining && plane.appliedVersion > 0 && plane.appliedVersion === store.active?.snapshot.version,
    workers: () => [{
      id: 0, pid: process.pid, version: plane.appliedVersion,
      state: draining ? 'draining' : plane.appliedVersion > 0 ? 'serving' : 'starting',
    }],
    metrics: async () => renderText([...dataPlaneRegistry.collect(), ...configRegistry.collect()]),
    drain: (graceMs) => {
      draining = true;
      return plane.drain(graceMs);
    },
  };
}
