//! Binds the snapshot's ports and keeps them in step with it: a changed snapshot swaps what each
//! port serves without closing a connection; removed ports stop accepting and drain (connections.ts).
//! Cleartext ports speak HTTP/1.1 and HTTP/2 with prior knowledge (told apart by the client preface);
//! TLS ports negotiate h2 or http/1.1 by ALPN.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import net, { type Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ListenerLimits, PortConfig, Snapshot } from '../../config/model.js';
import { asDownstream, type PortState, type RequestHandler } from '../proxy.js';
import type { UpgradeHandler } from '../upgrade.js';
import { recordUnrouted } from '../../telemetry/metrics.js';
import { clientErrorHandler, connectHandler } from './client-errors.js';
import { Connections } from './connections.js';
import { admitClient } from './client-certificate.js';
import { contextOptions, pruneContexts, SniContexts, TLS_MIN_VERSION } from './tls-contexts.js';
import type { Credentials, MeshCredentials } from '../../mesh/credentials.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE = 0x16;

interface BoundPort {
  readonly protocol: PortConfig['protocol'];
  readonly state: PortState;
  readonly server: net.Server;
  readonly connections: Connections;
  readonly h1?: http.Server;
  sni?: SniContexts;
  /** The mutual TLS side of an MTLS port, handed the connections that open with a TLS handshake. */
  readonly mtls?: MtlsSide;
}

interface MtlsSide {
  readonly server: http2.Http2SecureServer;
  /** Requests on it are https, so it has its own state; both take each new config. */
  readonly state: PortState;
}

export interface PortsOptions {
  readonly host: string;
  readonly onError: (port: number, err: Error) => void;
  /** A mesh proxy's SVID and trust bundle, which MTLS ports serve with; required for them. */
  readonly mesh?: MeshCredentials;
}

function mtlsContextOptions(c: Credentials): SecureContextOptions {
  return { cert: c.svid.certPem, key: c.svid.keyPem, ca: [...c.trustBundle], minVersion: TLS_MIN_VERSION };
}

/**
 * Whether handshakes ask for a client certificate, and refuse one that is missing or does not
 * verify: per port, as Node sets them per server (the CA and CRL follow the server name). Read by
 * the TLS server for each new connection, so a new config applies to the next handshake.
 */
function clientCertificateRequest(config: PortConfig): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: config.tls?.requestCert === true, rejectUnauthorized: config.tls?.requireCert === true };
}

function isH2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, H2_PREFACE.length);
  return chunk.compare(H2_PREFACE, 0, n, 0, n) === 0;
}

/**
 * Node's own limit on header fields (it drops fields past it without a word, and HTTP/2 counts
 * pseudo-headers too) sits above the listener's, so the proxy sees the excess and answers 431.
 */
const headerPairs = (limits: ListenerLimits): number => limits.maxHeaderCount + 8;

export class Ports {
  private readonly bound = new Map<number, BoundPort>();
  private closed = false;

  constructor(
    private readonly handler: RequestHandler,
    private readonly upgrades: UpgradeHandler,
    private readonly options: PortsOptions,
  ) {
    // A renewed SVID or a rotated bundle serves the next handshakes; connections already open keep theirs.
    options.mesh?.onChange((c) => {
      for (const b of this.bound.values()) b.mtls?.server.setSecureContext(mtlsContextOptions(c));
    });
  }

  /** The ports currently bound, for readiness. */
  get boundPorts(): number[] {
    return [...this.bound.keys()];
  }

  /** The connections open on all ports. */
  get connections(): number {
    return [...this.bound.values()].reduce((n, b) => n + b.connections.size, 0);
  }

  /** Serves `snapshot`; resolves with the ports that could not be bound (the others serve regardless). */
  async apply(snapshot: Snapshot): Promise<{ port: number; error: string }[]> {
    // A snapshot that was on its way when the drain began must not bind the ports again.
    if (this.closed) return [];
    const wanted = new Map(snapshot.ports.map((p) => [p.port, p]));
    for (const [port, b] of this.bound) {
      const next = wanted.get(port);
      if (next === undefined || next.protocol !== b.protocol) {
        this.bound.delete(port);
        this.stop(b);
      }
    }
    const binds: Promise<{ port: number; error: string } | undefined>[] = [];
    for (const config of snapshot.ports) {
      const b = this.bound.get(config.port);
      if (b) {
        b.state.config = config;
        if (b.mtls) b.mtls.state.config = config;
        if (b.protocol === 'HTTPS') this.updateTls(b, config);
        if (b.h1) b.h1.keepAliveTimeout = config.limits.idleTimeoutMs;
        continue;
      }
      binds.push(this.bind(config));
    }
    const failed = (await Promise.all(binds)).filter((f) => f !== undefined);
    pruneContexts(snapshot.ports);
    return failed;
  }

