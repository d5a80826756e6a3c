//! `POST /v1/stream`: one long HTTP/2 request per proxy, NDJSON both ways (src/mesh/protocol.ts).
//! The proxy's first line is hello, which registers its workload under the identity of its client
//! certificate; then heartbeats, acks and nacks. Every line counts as a sign of life.

import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import type { ProxyMessage } from '../../mesh/protocol.js';
import type { PeerIdentity } from '../peer-identity.js';
import { workloadOf } from '../registry/validate.js';
import { workloadKey, type WorkloadRegistry } from '../registry/workloads.js';
import type { Distributor, ProxyConnection } from './distributor.js';
import { parseProxyMessage } from './messages.js';

/** A line longer than this is not a message a proxy sends; the stream is cut. */
const MAX_LINE = 1024 * 1024;

export interface StreamContext {
  readonly registry: WorkloadRegistry;
  readonly distributor: Distributor;
  /** The registry's content changed: its EndpointSlices must be rebuilt and pushed. */
  readonly registryChanged: () => void;
  readonly log: Logger;
}

export function serveStream(req: Http2ServerRequest, res: Http2ServerResponse, peer: PeerIdentity, ctx: StreamContext): void {
  const { log } = ctx;
  // writeHead sends the headers at once over HTTP/2: a proxy may wait for them before it says hello.
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  let conn: ProxyConnection | undefined;
  let buffered = '';

  const cut = (code: number, why: string) => {
    log.warn({ spiffeId: peer.spiffeId, proxy: conn?.workload.id, err: why }, 'config stream closed: protocol error');
    res.stream.close(code);
  };

  const handle = (message: ProxyMessage) => {
    if (conn === undefined) {
      if (message.type !== 'hello') return cut(constants.NGHTTP2_PROTOCOL_ERROR, `expected hello first, got ${message.type}`);
      const workload = workloadOf(message.proxy, peer);
      if (ctx.registry.register(workload)) ctx.registryChanged();
      conn = {
        workload,
        write: (line) => {
          if (!res.writableEnded && !res.stream.closed && !res.stream.destroyed) res.write(line);
        },
        close: () => {
          if (!res.stream.closed && !res.stream.destroyed) res.stream.close(constants.NGHTTP2_CANCEL);
        },
      };
      log.info({ proxy: workload.id, spiffeId: peer.spiffeId, services: workload.services, version: message.version }, 'proxy connected');
      ctx.distributor.attach(conn);
      return;
    }
    ctx.registry.touch(workloadKey(conn.workload));
    switch (message.type) {
      case 'hello': return cut(constants.NGHTTP2_PROTOCOL_ERROR, 'hello sent twice');
      case 'ack': return ctx.distributor.ack(conn, message.version);
      case 'nack': return ctx.distributor.nack(conn, message.version, message.error);
      case 'heartbeat': return;
    }
  };

  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      const message = parseProxyMessage(line);
      if (typeof message === 'string') return cut(constants.NGHTTP2_PROTOCOL_ERROR, message);
      if (message !== null) handle(message);
      else if (conn !== undefined) ctx.registry.touch(workloadKey(conn.workload));
      if (res.stream.closed) return;
    }
    if (buffered.length > MAX_LINE) cut(constants.NGHTTP2_PROTOCOL_ERROR, `a line longer than ${MAX_LINE} bytes`);
  });
  // The proxy ended its side: it is going away, and so does this side.
  req.on('end', () => res.end());
  res.stream.on('close', () => {
    if (conn === undefined) return;
    ctx.distributor.detach(conn);
    log.info({ proxy: conn.workload.id, spiffeId: peer.spiffeId }, 'proxy disconnected');
  });
}
