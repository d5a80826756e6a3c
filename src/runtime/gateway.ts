//! `windrose gateway`: loads and watches the config, serves it in this process (one worker) or in
//! N worker processes on the same ports, and runs the admin server for all of them.

import type { Logger } from 'pino';
import type { LoadResult } from '../config/load.js';
import { formatConfigError } from '../config/resources.js';
import { SnapshotStore } from '../config/snapshot.js';
import { translate } from '../config/translate/index.js';
import { startAdmin, type AdminSource } from '../admin/server.js';
import { FileProvider } from '../providers/file.js';
import { recordConfigVersion, recordReload } from '../telemetry/metrics.js';
import { CONTENT_TYPE } from '../telemetry/series.js';
import { inProcess, type ServeOptions, type Servers } from './servers.js';
import { workerProcesses } from './workers.js';

export interface GatewayOptions extends ServeOptions {
  readonly config: string;
  readonly admin: { readonly host: string; readonly port: number } | undefined;
}

function reportErrors(log: Logger, result: LoadResult, what: string): string[] {
  const lines = result.errors.map(formatConfigError);
  log.error({ errors: lines }, `${what}: ${lines.length} error(s) in ${result.files.length} file(s)`);
  return lines;
}

/** Starts the gateway; resolves once it is serving. The returned function drains and stops it. */
export async function runGateway(opts: GatewayOptions): Promise<() => Promise<void>> {
  const { log } = opts;
  const store = new SnapshotStore();
  let servers: Servers | undefined;
  let applying: Promise<void> = Promise.resolve();

  const accept = (result: LoadResult) => {
    for (const w of result.warnings) log.warn(formatConfigError(w));
    const active = store.publish(translate(result.resources, opts.limits), result.resources);
    recordReload(true);
    recordConfigVersion(active.snapshot.version);
    const target = servers!;
    const done = applying.then(() => target.apply(active)).then(
      () => { log.info({ version: active.snapshot.version, ports: active.snapshot.ports.map((p) => p.port), workers: opts.workers }, 'ready'); },
      (err: Error) => {
        log.error({ version: active.snapshot.version, err: err.message }, 'applying config failed; not ready');
        throw err;
      },
    );
    applying = done.catch(() => undefined);
    return done;
  };

  const provider = new FileProvider(opts.config, (result) => {
    if (result.errors.length > 0) {
      recordReload(false);
      reportErrors(log, result, 'config change rejected; still serving the last good config');
      return;
    }
    accept(result).catch(() => undefined);
  });
  const first = await provider.load();
  if (first.errors.length > 0) {
    for (const line of reportErrors(log, first, 'invalid config')) process.stderr.write(`${line}\n`);
    throw new GatewayStartError('invalid config');
  }
  const started = opts.workers > 1 ? workerProcesses(opts, store) : inProcess(opts, store);
  servers = started;
  const source: AdminSource = {
    ready: () => started.ready(),
    active: () => store.active,
    workers: () => started.workers(),
    metrics: async () => ({ contentType: CONTENT_TYPE, body: await started.metrics() }),
  };
  const admin = opts.admin ? await startAdmin(opts.admin.host, opts.admin.port, source) : undefined;
  if (opts.admin) log.info({ admin: `http://${opts.admin.host}:${opts.admin.port}` }, 'admin server listening');
  try {
    await accept(first);
  } catch (err) {
    process.stderr.write(`windrose gateway: ${(err as Error).message}\n`);
    await started.drain(0);
    admin?.close();
    throw new GatewayStartError((err as Error).message);
  }
  provider.watch();

  return async () => {
    provider.close();
    log.info({ drainMs: opts.drainMs }, 'draining');
    await started.drain(opts.drainMs);
    await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
    admin?.closeAllConnections();
  };
}

export class GatewayStartError extends Error {}
