//! The admin server: readiness, liveness, the active config (secrets redacted), resource status and metrics.

import http from 'node:http';
import type { Active } from '../config/snapshot.js';
import type { Resource } from '../config/resources.js';

/** A process serving the data plane, as /ready lists it: its pid is what a drain is sent to. */
export interface WorkerView {
  /** The cluster worker id; 0 for the gateway process itself with `--workers 1`. */
  readonly id: number;
  readonly pid: number;
  readonly state: 'starting' | 'serving' | 'draining';
  /** The config version it has applied; 0 before the first. */
  readonly version: number;
}

export interface AdminSource {
  /** True once listeners are bound and a config is applied (on every worker). */
  ready(): boolean;
  active(): Active | undefined;
  workers(): readonly WorkerView[];
  metrics(): Promise<{ contentType: string; body: string }>;
}

const REDACTED = '[redacted]';

function redactResource(r: Resource): unknown {
  const plain = { apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec };
  if (r.kind !== 'Secret') return plain;
  const redact = (m: Readonly<Record<string, string>> | undefined) => m && Object.fromEntries(Object.keys(m).map((k) => [k, REDACTED]));
  return { ...plain, spec: { ...r.spec, data: redact(r.spec.data), stringData: redact(r.spec.stringData) } };
}

export function describeActive(active: Active): unknown {
  const s = active.snapshot;
  return {
    version: s.version,
    createdAt: s.createdAt,
    ports: s.ports.map((p) => ({
      port: p.port, protocol: p.protocol, listeners: p.listeners, routeMatches: p.routes.size, limits: p.limits,
      certificates: p.certificates.map((c) => ({ secret: c.name, dnsNames: c.dnsNames })),
    })),
    clusters: s.clusters.map((c) => ({ name: c.name, endpoints: c.endpoints, settings: c.settings })),
    resources: active.resources.map(redactResource),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function startAdmin(host: string, port: number, source: AdminSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'method_not_allowed', message: 'the admin API is read-only', requestId: '' } });
    switch (path) {
      case '/live': return json(res, 200, { live: true });
      case '/ready': {
        const ready = source.ready();
        return json(res, ready ? 200 : 503, { ready, version: source.active()?.snapshot.version ?? null, workers: source.workers() });
      }
      case '/config': {
        const active = source.active();
        return active ? json(res, 200, describeActive(active)) : json(res, 503, { error: { code: 'no_config', message: 'no config applied yet', requestId: '' } });
      }
      case '/status': {
        const active = source.active();
        return json(res, 200, { version: active?.snapshot.version ?? null, resources: active?.snapshot.statuses ?? [] });
      }
      case '/metrics':
        source.metrics().then(
          (m) => { res.writeHead(200, { 'content-type': m.contentType }); res.end(m.body); },
          (err: Error) => json(res, 500, { error: { code: 'metrics_failed', message: err.message, requestId: '' } }),
        );
        return;
      default:
        return json(res, 404, { error: { code: 'not_found', message: 'try /ready, /live, /config, /status or /metrics', requestId: '' } });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
