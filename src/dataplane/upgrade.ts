//! HTTP/1.1 Upgrade (WebSocket): routed like any request, then the connection to the chosen endpoint
//! carries the upgrade request and, once the backend switches protocols, bytes flow both ways untouched.

import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';
import { recordRouted, recordUnrouted } from '../telemetry/metrics.js';
import { runRequestFilters } from './chain.js';
import type { LocalResponse, ProxyRequest } from './filters/filter.js';
import { chooseBackend, type PortState } from './proxy.js';
import { readRequestHeaders, setForwardingHeaders } from './request-headers.js';
import { hashKeyOf } from './upstream/hash-key.js';
import type { UpstreamPools } from './upstream/pools.js';
import { callerIdentity, MTLS_REQUIRED } from './listeners/peer.js';
import { clientCertificateOf } from './listeners/client-certificate.js';
import { readRequestTarget } from './request-target.js';

function answer(socket: Duplex, status: number, headers: readonly (readonly [string, string])[], body: string): number {
  if (socket.writable) {
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`, ...headers.map(([k, v]) => `${k}: ${v}`), 'connection: close'];
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  }
  return status;
}

function refuse(
  socket: Duplex, code: ErrorCode, message: string, requestId: string,
  extra: readonly (readonly [string, string])[] = [], status: number = ERRORS[code].status,
): number {
  const body = errorBody(code, message, requestId);
  return answer(socket, status, [
    ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))], ['x-request-id', requestId], ...extra,
  ], body);
}

/** A filter's own answer (a redirect, a denial) goes back as it would for any request, never as a bare 400. */
function answerLocal(socket: Duplex, local: LocalResponse, requestId: string): number {
  if (local.errorCode !== undefined) return refuse(socket, local.errorCode, local.message ?? ERRORS[local.errorCode].meaning, requestId, local.headers, local.status);
  return answer(socket, local.status, [['x-request-id', requestId], ['content-length', '0'], ...(local.headers ?? [])], '');
}

export class UpgradeHandler {
  constructor(private readonly pools: UpstreamPools) {}

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, state: PortState): void {
    const started = performance.now();
    const port = state.config;
    const down = readRequestHeaders(req.rawHeaders);
    const requestId = down.requestId ?? randomUUID();
    const requested = readRequestTarget(req.url ?? '/', down.host, port.forwardProxy === true);
    const upgrade = req.headers.upgrade ?? '';
    socket.on('error', () => socket.destroy());
    if ('problem' in requested || down.count > port.limits.maxHeaderCount) {
      const [code, message] = 'problem' in requested ? ['bad_request', requested.problem] as const
        : ['headers_too_large', `the request has more than ${port.limits.maxHeaderCount} header fields`] as const;
      recordUnrouted(port.listeners[0] ?? '', refuse(socket, code, message, requestId), 0);
      return;
    }
    const { host, path, query } = requested;
    const peer = callerIdentity(port, req.socket);
    if (peer === null) {
      recordUnrouted(port.listeners[0] ?? '', refuse(socket, 'mtls_required', MTLS_REQUIRED, requestId), 0);
      return;
    }
    const match = port.routes.match({ host, method: req.method ?? 'GET', path, query, header: (n) => down.headers.get(n) });
    if (!match) {
      recordUnrouted(port.listeners[0] ?? '', refuse(socket, 'route_not_found', 'no route matches this request', requestId), 0);
      return;
    }
    const target = match.target;
    const done = (index: number, status: number) => recordRouted(target, index, status, (performance.now() - started) / 1000);
    const preq: ProxyRequest = {
      method: req.method ?? 'GET', path, query, authority: host, headers: down.headers, scheme: state.scheme,
      clientAddress: req.socket.remoteAddress ?? '', requestId, matchedPrefix: match.prefix, mirrors: undefined, identity: undefined,
      peer, port: port.port, clientCertificate: clientCertificateOf(req.socket), route: target.routeName,
    };
    Promise.resolve(runRequestFilters(target.filters, preq)).then(async (outcome) => {
      if (outcome !== undefined) return done(-1, answerLocal(socket, outcome, requestId));
      // Upgrades split by the rule's weights like any other request.
      const index = chooseBackend(target);
      const backend = index < 0 ? undefined : target.backends[index];
      const cluster = backend?.cluster;
      if (!backend || !cluster) return done(index, refuse(socket, 'backend_not_resolved', 'the backend of this route could not be resolved', requestId));
      if (backend.filters.length > 0) {
        const more = await runRequestFilters(backend.filters, preq);
        if (more !== undefined) return done(index, answerLocal(socket, more, requestId));
      }
      if (cluster.settings.protocol === 'h2c') return done(index, refuse(socket, 'bad_request', 'this backend does not accept HTTP/1.1 upgrades', requestId));
      // A client that left while filters ran has already fired 'close'; nothing would ever close the upstream side.
      if (socket.destroyed) return;
      const picked = this.pools.cluster(cluster).pick({ hashKey: () => hashKeyOf(cluster.settings.loadBalancer.hashOn, preq) });
      if (!picked) return done(index, refuse(socket, 'no_healthy_upstream', 'the backend has no endpoints', requestId));
      const headers = preq.headers;
      setForwardingHeaders(preq, down);
      headers.set('connection', 'upgrade');
      headers.set('upgrade', upgrade);
      const lines = [`${preq.method} ${preq.query ? `${preq.path}?${preq.query}` : preq.path} HTTP/1.1`];
      for (let i = 0; i < headers.raw.length; i += 2) lines.push(`${headers.raw[i]}: ${headers.raw[i + 1]}`);
      this.pools.connect(cluster.settings, picked.endpoint).then((upstream) => {
        if (socket.destroyed) return upstream.destroy();
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
        done(index, 101);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
      }, () => done(index, refuse(socket, 'upstream_connect_failed', 'the backend refused or could not be reached', requestId)));
    }).catch(() => done(-1, refuse(socket, 'internal_error', 'a filter failed', requestId)));
  }
}
