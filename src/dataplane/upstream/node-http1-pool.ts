//! An HTTP/1.1 connection pool to one endpoint on Node's own client (`node:http`), for the sidecar.
//! undici's pool parses responses with llhttp compiled to WebAssembly and brings about 2 MB of
//! resident memory a sidecar's budget cannot spare; Node's client uses the llhttp already in the
//! binary. It serves the dispatch contract of dispatcher.ts as undici's pools do, and fails with
//! the error codes they use.

import http, { type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Connector, UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './dispatcher.js';

export interface NodeHttp1PoolOptions {
  readonly connect: Connector;
  readonly connections: number;
  /** How long an idle connection is kept; a backend's shorter Keep-Alive hint wins. */
  readonly keepAliveTimeoutMs: number;
  /** How long to wait for a response head when the request sets no limit of its own. */
  readonly headersTimeoutMs: number;
}

const coded = (message: string, code: string): Error => Object.assign(new Error(message), { code });

/**
 * A connection is given up this long before the backend's own Keep-Alive timeout, so that it is
 * never reused just as the backend closes it: undici's keepAliveTimeoutThreshold, so both pools
 * treat a backend alike.
 */
const KEEP_ALIVE_MARGIN_MS = 2000;

/** The idle timeout a backend announced in a Keep-Alive response header, in ms. */
function keepAliveHintMs(rawHeaders: readonly string[]): number | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length !== 10 || rawHeaders[i].toLowerCase() !== 'keep-alive') continue;
    const m = /timeout=(\d+)/i.exec(rawHeaders[i + 1]);
    if (m !== null) return Number(m[1]) * 1000;
  }
  return undefined;
}

class PoolAgent extends http.Agent {
  /** How long each connection may stay idle: the pool's limit, or less when its backend said so. */
  private readonly idleLimits = new WeakMap<Socket, number>();

  constructor(private readonly connector: Connector, private readonly idleMs: number, connections: number) {
    super({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'lifo' });
  }

  /** Reads the backend's Keep-Alive hint from the first answer on a connection; a backend keeps it for the connection's life. */
  learnIdleLimit(socket: Socket, rawHeaders: readonly string[]): void {
    if (this.idleLimits.has(socket)) return;
    const hint = keepAliveHintMs(rawHeaders);
    this.idleLimits.set(socket, hint === undefined ? this.idleMs : Math.min(this.idleMs, hint - KEEP_ALIVE_MARGIN_MS));
  }

  // Node's agent waits for the callback when this returns nothing, which lets a TLS handshake finish first.
  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    this.connector((err, socket) => callback?.(err, socket as Duplex));
    return undefined;
  }

  override keepSocketAlive(socket: Socket): boolean {
    const idle = this.idleLimits.get(socket) ?? this.idleMs;
    if (idle <= 0) return false;
    socket.setKeepAlive(true);
    socket.unref();
    socket.setTimeout(idle);
    return true;
  }

  override reuseSocket(socket: Socket, req: ClientRequest): void {
    socket.setTimeout(0);
    super.reuseSocket(socket, req);
  }
}

/** One request through the pool, reported to its handler exactly once as completed or failed. */
class Exchange {
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly pool: NodeHttp1Pool, private readonly handler: UpstreamHandler) {}

  start(agent: PoolAgent, request: UpstreamRequest, headersTimeoutMs: number): void {
    this.handler.onConnect(this.abort);
    if (this.ended) return;
    const req = http.request({ agent, method: request.method, path: request.path, headers: request.headers as string[], setHost: false });
    this.req = req;
    if (headersTimeoutMs > 0) {
      this.timer = setTimeout(() => this.fail(coded('the backend sent no response head in time', 'UND_ERR_HEADERS_TIMEOUT')), headersTimeoutMs);
    }
    req.on('error', this.fail);
    req.on('response', (res) => this.onResponse(agent, res, request.bodyTimeout ?? 0));
    const body = request.body;
    if (body === undefined || body === null) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  }

  private readonly abort = (err?: Error): void => {
    this.fail(err ?? coded('the request was aborted', 'UND_ERR_ABORTED'));
  };

  private readonly fail = (err: Error): void => {
    if (this.ended) return;
    this.finish();
    this.req?.destroy();
    this.handler.onError(err);
  };

  private finish(): void {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.pool.settled();
  }

  private onResponse(agent: PoolAgent, res: IncomingMessage, bodyTimeoutMs: number): void {
    if (this.ended) return;
    this.res = res;
    if (this.timer !== undefined) clearTimeout(this.timer);
    agent.learnIdleLimit(res.socket, res.rawHeaders);
    const armBody = bodyTimeoutMs > 0
      ? () => {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.fail(coded('the backend stopped sending its response', 'UND_ERR_BODY_TIMEOUT')), bodyTimeoutMs);
      }
      : undefined;
    res.on('error', this.fail);
    res.on('close', () => {
      if (!this.ended) this.fail(coded('the backend closed the connection during the response', 'ECONNRESET'));
    });
    res.on('end', () => {
      if (this.ended) return;
      this.finish();
      this.handler.onComplete(res.rawTrailers.length > 0 ? res.rawTrailers : null);
    });
    res.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      armBody?.();
      if (!this.handler.onData(chunk)) res.pause();
    });
    armBody?.();
    if (!this.handler.onHeaders(res.statusCode ?? 0, res.rawHeaders, this.resume)) res.pause();
  }

  private readonly resume = (): void => {
    if (!this.ended) this.res?.resume();
  };
}

export class NodeHttp1Pool implements UpstreamDispatcher {
  private readonly agent: PoolAgent;
  private inFlight = 0;
  private closing: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: NodeHttp1PoolOptions) {
    this.agent = new PoolAgent(options.connect, options.keepAliveTimeoutMs, options.connections);
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    if (this.closing !== undefined) {
      handler.onError(coded('the pool is closed', 'UND_ERR_CLOSED'));
      return false;
    }
    this.inFlight++;
    new Exchange(this, handler).start(this.agent, request, request.headersTimeout ?? this.options.headersTimeoutMs);
    return true;
  }

  /** @internal An exchange has ended. */
  settled(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.closing?.();
  }

  /** Lets the requests in flight complete, then closes every connection. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      this.closing = () => {
        this.agent.destroy();
        resolve();
      };
      if (this.inFlight === 0) this.closing();
    });
    return this.closed;
  }
}
