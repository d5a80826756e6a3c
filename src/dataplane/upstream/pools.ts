//! The upstream side of one data-plane process: a runtime per cluster, and hosts (each with its
//! connection pool and health state) shared across snapshots while their connection settings are
//! unchanged, so a reload neither drops pools nor forgets which endpoints are ejected or down.

import { createRequire } from 'node:module';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { buildConnector, Dispatcher, H2CClient, Pool } from 'undici';
import type { Cluster, ClusterSettings, Endpoint } from '../../config/model.js';
import type { MeshCredentials } from '../../mesh/credentials.js';
import { ClusterRuntime } from './cluster.js';
import { backendTLSOptions, withServerName } from './backend-tls.js';
import { UpstreamHost } from './host.js';
import { meshConnector } from './mesh-connector.js';
import type { Connector, UpstreamDispatcher } from './dispatcher.js';
import { NodeHttp1Pool } from './node-http1-pool.js';

// undici's two dispatchers are required alone, since its index also loads fetch, WebSocket and
// caches (about 10 MB resident), and only when a pool is first made: a sidecar never loads them.
const require = createRequire(import.meta.url);
const undiciPool = (): typeof Pool => require('undici/lib/dispatcher/pool.js') as typeof Pool;
const undiciH2CClient = (): typeof H2CClient => require('undici/lib/dispatcher/h2c-client.js') as typeof H2CClient;

/**
 * undici's dispatchers take the handler hooks of dispatcher.ts and more; only their option types
 * are narrower (a method union, mutable header lists), which windrose's requests always satisfy.
 */
const fromUndici = (d: Dispatcher): UpstreamDispatcher => d as unknown as UpstreamDispatcher;

/** Upper bound on waiting for response headers when no route timeout is set, as a backstop against hung backends. */
const HEADERS_BACKSTOP_MS = 300_000;

/** Connections per endpoint: the per-endpoint setting, within the cluster's share of maxConnections. */
function connectionsPerEndpoint(s: ClusterSettings, endpoints: number): number {
  return Math.max(1, Math.min(s.http1MaxConnections, Math.ceil(s.circuitBreaker.maxConnections / Math.max(1, endpoints))));
}

/**
 * The connector to a mesh endpoint. A process without a mesh identity (a gateway given an
 * EndpointSlice that names one) cannot call it: each connect fails, which answers the request 503
 * upstream_connect_failed rather than take the process down.
 */
function meshConnectorOf(mesh: MeshCredentials | undefined, ep: Endpoint, timeoutMs: number): Connector {
  if (mesh !== undefined) return meshConnector(mesh, ep.identity as string, ep.host, ep.port, timeoutMs);
  return (callback) => callback(Object.assign(new Error(`endpoint ${ep.host}:${ep.port} needs mutual TLS but this process has no mesh identity`), { code: 'ECONNREFUSED' }), null);
}

/** A connection to an endpoint outside the mesh: plain TCP, or TLS under the cluster's BackendTLSPolicy. */
function directConnector(s: ClusterSettings, ep: Endpoint): Connector {
  return (callback) => {
    const address = { host: ep.host, port: ep.port, timeout: s.connectTimeoutMs };
    const socket: Socket = s.tls ? tls.connect({ ...address, ...backendTLSOptions(s.tls) }) : net.connect(address);
    const failed = (err: Error) => callback(err, null);
    socket.once('timeout', () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    socket.once(s.tls ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.removeListener('error', failed);
      callback(null, socket);
    });
    socket.once('error', failed);
  };
}

