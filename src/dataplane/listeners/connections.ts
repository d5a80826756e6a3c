//! The connections of one listener port, and draining them without failing a request: HTTP/1.1
//! clients are told `connection: close` with their next response and close the connection
//! themselves, connections left silent are closed after a grace, HTTP/2 sessions get GOAWAY.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

/**
 * How long a drained HTTP/1.1 connection may stay silent, with no request in progress, before it is
 * closed. A client that keeps using a connection sends its next request within milliseconds, gets
 * `connection: close` with the answer and closes the connection itself, so nothing races. A connection
 * silent for a whole second sits idle in some client's pool: closing it can only collide with a request
 * sent in that very instant, the risk any keep-alive timeout takes, while a longer grace would only
 * keep the drain waiting on idle pools. Connections are checked once per grace, so a silent one closes
 * one to two graces after its last byte.
 */
const IDLE_GRACE_MS = 1000;

/** Node's HTTP/1.1 server keeps the response being written on the socket until it has finished. */
type Http1Socket = Socket & { _httpMessage?: ServerResponse | null };

export class Connections {
  /** Every accepted TCP connection, so that the drain deadline can cut what is left. */
  private readonly sockets = new Set<Socket>();
  /** Connections that speak HTTP/1.1 or have not said yet, with their bytes read at the last check. */
  private readonly http1 = new Map<Http1Socket, number>();
  private readonly sessions = new Set<Http2Session>();
  private readonly emptied: (() => void)[] = [];
  private draining = false;
  private sweeper: NodeJS.Timeout | undefined;

  accepted(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) for (const resolve of this.emptied.splice(0)) resolve();
    });
  }

  /** A connection on which HTTP/1.1 requests may come: a cleartext one before its first bytes, or TLS without h2. */
  speaksHttp1(socket: Socket): void {
    this.http1.set(socket, socket.bytesRead);
    socket.once('close', () => this.http1.delete(socket));
    if (this.draining) this.sweep();
  }

  /** A connection handed to HTTP/2 or upgraded (WebSocket): its idleness is no longer HTTP/1.1's to judge. */
  leftHttp1(socket: Socket): void {
    this.http1.delete(socket);
  }

  session(session: Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.draining) session.close();
  }

  /** Sees every request before it is handled. */
  request(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    if (this.draining && req.httpVersionMajor === 1) (res as ServerResponse).shouldKeepAlive = false;
  }

  /** Starts draining; the port must have stopped accepting. Requests in flight are left to finish. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.sessions) s.close();
    for (const [socket] of this.http1) {
      const res = socket._httpMessage;
      if (res && !res.headersSent) res.shouldKeepAlive = false;
      this.http1.set(socket, socket.bytesRead);
    }
    this.sweep();
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Resolves once every connection has closed. */
  allClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  /** Cuts every connection still open; returns how many there were. */
  destroyAll(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  private sweep(): void {
    this.sweeper ??= setInterval(() => {
      for (const [socket, seen] of this.http1) {
        const read = socket.bytesRead;
        // A connection already told to close (its writable side ended) goes away by itself.
        if (socket._httpMessage || read !== seen || !socket.writable) {
          this.http1.set(socket, read);
          continue;
        }
        this.http1.delete(socket);
        socket.destroy();
      }
      if (this.http1.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, IDLE_GRACE_MS).unref();
  }
}
