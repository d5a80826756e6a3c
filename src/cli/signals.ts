//! How a long-running command ends: SIGTERM or SIGINT runs its stop (a drain) once, then the process
//! exits 0, or 1 if stopping failed.

import type { Logger } from 'pino';

export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    stop().then(() => process.exit(0), (err: Error) => {
      log.error({ err: err.message }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
