//! An HTTP/1.1 connection pool to one endpoint on Node's own client (`node:http`), for the sidecar.
//! undici's pool parses responses with llhttp compiled to WebAssembly and brings about 2 MB of
//! resident memory a sidecar's budget cannot spare; Node's client uses the llhttp already in the
//! binary. It serves the dispatch contract of dispatcher.ts as undici's pools do, and fails with
//! the error codes they use.

import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
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

/**
 * Lends the pool's connections to Node's ClientRequests: it is what ClientRequest asks of an agent
 * (`addRequest`, and `keepAlive` with a finite `maxSockets`, so that requests ask for keep-alive),
 * for the one endpoint of the pool. Node's own Agent serves many origins and pays for it on every
 * request and release: it copies the request's options, names the origin with a string built each
 * time, and keeps its lists in objects it deletes keys from; in a profiled sidecar that was about a
 * tenth of its CPU.
 */
class ConnectionLender {
  readonly keepAlive = true;
  readonly protocol = 'http:';
  readonly options = {};
  private readonly open = new Set<Socket>();
  /** Idle connections, most recently used last: reusing it keeps the others idle long enough to expire. */
  private readonly idle: Socket[] = [];
  private readonly waiting: ClientRequest[] = [];
  /** How long each connection may stay idle: the pool's limit, or less when its backend said so. */
  private readonly idleLimits = new WeakMap<Socket, number>();
  private connecting = 0;
  private closed = false;

  constructor(private readonly connector: Connector, private readonly idleMs: number, readonly maxSockets: number) {}

  /** ClientRequest's constructor asks for a connection here. */
  addRequest(req: ClientRequest): void {
    const socket = this.idle.pop();
    if (socket !== undefined) this.lend(socket, req);
    else if (this.open.size + this.connecting < this.maxSockets) this.connect(req);
    else this.waiting.push(req);
  }

  /**
   * Takes back a waiting request that ended before it got a connection. Node's ClientRequest says
   * nothing when it is destroyed without one, so without this a backend that holds its connections
   * would keep every abandoned request queued for as long as it holds them.
   */
  withdraw(req: ClientRequest): void {
    const at = this.waiting.indexOf(req);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Reads the backend's Keep-Alive hint from the first answer on a connection; a backend keeps it for the connection's life. */
  learnIdleLimit(socket: Socket, rawHeaders: readonly string[]): void {
    if (this.idleLimits.has(socket)) return;
    const hint = keepAliveHintMs(rawHeaders);
    this.idleLimits.set(socket, hint === undefined ? this.idleMs : Math.min(this.idleMs, hint - KEEP_ALIVE_MARGIN_MS));
  }

  destroy(): void {
    this.closed = true;
    for (const socket of this.open) socket.destroy();
  }

  private connect(req: ClientRequest): void {
    this.connecting++;
    this.connector((err, socket) => {
      this.connecting--;
      if (err !== null || socket === null) {
        handOver(req, null, err ?? coded('the connector gave no connection', 'ECONNRESET'));
        this.serveWaiting();
        return;
      }
      if (this.closed) {
        socket.destroy();
        handOver(req, null, coded('the pool is closed', 'UND_ERR_CLOSED'));
        return;
      }
      this.adopt(socket);
      handOver(req, socket);
    });
  }

  private adopt(socket: Socket): void {
    this.open.add(socket);
    socket.setKeepAlive(true);
    // ClientRequest emits 'free' once an exchange is done and the connection may carry another.
    socket.on('free', () => this.release(socket));
    // ...and 'agentRemove' when the backend asked to close it; it then closes it itself.
    socket.on('agentRemove', () => this.forget(socket));
    socket.on('close', () => {
      this.forget(socket);
      this.serveWaiting();
    });
    // Only an idle connection has a timeout set.
    socket.on('timeout', () => socket.destroy());
    // An idle connection's error only closes it; in use, the request's own listener reports it.
    socket.on('error', () => undefined);
  }

  private lend(socket: Socket, req: ClientRequest): void {
    socket.setTimeout(0);
    socket.ref();
    handOver(req, socket);
  }

  private release(socket: Socket): void {
    if (this.closed || socket.destroyed || !socket.writable || !this.open.has(socket)) {
      socket.destroy();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.lend(socket, next);
      return;
    }
    const idleMs = this.idleLimits.get(socket) ?? this.idleMs;
    if (idleMs <= 0) {
      socket.destroy();
      return;
    }
    socket.unref();
    socket.setTimeout(idleMs);
    this.idle.push(socket);
  }

  private forget(socket: Socket): void {
    this.open.delete(socket);
    const at = this.idle.indexOf(socket);
    if (at >= 0) this.idle.splice(at, 1);
  }

  private serveWaiting(): void {
    while (!this.closed && this.waiting.length > 0 && this.open.size + this.connecting < this.maxSockets) {
      this.connect(this.waiting.shift() as ClientRequest);
    }
  }
}

/**
 * Gives a request its connection, or the error that kept it from one, the way Node's Agent does: a
 * request without a connection reports nothing of its own, and one already aborted hands the
 * connection back at once through its 'free' event.
 */
function handOver(req: ClientRequest, socket: Socket | null, err?: Error): void {
  (req as unknown as { onSocket(socket: Socket | null, err?: Error): void }).onSocket(socket, err);
}

/** One request through the pool, reported to its handler exactly once as completed or failed. */
class Exchange {
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly pool: NodeHttp1Pool, private readonly lender: ConnectionLender, private readonly handler: UpstreamHandler) {}

  start(request: UpstreamRequest, headersTimeoutMs: number): void {
    this.handler.onConnect(this.abort);
    if (this.ended) return;
    // ClientRequest uses no more of an agent than ConnectionLender has.
    const req = http.request({ agent: this.lender as unknown as http.Agent, method: request.method, path: request.path, headers: request.headers as string[], setHost: false });
    this.req = req;
    if (headersTimeoutMs > 0) {
      this.timer = setTimeout(() => this.fail(coded('the backend sent no response head in time', 'UND_ERR_HEADERS_TIMEOUT')), headersTimeoutMs);
    }
    req.on('error', this.fail);
    req.on('response', (res) => this.onResponse(res, request.bodyTimeout ?? 0));
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
    const req = this.req;
    if (req !== undefined && req.socket === null) this.lender.withdraw(req);
    req?.destroy();
    this.handler.onError(err);
  };

  private finish(): void {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.pool.settled();
  }

  private onResponse(res: IncomingMessage, bodyTimeoutMs: number): void {
    if (this.ended) return;
    this.res = res;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.lender.learnIdleLimit(res.socket, res.rawHeaders);
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
  private readonly lender: ConnectionLender;
  private inFlight = 0;
  private closing: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: NodeHttp1PoolOptions) {
    this.lender = new ConnectionLender(options.connect, options.keepAliveTimeoutMs, options.connections);
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    if (this.closing !== undefined) {
      handler.onError(coded('the pool is closed', 'UND_ERR_CLOSED'));
      return false;
    }
    this.inFlight++;
    new Exchange(this, this.lender, handler).start(request, request.headersTimeout ?? this.options.headersTimeoutMs);
    return true;
  }

  /** Requests waiting for one of the pool's connections. */
  get queued(): number {
    return this.lender.queued;
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
        this.lender.destroy();
        resolve();
      };
      if (this.inFlight === 0) this.closing();
    });
    return this.closed;
  }
}
