//! The request path: route, run the rule's filters, pick a weighted backend and an endpoint,
//! and stream the request and response through with backpressure. Reading this file top to
//! bottom tells the life of a request; docs/life-of-a-request.md draws the same path.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Cluster, PortConfig, RuleTarget, WeightedCluster } from '../config/model.js';
import type { ErrorCode } from '../errors.js';
import { recordRouted, recordUnrouted } from '../telemetry/metrics.js';
import { runRequestFilters, runResponseFilters } from './chain.js';
import type { FilterOutcome, ProxyRequest, ProxyResponseHead } from './filters/filter.js';
import { http1HeadProblem, readRawResponseHeaders, readRequestHeaders, setForwardingHeaders, type DownstreamHeaders } from './request-headers.js';
import { sendError, sendLocal } from './respond.js';
import type { UpstreamPools } from './upstream/pools.js';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;

/** What the proxy uses of Node's HTTP/1.1 and HTTP/2 compatibility responses; both accept flat header arrays. */
export interface DownstreamResponse {
  readonly headersSent: boolean;
  statusCode: number;
  writeHead(status: number, headers: string[]): unknown;
  setHeader(name: string, value: string | string[]): unknown;
  write(chunk: Buffer): boolean;
  end(body?: string): unknown;
  addTrailers(trailers: Record<string, string>): void;
  destroy(): void;
  on(event: 'close' | 'drain', listener: () => void): unknown;
}

export const asDownstream = (res: ServerResponse | Http2ServerResponse): DownstreamResponse => res as unknown as DownstreamResponse;

/** The mutable state one listener port serves from; `config` is swapped when a snapshot changes. */
export interface PortState {
  config: PortConfig;
  readonly scheme: 'http' | 'https';
}

const MIRROR_BUFFER_LIMIT = 1024 * 1024;
const CLOSE: readonly (readonly [string, string])[] = [['connection', 'close']];

/** A mirror's answer is read and dropped; its failures are nobody's business but the mirror's. */
const DISCARD: Dispatcher.DispatchHandler = {
  onRequestStart: () => undefined,
  onResponseStart: () => undefined,
  onResponseData: () => undefined,
  onResponseEnd: () => undefined,
  onResponseError: () => undefined,
};

class UpstreamError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** Whether a body follows the head; read from the headers windrose already scanned, not Node's lazily built object. */
function hasBody(req: DownstreamRequest, down: DownstreamHeaders): boolean {
  if ('stream' in req) return !req.stream.endAfterHeaders;
  return down.transferEncoding || (down.contentLength !== undefined && down.contentLength !== '0');
}

/** Index of a backend picked by weight, or -1 when the rule has none. */
export function chooseBackend(target: RuleTarget): number {
  const backends = target.backends;
  if (backends.length <= 1) return backends.length - 1;
  let r = Math.random() * target.totalWeight;
  for (let i = 0; i < backends.length; i++) {
    r -= backends[i].weight;
    if (r < 0) return i;
  }
  return backends.length - 1;
}

function classifyUpstreamError(err: Error & { code?: string }): UpstreamError {
  if (err instanceof UpstreamError) return err;
  // undici's HTTPParserError carries no code (its lookup of llhttp's error name yields undefined), only its name.
  if (err.name === 'HTTPParserError') return new UpstreamError('upstream_bad_response', 'the backend answered with invalid HTTP');
  switch (err.code) {
    case 'ECONNREFUSED': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ENOTFOUND': case 'EAI_AGAIN':
      return new UpstreamError('upstream_connect_failed', 'the backend refused or could not be reached');
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new UpstreamError('upstream_connect_failed', 'connecting to the backend timed out');
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new UpstreamError('upstream_timeout', 'the backend did not send a response head in time');
    case 'HPE_INVALID_CONSTANT': case 'HPE_INVALID_HEADER_TOKEN': case 'HPE_INVALID_STATUS': case 'HPE_INVALID_CHUNK_SIZE': case 'UND_ERR_INVALID_ARG': case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new UpstreamError('upstream_bad_response', 'the backend answered with invalid HTTP');
    default:
      return new UpstreamError('upstream_reset', 'the backend closed the connection before answering');
  }
}