function createPool(s: ClusterSettings, connections: number, ep: Endpoint, options: UpstreamOptions): UpstreamDispatcher {
  const meshConnect = ep.identity !== undefined ? meshConnectorOf(options.mesh, ep, s.connectTimeoutMs) : undefined;
  if (options.http1 === 'node' && s.protocol !== 'h2c') {
    return new NodeHttp1Pool({
      connect: meshConnect ?? directConnector(s, ep),
      connections,
      keepAliveTimeoutMs: s.idleTimeoutMs,
      headersTimeoutMs: HEADERS_BACKSTOP_MS,
    });
  }
  const host = ep.host.includes(':') && !ep.host.startsWith('[') ? `[${ep.host}]` : ep.host;
  // A mesh endpoint's sidecar is reached with mesh mutual TLS; a BackendTLSPolicy governs the others.
  const tls = meshConnect !== undefined ? undefined : s.tls;
  const origin = `${meshConnect !== undefined || tls ? 'https' : 'http'}://${host}:${ep.port}`;
  const common = {
    connect: meshConnect !== undefined
      ? (_opts: unknown, callback: buildConnector.Callback) => meshConnect((err, socket) => (err === null ? callback(null, socket as Socket) : callback(err, null)))
      : { timeout: s.connectTimeoutMs, ...(tls ? backendTLSOptions(tls) : {}) },
    keepAliveTimeout: s.idleTimeoutMs,
    headersTimeout: HEADERS_BACKSTOP_MS,
    bodyTimeout: 0,
  };
  if (s.protocol === 'h2c') {
    const H2C = undiciH2CClient();
    return fromUndici(new H2C(origin, { ...common, maxConcurrentStreams: s.http2MaxConcurrentStreams, pipelining: s.http2MaxConcurrentStreams }));
  }
  const UndiciPool = undiciPool();
  const pool = new UndiciPool(origin, { ...common, connections, pipelining: 1 });
  return fromUndici(tls ? withServerName(pool, tls.hostname) : pool);
}

export interface UpstreamOptions {
  /** The zone this process runs in; endpoints in it are preferred while enough of them are healthy. */
  readonly zone?: string;
  /** A mesh proxy's credentials, for endpoints reached with mutual TLS (those with an identity). */
  readonly mesh?: MeshCredentials;
  /**
   * The HTTP/1.1 client: undici (the default) spends less CPU per request; Node's own keeps about
   * 2 MB less resident, which is what a sidecar is short of.
   */
  readonly http1?: 'undici' | 'node';
}

export class UpstreamPools {
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly hosts = new Map<string, UpstreamHost>();

  constructor(private readonly options: UpstreamOptions = {}) {}

  /** The runtime of a snapshot's cluster, created on first use. */
  cluster(cluster: Cluster): ClusterRuntime {
    return this.clusters.get(cluster.key) ?? this.create(cluster);
  }

  /**
   * A connection of its own to one endpoint, for a request that leaves HTTP (an upgrade), secured
   * as the endpoint's pool secures its requests: mesh mutual TLS to a mesh endpoint, the
   * BackendTLSPolicy's TLS, or none. Resolves once connected (and the handshake is done).
   */
  connect(s: ClusterSettings, ep: Endpoint): Promise<Socket> {
    const connector = ep.identity !== undefined ? meshConnectorOf(this.options.mesh, ep, s.connectTimeoutMs) : directConnector(s, ep);
    return new Promise((resolve, reject) => connector((err, socket) => (err === null ? resolve(socket as Socket) : reject(err))));
  }

  private create(cluster: Cluster): ClusterRuntime {
    const s = cluster.settings;
    const n = cluster.endpoints.length;
    const connections = connectionsPerEndpoint(s, n);
    const pool = JSON.stringify([cluster.name, s.protocol, s.connectTimeoutMs, s.idleTimeoutMs, s.http2MaxConcurrentStreams, connections, s.tls ?? null]);
    const hosts = cluster.endpoints.map((ep) => {
      const key = `${pool}|${ep.host}|${ep.port}|${ep.zone ?? ''}|${ep.weight ?? 1}|${ep.identity ?? ''}`;
      let host = this.hosts.get(key);
      if (host === undefined) {
        host = new UpstreamHost(ep, (e) => createPool(s, connections, e, this.options));
        this.hosts.set(key, host);
      }
      return host;
    });
    const capacity = n * (s.protocol === 'h2c' ? s.http2MaxConcurrentStreams : connections);
    const runtime = new ClusterRuntime(cluster, hosts, this.options.zone, capacity);
    this.clusters.set(cluster.key, runtime);
    runtime.start();
    return runtime;
  }

  /** Retires runtimes and hosts the new snapshot no longer uses; their requests in flight complete first. */
  retain(clusters: readonly Cluster[]): void {
    const keep = new Set(clusters.map((c) => c.key));
    for (const [key, runtime] of this.clusters) {
      if (keep.has(key)) continue;
      this.clusters.delete(key);
      runtime.stop();
    }
    for (const c of clusters) this.cluster(c);
    const used = new Set<UpstreamHost>();
    for (const runtime of this.clusters.values()) for (const h of runtime.hosts) used.add(h);
    for (const [key, host] of this.hosts) {
      if (used.has(host)) continue;
      this.hosts.delete(key);
      void host.close();
    }
  }

  async close(): Promise<void> {
    for (const runtime of this.clusters.values()) runtime.stop();
    this.clusters.clear();
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((h) => h.close()));
  }
}
