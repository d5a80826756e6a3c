//! `windrose gateway`: loads and watches the config, serves it in this process (one worker) or in
//! N worker processes on the same ports, and runs the admin server for all of them.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { LoadResult } from '../config/load.js';
import type { ListenerLimits } from '../config/model.js';
import { formatConfigError } from '../config/resources.js';
import { SnapshotStore, type Active } from '../config/snapshot.js';
import { translate } from '../config/translate/index.js';
import { startAdmin, type AdminSource } from '../admin/server.js';
import { FileProvider } from '../providers/file.js';
import { configRegistry, dataPlaneRegistry, recordConfigVersion, recordReload } from '../telemetry/metrics.js';
import { CONTENT_TYPE, renderText, sumMetrics, type MetricData } from '../telemetry/series.js';
import { DataPlane } from './dataplane.js';
import { isWindroseMessage, toPlain, type ToWorker } from './messages.js';

/** How long /metrics waits for the workers' answers. */
const METRICS_WAIT_MS = 2000;

export interface GatewayOptions {
  readonly config: string;
  readonly admin: { readonly host: string; readonly port: number } | undefined;
  readonly workers: number;
  readonly bind: string;
  readonly limits: ListenerLimits;
  readonly drainMs: number;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly log: Logger;
}

/** Where the served snapshots go: this process, or a set of worker processes. */
interface Servers {
  apply(active: Active): Promise<void>;
  ready(): boolean;
  metrics(): Promise<string>;
  drain(graceMs: number): Promise<void>;
}

function inProcess(opts: GatewayOptions, store: SnapshotStore): Servers {
  const plane = new DataPlane(opts.bind, opts.log);
  return {
    apply: (active) => plane.apply(active.snapshot),
    ready: () => plane.appliedVersion > 0 && plane.appliedVersion === store.active?.snapshot.version,
    metrics: async () => renderText([...dataPlaneRegistry.collect(), ...configRegistry.collect()]),
    drain: (graceMs) => plane.drain(graceMs),
  };
}

function workerProcesses(opts: GatewayOptions, store: SnapshotStore): Servers {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Workers get the V8 memory setting that the CLI's shebang gives the primary (see docs/performance.md).
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.js', import.meta.url)), execArgv: [...process.execArgv, '--optimize-for-size', '--no-memory-reducer'], silent: false });
  /** Metrics requests in flight: the answers still awaited, by request id. */
  const gathering = new Map<number, { pending: Set<Worker>; sets: MetricData[][]; done: () => void }>();
  let nextGather = 0;
  const applied = new Map<Worker, number>();
  /** Workers that said hello: only they are sure to receive what is sent; the others get the config on hello. */
  const greeted = new Set<Worker>();
  const waiting: { version: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  let draining = false;
  const allAt = (version: number) => applied.size === opts.workers && [...applied.values()].every((v) => v >= version);
  const settleWaiting = () => {
    for (const w of [...waiting]) if (allAt(w.version)) { waiting.splice(waiting.indexOf(w), 1); w.resolve(); }
  };
  const env = { WINDROSE_LOG_LEVEL: opts.logLevel, WINDROSE_LOG_FORMAT: opts.logFormat, WINDROSE_BIND: opts.bind };
  const message = (active: Active): ToWorker => ({ type: 'windrose:config', version: active.snapshot.version, resources: toPlain(active.resources), limits: opts.limits });

  const fork = (): Worker => {
    const w = cluster.fork(env);
    applied.set(w, 0);
    w.on('message', (m: unknown) => {
      if (!isWindroseMessage(m)) return;
      if (m.type === 'windrose:hello') {
        greeted.add(w);
        const active = store.active;
        if (active) w.send(message(active));
      }
      if (m.type === 'windrose:applied') {
        applied.set(w, m.version);
        settleWaiting();
      }
      if (m.type === 'windrose:metrics') {
        const g = gathering.get(m.id);
        if (g && g.pending.delete(w)) {
          g.sets.push(m.metrics);
          if (g.pending.size === 0) g.done();
        }
      }
      if (m.type === 'windrose:failed') {
        for (const wait of waiting.filter((x) => x.version === m.version)) {
          waiting.splice(waiting.indexOf(wait), 1);
          wait.reject(new Error(`worker ${w.id}: ${m.message}`));
        }
      }
    });
    w.on('exit', (code, signal) => {
      applied.delete(w);
      greeted.delete(w);
      if (draining) return;
      opts.log.error({ worker: w.id, code, signal }, 'worker exited; starting a new one');
      fork();
    });
    return w;
  };
  for (let i = 0; i < opts.workers; i++) fork();

  return {
    apply(active) {
      for (const w of greeted) w.send(message(active));
      return new Promise<void>((resolve, reject) => {
        waiting.push({ version: active.snapshot.version, resolve, reject });
        settleWaiting();
      });
    },
    ready() {
      const version = store.active?.snapshot.version ?? 0;
      return version > 0 && allAt(version);
    },
    async metrics() {
      // Each worker answers with its own request metrics; one that does not answer in time is left out.
      const id = nextGather++;
      const sets: MetricData[][] = [];
      const pending = new Set(greeted);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, METRICS_WAIT_MS);
        const done = () => { clearTimeout(timer); resolve(); };
        gathering.set(id, { pending, sets, done });
        if (pending.size === 0) done();
        for (const w of pending) w.send({ type: 'windrose:metrics?', id } satisfies ToWorker);
      });
      gathering.delete(id);
      return renderText([...sumMetrics(sets), ...configRegistry.collect()]);
    },
    async drain(graceMs) {
      draining = true;
      const exits = [...applied.keys()].map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        w.send({ type: 'windrose:drain', graceMs } satisfies ToWorker);
      }));
      await Promise.all(exits);
    },
  };
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