/** Counts body bytes and fails the stream once the limit is passed, for bodies of unknown length. */
function limitBody(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new UpstreamError('payload_too_large', `the request body exceeds ${limit} bytes`));
      else done(null, chunk);
    },
  });
}

export class RequestHandler {
  constructor(private readonly pools: UpstreamPools) {}

  handle(req: DownstreamRequest, res: DownstreamResponse, state: PortState): void {
    const started = performance.now();
    const port = state.config;
    const down = readRequestHeaders(req.rawHeaders);
    const requestId = down.requestId ?? randomUUID();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';

    // The HTTP/2 server has validated its heads already; an HTTP/1 head needs the checks llhttp leaves out.
    const problem = path.charCodeAt(0) !== 47 /* '/' */ ? 'the request target must be an absolute path'
      : 'stream' in req ? undefined : http1HeadProblem(req.httpVersionMajor, req.httpVersionMinor, down);
    if (problem !== undefined) {
      // After a head this wrong, nothing later on the same connection can be trusted to be framed as the client meant.
      const status = sendError(res, 'bad_request', problem, requestId, CLOSE);
      recordUnrouted(port.listeners[0] ?? '', status, (performance.now() - started) / 1000);
      return;
    }
    const headers = down.headers;
    const match = port.routes.match({ host: down.host, method, path, query, header: (n) => headers.get(n) });
    if (match === undefined) {
      const status = sendError(res, 'route_not_found', 'no route matches this request', requestId);
      recordUnrouted(port.listeners[0] ?? '', status, (performance.now() - started) / 1000);
      return;
    }
    const target = match.target;
    const preq: ProxyRequest = {
      method, path, query, authority: down.host, headers, scheme: state.scheme,
      clientAddress: req.socket?.remoteAddress ?? '', requestId, matchedPrefix: match.prefix, mirrors: undefined,
    };
    const outcome = runRequestFilters(target.filters, preq);
    if (outcome instanceof Promise) {
      // The chain never rejects: a failing filter already became a 500 outcome.
      void outcome.then((settled) => this.afterFilters(req, res, state, target, preq, settled, down, started));
    } else {
      this.afterFilters(req, res, state, target, preq, outcome, down, started);
    }
  }

  private finish(target: RuleTarget, backendIndex: number, status: number, started: number): void {
    recordRouted(target, backendIndex, status, (performance.now() - started) / 1000);
  }

  private afterFilters(
    req: DownstreamRequest, res: DownstreamResponse, state: PortState, target: RuleTarget, preq: ProxyRequest,
    outcome: FilterOutcome, down: DownstreamHeaders, started: number,
  ): void {
    if (outcome !== undefined) return this.finish(target, -1, sendLocal(res, outcome, preq.requestId), started);
    const index = chooseBackend(target);
    if (index < 0) return this.finish(target, -1, sendError(res, 'backend_not_resolved', 'the route has no backend', preq.requestId), started);
    const backend = target.backends[index];
    if (backend.filters.length > 0) {
      const more = runRequestFilters(backend.filters, preq);
      if (more instanceof Promise) {
        void more.then((settled) => settled !== undefined
          ? this.finish(target, index, sendLocal(res, settled, preq.requestId), started)
          : this.forward(req, res, state, target, index, backend, preq, down, started));
        return;
      }
      if (more !== undefined) return this.finish(target, index, sendLocal(res, more, preq.requestId), started);
    }
    this.forward(req, res, state, target, index, backend, preq, down, started);
  }

  private forward(
    req: DownstreamRequest, res: DownstreamResponse, state: PortState, target: RuleTarget, index: number,
    backend: WeightedCluster, preq: ProxyRequest, down: DownstreamHeaders, started: number,
  ): void {
    const requestId = preq.requestId;
    const cluster = backend.cluster;
    if (cluster === undefined) {
      return this.finish(target, index, sendError(res, 'backend_not_resolved', 'the backend of this route could not be resolved', requestId), started);
    }
    const picked = this.pools.pick(cluster);
    if (picked === undefined) {
      return this.finish(target, index, sendError(res, 'no_healthy_upstream', 'the backend has no endpoints', requestId), started);
    }
    const limits = state.config.limits;
    let body: Readable | null = null;
    if (hasBody(req, down)) {
      const declared = 'stream' in req ? undefined : down.contentLength;
      if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
        return this.finish(target, index, sendError(res, 'payload_too_large', `the request body exceeds ${limits.maxBodyBytes} bytes`, requestId, [['connection', 'close']]), started);
      }
      body = declared !== undefined ? req : req.pipe(limitBody(limits.maxBodyBytes));
    }

