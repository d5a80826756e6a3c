//! Entry point of a gateway worker process: applies the snapshots the primary sends and drains on request.

import { dataPlaneRegistry } from '../telemetry/metrics.js';
import { translate } from '../config/translate/index.js';
import { SnapshotStore } from '../config/snapshot.js';
import { createLogger, type LogFormat, type LogLevel } from '../telemetry/log.js';
import { DataPlane } from './dataplane.js';
import { fromPlain, isWindroseMessage, type ToPrimary } from './messages.js';

const log = createLogger((process.env.WINDROSE_LOG_LEVEL ?? 'info') as LogLevel, (process.env.WINDROSE_LOG_FORMAT ?? 'json') as LogFormat);
const plane = new DataPlane(process.env.WINDROSE_BIND ?? '0.0.0.0', log);
const store = new SnapshotStore();
const send = (m: ToPrimary) => process.send?.(m);
let applying: Promise<void> = Promise.resolve();

process.on('message', (m: unknown) => {
  if (!isWindroseMessage(m)) return;
  if (m.type === 'windrose:config') {
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
    void applying.then(() => plane.drain(m.graceMs)).then(() => process.exit(0));
  }
});
// Messages sent before this module finished loading would be lost, so the primary waits for this one.
send({ type: 'windrose:hello' });
// The primary decides when a worker stops; a terminal's Ctrl-C reaches the whole group.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// A worker whose primary is gone has nobody to take config from: it leaves rather than linger.
process.on('disconnect', () => process.exit(0));
