//! The control plane's admin server (default 127.0.0.1:15014, istiod's monitoring port): liveness,
//! readiness, Prometheus metrics, and `/proxies`, what each proxy registered and which config
//! version it was sent, acknowledged or rejected.

import { startReadOnlyServer } from '../admin/read-only-server.js';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../json-response.js';
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

export async function startControlAdmin(host: string, port: number, source: ControlAdminSource): Promise<{ port: number; close(): Promise<void> }> {
  const server = await startReadOnlyServer(host, port, {
    '/ready': (res) => {
      const ready = source.ready();
      sendJson(res, ready ? 200 : 503, { ready });
    },
    '/proxies': (res) => sendJson(res, 200, source.proxies().map(describe)),
    '/metrics': (res) => {
      res.writeHead(200, { 'content-type': CONTENT_TYPE });
      res.end(source.metrics());
    },
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}
