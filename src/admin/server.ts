//! The admin server: readiness, liveness, the active config (secrets redacted), resource status and metrics.

import http from 'node:http';
import type { Active } from '../config/snapshot.js';
import type { Resource } from '../config/resources.js';
import { sendJson, sendJsonError } from '../json-response.js';
import { startReadOnlyServer } from './read-only-server.js';

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

export function startAdmin(host: string, port: number, source: AdminSource): Promise<http.Server> {
  return startReadOnlyServer(host, port, {
    '/ready': (res) => {
      const ready = source.ready();
      sendJson(res, ready ? 200 : 503, { ready, version: source.active()?.snapshot.version ?? null, workers: source.workers() });
    },
    '/config': (res) => {
      const active = source.active();
      if (active) sendJson(res, 200, describeActive(active));
      else sendJsonError(res, 503, 'no_config', 'no config applied yet');
    },
    '/status': (res) => {
      const active = source.active();
      sendJson(res, 200, { version: active?.snapshot.version ?? null, resources: active?.snapshot.statuses ?? [] });
    },
    '/metrics': (res) => {
      source.metrics().then(
        (m) => { res.writeHead(200, { 'content-type': m.contentType }); res.end(m.body); },
        (err: Error) => sendJsonError(res, 500, 'metrics_failed', err.message),
      );
    },
  });
}