  private updateTls(b: BoundPort, config: PortConfig): void {
    const sni = new SniContexts(config.certificates, config.tls);
    b.sni = sni;
    const def = sni.defaultCertificate;
    // The default context serves clients that send no server name, and its version and cipher
    // settings are what every handshake on the port negotiates.
    if (def) (b.server as http2.Http2SecureServer).setSecureContext(contextOptions(def, config.tls));
    Object.assign(b.server, clientCertificateRequest(config));
  }

  private bind(config: PortConfig): Promise<{ port: number; error: string } | undefined> {
    const b = config.protocol === 'HTTPS' ? this.createTls(config) : this.createCleartext(config);
    b.server.on('connection', (socket: Socket) => b.connections.accepted(socket));
    this.bound.set(config.port, b);
    return new Promise((resolve) => {
      const onError = (err: Error) => {
        this.bound.delete(config.port);
        resolve({ port: config.port, error: err.message });
      };
      b.server.once('error', onError);
      b.server.listen({ port: config.port, host: config.bindHost ?? this.options.host }, () => {
        b.server.off('error', onError);
        b.server.on('error', (err) => this.options.onError(config.port, err));
        resolve(undefined);
      });
    });
  }

  private onRequest(state: PortState, connections: Connections) {
    return (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      connections.request(req, res);
      this.handler.handle(req, asDownstream(res), state);
    };
  }

