//! Connection pools per cluster endpoint, kept across snapshots while the cluster key is unchanged,
//! and closed gracefully (requests in flight finish) once no snapshot refers to them.

import type { Dispatcher } from 'undici';
// The two dispatchers are imported alone: undici's index also loads fetch, WebSocket and caches,
// about 10 MB of resident memory a proxy never uses.
import H2CClient from 'undici/lib/dispatcher/h2c-client.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import type { Cluster, Endpoint } from '../../config/model.js';

/** Upper bound on waiting for response headers when no route timeout is set, as a backstop against hung backends. */
const HEADERS_BACKSTOP_MS = 300_000;

interface ClusterPools {
  readonly cluster: Cluster;
  readonly dispatchers: (Dispatcher | undefined)[];
  next: number;
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export class UpstreamPools {
  private readonly byKey = new Map<string, ClusterPools>();

  private entry(cluster: Cluster): ClusterPools {
    let e = this.byKey.get(cluster.key);
    if (e === undefined) {
      e = { cluster, dispatchers: new Array(cluster.endpoints.length), next: 0 };
      this.byKey.set(cluster.key, e);
    }
    return e;
  }

  /** Picks the next endpoint round-robin and returns its dispatcher; undefined when the cluster is empty. */
  pick(cluster: Cluster): { dispatcher: Dispatcher; endpoint: Endpoint } | undefined {
    const n = cluster.endpoints.length;
    if (n === 0) return undefined;
    const e = this.entry(cluster);
    const i = e.next;
    e.next = i + 1 === n ? 0 : i + 1;
    const dispatcher = e.dispatchers[i] ?? (e.dispatchers[i] = this.create(cluster, cluster.endpoints[i]));
    return { dispatcher, endpoint: cluster.endpoints[i] };
  }

  private create(cluster: Cluster, ep: Endpoint): Dispatcher {
    const origin = `http://${formatHost(ep.host)}:${ep.port}`;
    const s = cluster.settings;
    const common = {
      connect: { timeout: s.connectTimeoutMs },
      keepAliveTimeout: s.idleTimeoutMs,
      headersTimeout: HEADERS_BACKSTOP_MS,
      bodyTimeout: 0,
    };
    if (s.protocol === 'h2c') {
      return new H2CClient(origin, { ...common, maxConcurrentStreams: s.http2MaxConcurrentStreams, pipelining: s.http2MaxConcurrentStreams });
    }
    return new Pool(origin, { ...common, connections: s.http1MaxConnections, pipelining: 1 });
  }

  /** Closes pools of clusters the new snapshot no longer uses; their requests in flight complete first. */
  retain(clusters: readonly Cluster[]): void {
    const keep = new Set(clusters.map((c) => c.key));
    for (const [key, e] of this.byKey) {
      if (keep.has(key)) continue;
      this.byKey.delete(key);
      for (const d of e.dispatchers) void d?.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const all = [...this.byKey.values()].flatMap((e) => e.dispatchers.filter((d): d is Dispatcher => d !== undefined));
    this.byKey.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}
