//! What the data plane asks of a connection pool to one endpoint: undici's pools and
//! NodeHttp1Pool (a sidecar's) both serve it. The handler hooks are undici's original ones, which
//! hand over the raw header lines, so a response head is read once, straight into the list
//! written downstream.

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** Opens one connection (and completes its TLS handshake, if any), or fails with a connect error. */
export type Connector = (callback: (err: Error | null, socket: Socket | null) => void) => void;

/** The request half of a dispatch: undici's DispatchOptions, as far as windrose uses them. */
export interface UpstreamRequest {
  readonly path: string;
  readonly method: string;
  /** Name/value lines, as Node's rawHeaders. */
  readonly headers: readonly string[];
  readonly body?: Readable | Buffer | null;
  /** Milliseconds to wait for the response head (NodeHttp1Pool counts from dispatch); undefined keeps the pool's own. */
  readonly headersTimeout?: number;
  /** Milliseconds allowed between two chunks of the response body; 0 for no limit. */
  readonly bodyTimeout?: number;
}

/**
 * undici's original dispatch handler hooks; returning false from onHeaders or onData pauses the
 * response. Header and trailer lines are Buffers from undici, strings from Node's client.
 */
export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(rawTrailers: unknown): void;
  onError(err: Error): void;
}

/** A connection pool as the data plane uses it. */
export interface UpstreamDispatcher {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean;
  close(): Promise<void>;
}
