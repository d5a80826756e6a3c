//! The primary's side of `--workers N`: forks the worker processes, sends them each snapshot, sums
//! their metrics, replaces a worker that drains or dies, and drains them all on shutdown.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { WorkerView } from '../admin/server.js';
import type { Active, SnapshotStore } from '../config/snapshot.js';
import { formatStoreLocation } from '../store/location.js';
import { configRegistry } from '../telemetry/metrics.js';
import { renderText, sumMetrics, type MetricData } from '../telemetry/series.js';
import { isWindroseMessage, toPlain, type ToWorker } from './messages.js';
import type { ServeOptions, Servers } from './servers.js';

/** How long /metrics waits for the workers' answers. */
const METRICS_WAIT_MS = 2000;

/** What the primary knows of one worker. */
interface Member {
  /** It said hello: only then is a message sure to reach it; until then it gets the config on hello. */
  greeted: boolean;
  /** The config version it has applied. */
  applied: number;
  /** It announced a drain: it only finishes with its open connections, and a replacement is on its way. */
  draining: boolean;
}

export function workerProcesses(opts: ServeOptions, store: SnapshotStore): Servers {
  const { log } = opts;
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Workers get the V8 memory settings that the CLI's shebang gives the primary (see docs/performance.md).
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.js', import.meta.url)), execArgv: [...process.execArgv, '--optimize-for-size', '--no-memory-reducer', '--liftoff-only'], silent: false });
  const members = new Map<Worker, Member>();
  /** Metrics requests in flight: the answers still awaited, by request id. */
  const gathering = new Map<number, { pending: Set<Worker>; sets: MetricData[][]; done: () => void }>();
  let nextGather = 0;
  const waiting: { version: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  let stopping = false;
  const allAt = (version: number) => {
    const serving = [...members.values()].filter((m) => !m.draining);
    return serving.length === opts.workers && serving.every((m) => m.applied >= version);
  };
  const settleWaiting = () => {
    for (const w of [...waiting]) if (allAt(w.version)) { waiting.splice(waiting.indexOf(w), 1); w.resolve(); }
  };
  /** Records a worker's answer to a metrics request, or, without `metrics`, that none will come. */
  const gathered = (w: Worker, id: number, metrics?: MetricData[]) => {
    const g = gathering.get(id);
    if (!g || !g.pending.delete(w)) return;
    if (metrics) g.sets.push(metrics);
    if (g.pending.size === 0) g.done();
  };
  const env = { WINDROSE_LOG_LEVEL: opts.logLevel, WINDROSE_LOG_FORMAT: opts.logFormat, WINDROSE_BIND: opts.bind, WINDROSE_ZONE: opts.zone, WINDROSE_DRAIN_MS: String(opts.drainMs),
    WINDROSE_STORE: opts.store === undefined ? undefined : formatStoreLocation(opts.store) };
  const message = (active: Active): ToWorker => ({ type: 'windrose:config', version: active.snapshot.version, resources: toPlain(active.resources), limits: opts.limits });

  const fork = (): void => {
    const w = cluster.fork(env);
    const m: Member = { greeted: false, applied: 0, draining: false };
    members.set(w, m);
    // Not `pid`: every log line already has one, the primary's.
    const who = { worker: w.id, workerPid: w.process.pid };
    log.info(who, 'worker started');
    w.on('message', (msg: unknown) => {
      if (!isWindroseMessage(msg)) return;
      switch (msg.type) {
        case 'windrose:hello': {
          m.greeted = true;
          const active = store.active;
          if (active) w.send(message(active));
          break;
        }
        case 'windrose:applied':
          if (m.applied === 0) log.info({ ...who, version: msg.version }, 'worker ready');
          m.applied = msg.version;
          settleWaiting();
          break;
        case 'windrose:metrics':
          gathered(w, msg.id, msg.metrics);
          break;
        case 'windrose:failed':
          for (const wait of waiting.filter((x) => x.version === msg.version)) {
            waiting.splice(waiting.indexOf(wait), 1);
            wait.reject(new Error(`worker ${w.id}: ${msg.message}`));
          }
          break;
        case 'windrose:draining':
          // The cluster's notice that this worker closed the shared ports came before this on the same
          // channel, so from here new connections go to the other workers (or, when all drain, are refused).
          m.draining = true;
          log.info(who, 'worker draining');
          if (!stopping) fork();
          break;
      }
    });
    w.on('exit', (code, signal) => {
      members.delete(w);
      for (const id of gathering.keys()) gathered(w, id);
      if (m.draining || stopping) {
        log.info({ ...who, code, signal }, 'worker exited');
        return;
      }
      log.error({ ...who, code, signal }, 'worker exited; starting a new one');
      fork();
    });
  };
  for (let i = 0; i < opts.workers; i++) fork();

  return {
    apply(active) {
      for (const [w, m] of members) if (m.greeted && !m.draining) w.send(message(active));
      return new Promise<void>((resolve, reject) => {
        waiting.push({ version: active.snapshot.version, resolve, reject });
        settleWaiting();
      });
    },
    ready() {
      const version = store.active?.snapshot.version ?? 0;
      return version > 0 && allAt(version);
    },
    workers: () => [...members].map(([w, m]): WorkerView => ({
      id: w.id, pid: w.process.pid ?? 0, version: m.applied,
      state: m.draining ? 'draining' : m.applied > 0 ? 'serving' : 'starting',
    })),
    async metrics() {
      // Each worker answers with its own request metrics; one that does not answer in time is left out.
      const id = nextGather++;
      const sets: MetricData[][] = [];
      const pending = new Set([...members].filter(([, m]) => m.greeted).map(([w]) => w));
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
      stopping = true;
      await Promise.all([...members].map(([w, m]) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        // One that has not said hello may miss a message; it serves nothing yet, so it is simply stopped.
        if (!m.greeted) w.kill();
        else if (!m.draining && w.isConnected()) w.send({ type: 'windrose:drain', graceMs } satisfies ToWorker);
      })));
    },
  };
}