    const headers = preq.headers;
    // Over HTTP/2 undici sends the host header as :authority, so the backend sees the client's (or rewritten) host either way.
    setForwardingHeaders(preq, down);
    if (down.teTrailers) headers.set('te', 'trailers');

    const mirrors = preq.mirrors;
    if (mirrors !== undefined) body = this.mirror(mirrors, preq, body);

    const path = preq.query === '' ? preq.path : `${preq.path}?${preq.query}`;
    const proxied = new ProxiedExchange(res, target, index, preq, started, this, req.httpVersionMajor === 2);
    const timeouts = target.timeouts;
    if (timeouts.requestMs > 0) proxied.arm(timeouts.requestMs - (performance.now() - started), 'request_timeout', `the request did not complete within ${timeouts.requestMs}ms`);
    if (timeouts.backendRequestMs > 0) proxied.arm(timeouts.backendRequestMs, 'upstream_timeout', `the backend did not answer within ${timeouts.backendRequestMs}ms`);
    if (body !== null && body !== req) body.on('error', (err) => proxied.fail(err));
    picked.dispatcher.dispatch({ path, method: preq.method as Dispatcher.HttpMethod, headers: headers.raw, body }, proxied as unknown as Dispatcher.DispatchHandler);
  }

  /** Copies the request to each mirror; the main request's backpressure never waits for a mirror. */
  private mirror(clusters: readonly Cluster[], preq: ProxyRequest, body: Readable | null): Readable | null {
    const path = preq.query === '' ? preq.path : `${preq.path}?${preq.query}`;
    const copies = clusters.map(() => (body === null ? null : new PassThrough()));
    let main: Readable | null = body;
    if (body !== null) {
      const primary = new PassThrough();
      body.on('data', (chunk: Buffer) => {
        for (const c of copies) {
          if (c === null || c.destroyed) continue;
          if (c.writableLength > MIRROR_BUFFER_LIMIT) c.destroy();
          else c.write(chunk);
        }
        if (!primary.write(chunk)) body.pause();
      });
      primary.on('drain', () => body.resume());
      body.on('end', () => {
        primary.end();
        for (const c of copies) c?.end();
      });
      body.on('error', (err) => primary.destroy(err));
      main = primary;
    }
    clusters.forEach((cluster, i) => {
      const picked = this.pools.pick(cluster);
      if (picked === undefined) return;
      const headers = [...preq.headers.raw];
      picked.dispatcher.dispatch({ path, method: preq.method as Dispatcher.HttpMethod, headers, body: copies[i] }, DISCARD);
    });
    return main;
  }

  /** Called by an exchange once its response is finished or failed. */
  completed(target: RuleTarget, index: number, status: number, started: number): void {
    this.finish(target, index, status, started);
  }
}

/** Trailers as undici hands them over: raw name/value lines from HTTP/1.1, an object from HTTP/2. */
function readTrailers(raw: unknown): Record<string, string | string[]> | undefined {
  if (raw === null || raw === undefined) return undefined;
  const out: Record<string, string | string[]> = {};
  let any = false;
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = String(raw[i]).toLowerCase();
      const value = (raw[i + 1] as Buffer | string).toString('latin1');
      const had = out[name];
      out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
      any = true;
    }
  } else {
    for (const name in raw as Record<string, string | string[]>) {
      out[name] = (raw as Record<string, string | string[]>)[name];
      any = true;
    }
  }
  return any ? out : undefined;
}

/**
 * One request in flight to a backend. It implements undici's handler hooks that receive the raw
 * header lines, so a response head is read once, straight into the list written downstream.
 */
