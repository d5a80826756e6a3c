//! The control plane's admin server (default 127.0.0.1:15014, istiod's monitoring port): liveness,
//! readiness, Prometheus metrics, and `/proxies`, what each proxy registered and which config
//! version it was sent, acknowledged or rejected.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, sendJsonError } from '../json-response.js';
import { CONTENT_TYPE } from '../telemetry/series.js';
import type { ProxyStatus } from './distribution/distributor.js';
import type { Workload } from './registry/workloads.js';

export interface ProxyView extends ProxyStatus {
  readonly workload: Workload;
  readonly connected: boolean;
  readonly lastSeen: number;
}

export interface ControlAdminSource {
  ready(): boolean;
  proxies(): readonly ProxyView[];
  metrics(): string;
}

function describe(p: ProxyView): unknown {
  const w = p.workload;
  return {
    id: w.id,
    spiffeId: w.spiffeId,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
    services: w.services,
    labels: w.labels,
    address: w.address,
    port: w.port,
    ...(w.zone === undefined ? {} : { zone: w.zone }),
    connected: p.connected,
    ...(p.sentVersion === undefined ? {} : { sentVersion: p.sentVersion }),
    ...(p.ackedVersion === undefined ? {} : { ackedVersion: p.ackedVersion }),
    ...(p.nack === undefined ? {} : { nack: p.nack }),
    lastSeen: new Date(p.lastSeen).toISOString(),
  };
}

export function startControlAdmin(host: string, port: number, source: ControlAdminSource): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJsonError(res, 405, 'method_not_allowed', 'the admin API is read-only');
    switch (path) {
      case '/live': return sendJson(res, 200, { live: true });
      case '/ready': {
        const ready = source.ready();
        return sendJson(res, ready ? 200 : 503, { ready });
      }
      case '/proxies': return sendJson(res, 200, source.proxies().map(describe));
      case '/metrics':
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        res.end(source.metrics());
        return;
      default:
        return sendJsonError(res, 404, 'not_found', 'try /ready, /live, /proxies or /metrics');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
