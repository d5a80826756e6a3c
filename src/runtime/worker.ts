//! Entry point of a gateway worker process: applies the snapshots the primary sends, and drains when
//! the primary asks or when it gets SIGTERM itself.

import { dataPlaneRegistry } from '../telemetry/metrics.js';
import { translate } from '../config/translate/index.js';
import { SnapshotStore } from '../config/snapshot.js';
import { parseStoreLocation } from '../store/location.js';
import { useStore } from '../store/shared.js';
import { createLogger, type LogFormat, type LogLevel } from '../telemetry/log.js';
import { DataPlane } from './dataplane.js';
import { fromPlain, isWindroseMessage, type ToPrimary } from './messages.js';

const log = createLogger((process.env.WINDROSE_LOG_LEVEL ?? 'info') as LogLevel, (process.env.WINDROSE_LOG_FORMAT ?? 'json') as LogFormat);
if (process.env.WINDROSE_STORE) useStore(parseStoreLocation(process.env.WINDROSE_STORE), log);
const plane = new DataPlane(process.env.WINDROSE_BIND ?? '0.0.0.0', log, process.env.WINDROSE_ZONE);
const store = new SnapshotStore();
const send = (m: ToPrimary) => process.send?.(m);
/** The primary passes its --drain-timeout, for drains that start with a SIGTERM here. */
const drainMs = Number(process.env.WINDROSE_DRAIN_MS ?? 10_000);
let applying: Promise<void> = Promise.resolve();
let draining = false;

/** Drains once, whoever asks first (a SIGTERM to the whole group reaches this worker and the primary), then exits. */
function drain(graceMs: number): void {
  if (draining) return;
  draining = true;
  applying.then(() => {
    const drained = plane.drain(graceMs);
    // The listeners are closed by now, and the cluster's notice of it goes first on the same channel.
    send({ type: 'windrose:draining' });
    return drained;
  }).then(() => process.exit(0), (err: Error) => {
    log.error({ err: err.message }, 'drain failed');
    process.exit(1);
  });
}

process.on('message', (m: unknown) => {
  if (!isWindroseMessage(m)) return;
  if (m.type === 'windrose:config') {
    // A draining worker must not bind the ports again.
    if (draining) return;
    applying = applying.then(async () => {
      try {
        const resources = fromPlain(m.resources);
        const active = store.publish(translate(resources, m.limits), resources, m.version);
        await plane.apply(active.snapshot);
        send({ type: 'windrose:applied', version: m.version });
      } catch (err) {
        log.error({ version: m.version, err: (err as Error).message }, 'worker failed to apply config');
        send({ type: 'windrose:failed', version: m.version, message: (err as Error).message });
      }
    });
  } else if (m.type === 'windrose:metrics?') {
    send({ type: 'windrose:metrics', id: m.id, metrics: dataPlaneRegistry.collect() });
  } else if (m.type === 'windrose:drain') {
    drain(m.graceMs);
  }
});
// Messages sent before this module finished loading would be lost, so the primary waits for this one.
send({ type: 'windrose:hello' });
// SIGTERM to one worker drains it while the others serve, and the primary starts a replacement: a
// rolling restart. A terminal's Ctrl-C reaches the whole group, and there the primary decides.
process.on('SIGTERM', () => drain(drainMs));
process.on('SIGINT', () => undefined);
// A worker whose primary is gone has nobody to take config from: it leaves rather than linger.
process.on('disconnect', () => process.exit(0));