class ProxiedExchange {
  private abortUpstream: ((err: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private timers: NodeJS.Timeout[] | undefined;
  private status = 0;
  private done = false;
  private paused = false;
  private listeningForDrain = false;
  /** A response head not yet written, see onHeaders. */
  private heldHead: string[] | undefined;

  constructor(
    private readonly res: DownstreamResponse,
    private readonly target: RuleTarget,
    /** The chosen backend of the rule. */
    private readonly index: number,
    private readonly preq: ProxyRequest,
    private readonly started: number,
    private readonly owner: RequestHandler,
    private readonly http2: boolean,
  ) {
    res.on('close', () => {
      if (!this.done) this.abort(new UpstreamError('upstream_reset', 'the client went away'));
    });
  }

  arm(ms: number, code: ErrorCode, message: string): void {
    const timer = setTimeout(() => this.fail(new UpstreamError(code, message)), Math.max(ms, 1));
    (this.timers ??= []).push(timer);
  }

  private abort(err: Error): void {
    const abort = this.abortUpstream;
    this.abortUpstream = undefined;
    abort?.(err);
  }

  fail(err: Error): void {
    if (this.done) return;
    this.abort(err);
    this.onError(err);
  }

  private settle(status: number): void {
    if (this.done) return;
    this.done = true;
    this.abortUpstream = undefined;
    if (this.timers) for (const t of this.timers) clearTimeout(t);
    this.owner.completed(this.target, this.index, status, this.started);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) abort(new UpstreamError('upstream_reset', 'the request already ended'));
    else this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    if (this.done) return true;
    if (statusCode < 200) return true; // 1xx interim responses are not relayed
    this.resumeUpstream = resume;
    const head: ProxyResponseHead = { status: statusCode, headers: readRawResponseHeaders(rawHeaders) };
    const backend = this.target.backends[this.index];
    if (backend !== undefined && backend.filters.length > 0) runResponseFilters(backend.filters, head, this.preq);
    runResponseFilters(this.target.filters, head, this.preq);
    head.headers.set('x-request-id', this.preq.requestId);
    this.status = head.status;
    // A gRPC head carrying grpc-status is a Trailers-Only response: its client needs it in a HEADERS frame that
    // ends the stream, so the head waits to learn whether a body follows instead of going out on its own.
    if (this.http2 && head.headers.has('grpc-status')) this.heldHead = head.headers.raw;
    else this.res.writeHead(head.status, head.headers.raw);
    return true;
  }

  private writeHeldHead(): void {
    const raw = this.heldHead;
    if (raw === undefined) return;
    this.heldHead = undefined;
    this.res.writeHead(this.status, raw);
  }

  private readonly onDrain = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  };

  onData(chunk: Buffer): boolean {
    if (this.done) return true;
    this.writeHeldHead();
    if (this.res.write(chunk)) return true;
    this.paused = true;
    if (!this.listeningForDrain) {
      this.listeningForDrain = true;
      this.res.on('drain', this.onDrain);
    }
    return false;
  }

  onComplete(rawTrailers: unknown): void {
    if (this.done) return;
    const trailers = readTrailers(rawTrailers);
    if (this.heldHead !== undefined && trailers === undefined) {
      // Headers set before end() go out with the end of the stream, in one HEADERS frame.
      const byName = new Map<string, string[]>();
      for (let i = 0; i < this.heldHead.length; i += 2) {
        const name = this.heldHead[i];
        byName.set(name, [...(byName.get(name) ?? []), this.heldHead[i + 1]]);
      }
      this.heldHead = undefined;
      this.res.statusCode = this.status;
      for (const [name, values] of byName) this.res.setHeader(name, values.length === 1 ? values[0] : values);
    } else this.writeHeldHead();
    if (trailers !== undefined) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.settle(this.status);
  }

  onError(err: Error): void {
    if (this.done) return;
    const e = classifyUpstreamError(err);
    if (this.res.headersSent) {
      this.res.destroy();
      this.settle(this.status || 502);
      return;
    }
    const extra = e.code === 'payload_too_large' ? [['connection', 'close'] as const] : undefined;
    this.settle(sendError(this.res, e.code, e.message, this.preq.requestId, extra));
  }
}
