//! `windrose control`, put together: the CA (and its directory watched for rotations), the
//! workload registry (persisted, expired by heartbeat), the config (file provider), the
//! distributor that pushes each proxy its snapshot, the mTLS API server and the admin server.

import path from 'node:path';
import type { Logger } from 'pino';
import { configRegistry } from '../telemetry/metrics.js';
import { renderText } from '../telemetry/series.js';
import { startControlAdmin } from './admin.js';
import { CertificateAuthority } from './ca/authority.js';
import { JoinTokens } from './ca/join-token.js';
import { CaWatcher } from './ca/watch.js';
import { ConfigSource } from './config/source.js';
import { Distributor } from './distribution/distributor.js';
import { controlMetrics, controlRegistry } from './metrics.js';
import { RegistryFile } from './registry/file-store.js';
import { workloadKey, WorkloadRegistry } from './registry/workloads.js';
import { ApiServer } from './server.js';

/** Endpoint changes within this window go out in one push (istiod debounces 100 ms too). */
const REGISTRY_DEBOUNCE_MS = 100;

export interface ControlOptions {
  readonly dataDir: string;
  readonly trustDomain: string;
  readonly host: string;
  readonly port: number;
  readonly svidLifetimeMs: number;
  /** A file or directory of resources to distribute; none: proxies get the registry's EndpointSlices only. */
  readonly config: string | undefined;
  readonly admin: { readonly host: string; readonly port: number };
  readonly heartbeatTimeoutMs: number;
  readonly log: Logger;
}

export interface RunningControl {
  readonly port: number;
  readonly adminPort: number;
  close(): Promise<void>;
}

export async function startControl(opts: ControlOptions): Promise<RunningControl> {
  const { log } = opts;
  const caDir = path.join(opts.dataDir, 'ca');
  let authority = await CertificateAuthority.open(caDir, { trustDomain: opts.trustDomain });
  const tokens = JoinTokens.open(caDir);

  const store = new RegistryFile(path.join(opts.dataDir, 'registry.json'));
  const registry = new WorkloadRegistry(store);
  if (store.skipped > 0) log.warn({ skipped: store.skipped }, 'registry.json entries that could not be read were dropped');
  const distributor = new Distributor({ log, metrics: controlMetrics, registryDebounceMs: REGISTRY_DEBOUNCE_MS });
  const registryChanged = () => {
    distributor.setWorkloads(registry.list());
    controlMetrics.setWorkloads(registry.size);
  };
  distributor.setTrustBundle(authority.roots());
  registryChanged();
  if (registry.size > 0) log.info({ workloads: registry.size }, 'registry restored; serving its endpoints while proxies reconnect');

  const source = opts.config === undefined ? undefined : new ConfigSource(opts.config, log, (docs) => distributor.setConfig(docs));
  if (source !== undefined) distributor.setConfig(await source.load());

  const api = await ApiServer.start({
    host: opts.host,
    port: opts.port,
    trustDomain: opts.trustDomain,
    svidLifetimeMs: opts.svidLifetimeMs,
    log,
    certificates: { authority: () => authority, tokens, svidLifetimeMs: opts.svidLifetimeMs, metrics: controlMetrics, log },
    stream: { registry, distributor, registryChanged, log },
  });

  let ready = false;
  const admin = await startControlAdmin(opts.admin.host, opts.admin.port, {
    ready: () => ready,
    proxies: () => registry.list().map((workload) => {
      const key = workloadKey(workload);
      return { workload, lastSeen: registry.get(key)!.lastSeen, ...distributor.status(key) };
    }),
    metrics: () => renderText([...configRegistry.collect(), ...controlRegistry.collect()]),
  }).catch(async (err: Error) => {
    distributor.close();
    await api.close();
    throw err;
  });

  const caWatcher = new CaWatcher(caDir, authority, async (next) => {
    authority = next;
    await api.refresh();
    distributor.setTrustBundle(next.roots());
  }, log);
  caWatcher.start();
  source?.watch();

  const expiry = setInterval(() => {
    const gone = registry.expire(opts.heartbeatTimeoutMs);
    if (gone.length === 0) return;
    for (const w of gone) {
      log.info({ proxy: w.id, spiffeId: w.spiffeId, services: w.services }, 'workload removed: its proxy sent nothing within the heartbeat timeout');
      distributor.forget(workloadKey(w));
    }
    registryChanged();
  }, Math.max(50, Math.min(1_000, opts.heartbeatTimeoutMs / 4)));
  expiry.unref();
  ready = true;

  return {
    port: api.port,
    adminPort: admin.port,
    async close() {
      ready = false;
      clearInterval(expiry);
      caWatcher.close();
      source?.close();
      distributor.close();
      await api.close();
      await admin.close();
    },
  };
}
