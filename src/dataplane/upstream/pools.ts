//! The upstream side of one data-plane process: a runtime per cluster, and hosts (each with its
//! connection pool and health state) shared across snapshots while their connection settings are
//! unchanged, so a reload neither drops pools nor forgets which endpoints are ejected or down.

import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { buildConnector, Dispatcher } from 'undici';
// The two dispatchers are imported alone: undici's index also loads fetch, WebSocket and caches,
// about 10 MB of resident memory a proxy never uses.
import H2CClient from 'undici/lib/dispatcher/h2c-client.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import type { Cluster, ClusterSettings, Endpoint } from '../../config/model.js';
import type { MeshCredentials } from '../../mesh/credentials.js';
import { ClusterRuntime } from './cluster.js';
import { backendTLSOptions, withServerName } from './backend-tls.js';
import { UpstreamHost } from './host.js';
import { meshConnector } from './mesh-connector.js';

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
function meshConnectorOf(mesh: MeshCredentials | undefined, ep: Endpoint, timeoutMs: number): buildConnector.connector {
  if (mesh !== undefined) return meshConnector(mesh, ep.identity as string, timeoutMs);
  return (_opts, callback) => callback(Object.assign(new Error(`endpoint ${ep.host}:${ep.port} needs mutual TLS but this process has no mesh identity`), { code: 'ECONNREFUSED' }), null);
}

function createPool(s: ClusterSettings, connections: number, ep: Endpoint, mesh: MeshCredentials | undefined): Dispatcher {
  const host = ep.host.includes(':') && !ep.host.startsWith('[') ? `[${ep.host}]` : ep.host;
  const mtls = ep.identity !== undefined;
  // A mesh endpoint's sidecar is reached with mesh mutual TLS; a BackendTLSPolicy governs the others.
  const tls = mtls ? undefined : s.tls;
  const origin = `${mtls || tls ? 'https' : 'http'}://${host}:${ep.port}`;
  const common = {
    connect: mtls ? meshConnectorOf(mesh, ep, s.connectTimeoutMs)
      : { timeout: s.connectTimeoutMs, ...(tls ? backendTLSOptions(tls) : {}) },
    keepAliveTimeout: s.idleTimeoutMs,
    headersTimeout: HEADERS_BACKSTOP_MS,
    bodyTimeout: 0,
  };
  if (s.protocol === 'h2c') {
    return new H2CClient(origin, { ...common, maxConcurrentStreams: s.http2MaxConcurrentStreams, pipelining: s.http2MaxConcurrentStreams });
  }
  const pool = new Pool(origin, { ...common, connections, pipelining: 1 });
  return tls ? withServerName(pool, tls.hostname) : pool;
}

export interface UpstreamOptions {
  /** The zone this process runs in; endpoints in it are preferred while enough of them are healthy. */
  readonly zone?: string;
  /** A mesh proxy's credentials, for endpoints reached with mutual TLS (those with an identity). */
  readonly mesh?: MeshCredentials;
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
    return new Promise((resolve, reject) => {
      if (ep.identity !== undefined) {
        meshConnectorOf(this.options.mesh, ep, s.connectTimeoutMs)(
          { hostname: ep.host, host: ep.host, protocol: 'https:', port: String(ep.port), servername: undefined, localAddress: null, httpSocket: undefined },
          (err, socket) => (err === null ? resolve(socket as Socket) : reject(err)),
        );
        return;
      }
      const address = { host: ep.host, port: ep.port, timeout: s.connectTimeoutMs };
      const socket: Socket = s.tls ? tls.connect({ ...address, ...backendTLSOptions(s.tls) }) : net.connect(address);
      socket.once('timeout', () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
      socket.once(s.tls ? 'secureConnect' : 'connect', () => {
        socket.setTimeout(0);
        socket.removeListener('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
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
        host = new UpstreamHost(ep, (e) => createPool(s, connections, e, this.options.mesh));
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