  private onUpgrade(state: PortState, connections: Connections) {
    return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      connections.leftHttp1(socket as Socket);
      this.upgrades.handle(req, socket, head, state);
    };
  }

  /** Stops accepting on `b` and starts draining its connections. */
  private stop(b: BoundPort): void {
    // net.Server's own close only stops accepting; the HTTP servers' close would also cut idle
    // keep-alive connections at once, racing the requests clients may be sending on them.
    net.Server.prototype.close.call(b.server);
    b.connections.drain();
    // Once no connection is left, the HTTP server's close stops its connection-checking timer.
    void b.connections.allClosed().then(() => b.server.close());
  }

  /**
   * Serves cleartext HTTP/1.1 and HTTP/2 with prior knowledge; on an MTLS port, connections that open
   * with a TLS handshake go to its mutual TLS server instead (PERMISSIVE also serves the plaintext ones).
   */
  private createCleartext(config: PortConfig): BoundPort {
    const state: PortState = { config, scheme: 'http' };
    const connections = new Connections();
    const mtls = config.protocol === 'MTLS' ? this.createMtls(config, connections) : undefined;
    const limits = config.limits;
    // A request head must arrive within the idle timeout (slowloris); Node only checks on its interval, hence the short one.
    // Host is checked by the proxy so that its absence gets the JSON error rather than Node's bare 400.
    const headersTimeout = Math.min(limits.idleTimeoutMs, 60_000);
    const h1 = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes, keepAliveTimeout: limits.idleTimeoutMs, requestTimeout: 0, headersTimeout,
      connectionsCheckingInterval: Math.min(Math.max(headersTimeout / 4, 250), 30_000), requireHostHeader: false,
    }, this.onRequest(state, connections));
    const counted = (status: number) => recordUnrouted(state.config.listeners[0] ?? '', status, 0);
    h1.on('clientError', clientErrorHandler(counted));
    h1.on('connect', connectHandler(counted));
    h1.on('upgrade', this.onUpgrade(state, connections));
    h1.maxHeadersCount = headerPairs(limits);
    const h2 = http2.createServer({
      maxSessionMemory: 64, maxHeaderListPairs: headerPairs(limits), settings: { maxHeaderListSize: limits.maxHeaderBytes },
    }, this.onRequest(state, connections));
    h2.setTimeout(limits.idleTimeoutMs);
    h2.on('session', (s: Http2Session) => connections.session(s));
    // The HTTP/1.1 server owns the port so that Node tracks its connections (idle closing, head timeouts);
    // a connection that opens with the HTTP/2 preface is handed to the HTTP/2 server instead.
    const [h1Connection] = h1.listeners('connection') as ((socket: Socket) => void)[];
    h1.removeAllListeners('connection');
    h1.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      connections.speaksHttp1(socket);
      // Until its first byte neither server watches the socket, so a client that connects and says nothing is closed here.
      const idleMs = state.config.limits.idleTimeoutMs;
      const onSilent = () => socket.destroy();
      if (idleMs > 0) socket.setTimeout(idleMs, onSilent);
      let early: Buffer | undefined;
      const onFirstBytes = (chunk: Buffer) => {
        const seen = early === undefined ? chunk : Buffer.concat([early, chunk]);
        // A first read shorter than the preface that still matches it (a client writing a byte at a time, say
        // "P" of "POST") decides nothing yet; the idle timer stays armed meanwhile.
        if (seen.length < H2_PREFACE.length && isH2Preface(seen)) {
          early = seen;
          return;
        }
        socket.off('data', onFirstBytes);
        socket.off('end', onEarlyEnd);
        socket.off('error', onEarlyEnd);
        socket.setTimeout(0);
        socket.off('timeout', onSilent);
        socket.pause();
        socket.unshift(seen);
        // The HTTP/2 session drains the unshifted bytes itself when it takes over the socket; resuming the
        // socket here would emit them as 'data' to no one and the session would miss the client preface.
        if (mtls !== undefined && seen[0] === TLS_HANDSHAKE) {
          // Like the HTTP/2 session, the TLS socket takes over the handle and reads the unshifted bytes first.
          connections.leftHttp1(socket);
          mtls.server.emit('connection', socket);
        } else if (isH2Preface(seen)) {
          connections.leftHttp1(socket);
          h2.emit('connection', socket);
        } else {
          h1Connection.call(h1, socket);
          socket.resume();
        }
      };
      // The port is half-open capable for HTTP/1.1's sake; a client that leaves before its first byte is done with.
      const onEarlyEnd = () => socket.destroy();
      socket.once('end', onEarlyEnd);
      socket.once('error', onEarlyEnd);
      socket.on('data', onFirstBytes);
    });
    return { protocol: config.protocol, state, server: h1, connections, h1, ...(mtls ? { mtls } : {}) };
  }

  /** The TLS side of a mesh inbound port: a client certificate that chains to the trust bundle is required. */
  private createMtls(config: PortConfig, connections: Connections): MtlsSide {
    const credentials = this.options.mesh?.credentials;
    if (credentials === undefined) throw new Error(`port ${config.port} serves mutual TLS but this process has no mesh certificate`);
    const server = http2.createSecureServer({
      ...mtlsContextOptions(credentials),
      allowHTTP1: true,
      requestCert: true,
      rejectUnauthorized: true,
      maxSessionMemory: 64,
      maxHeaderListPairs: headerPairs(config.limits),
      settings: { maxHeaderListSize: config.limits.maxHeaderBytes },
    });
    server.setTimeout(config.limits.idleTimeoutMs);
    Object.assign(server, { maxHeaderSize: config.limits.maxHeaderBytes, maxHeadersCount: headerPairs(config.limits), requireHostHeader: false });
    server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
    const state: PortState = { config, scheme: 'https' };
    const counted = (status: number) => recordUnrouted(state.config.listeners[0] ?? '', status, 0);
    server.on('request', this.onRequest(state, connections));
    server.on('clientError', clientErrorHandler(counted));
    server.on('connect', connectHandler(counted));
    server.on('session', (s: Http2Session) => connections.session(s));
    server.on('upgrade', this.onUpgrade(state, connections));
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') connections.speaksHttp1(socket);
    });
    return { server, state };
  }

  private createTls(config: PortConfig): BoundPort {
    const state: PortState = { config, scheme: 'https' };
    const connections = new Connections();
    const b: BoundPort = { protocol: 'HTTPS', state, server: undefined as unknown as net.Server, connections };
    b.sni = new SniContexts(config.certificates, config.tls);
    const def = b.sni.defaultCertificate;
    const server = http2.createSecureServer({
      allowHTTP1: true,
      ...(def ? contextOptions(def, config.tls) : { minVersion: TLS_MIN_VERSION }),
      ...clientCertificateRequest(config),
      SNICallback: (servername, cb) => cb(null, b.sni?.select(servername)),
      maxSessionMemory: 64,
      maxHeaderListPairs: headerPairs(config.limits),
      settings: { maxHeaderListSize: config.limits.maxHeaderBytes },
    }, this.onRequest(state, connections));
    server.setTimeout(config.limits.idleTimeoutMs);
    // HTTP/1.1 over TLS runs Node's HTTP/1.1 connection code on this server object, which reads these from it.
    Object.assign(server, { maxHeaderSize: config.limits.maxHeaderBytes, maxHeadersCount: headerPairs(config.limits), requireHostHeader: false });
    const counted = (status: number) => recordUnrouted(state.config.listeners[0] ?? '', status, 0);
    server.on('clientError', clientErrorHandler(counted));
    server.on('connect', connectHandler(counted));
    server.on('session', (s: Http2Session) => connections.session(s));
    server.on('upgrade', this.onUpgrade(state, connections));
    server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
    // Ahead of the HTTP servers' own listener: a client refused here is closed before they take the
    // socket, so not even a request already sent with the handshake is read.
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      if (state.config.tls?.requestCert === true && !admitClient(socket, b.sni?.validationFor(socket.servername))) socket.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      if (!socket.destroyed && socket.alpnProtocol !== 'h2') connections.speaksHttp1(socket);
    });
    return Object.assign(b, { server: server as unknown as net.Server });
  }

  /**
   * Stops accepting on every port before it returns, then drains their connections: resolves once
   * all have closed, or after `graceMs` with the rest cut, with the number cut.
   */
  async close(graceMs: number): Promise<number> {
    this.closed = true;
    const all = [...this.bound.values()];
    this.bound.clear();
    for (const b of all) this.stop(b);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
    await Promise.race([Promise.all(all.map((b) => b.connections.allClosed())), deadline]);
    clearTimeout(timer);
    return all.reduce((cut, b) => cut + b.connections.destroyAll(), 0);
  }
}
