//! The request path: route, run the rule's filters, pick a weighted backend and an endpoint,
//! and stream the request and response through with backpressure. Reading this file top to
//! bottom tells the life of a request; docs/life-of-a-request.md draws the same path.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Cluster, PortConfig, RetryTrigger, RuleTarget, WeightedCluster } from '../config/model.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { recordRouted, recordUnrouted } from '../telemetry/metrics.js';
import { decorateLocal, runBodyFilters, runRequestFilters, runResponseFilters } from './chain.js';
import type { Filter, FilterOutcome, LocalResponse, ProxyRequest, ProxyResponseHead } from './filters/filter.js';
import { http1HeadProblem, readRawResponseHeaders, readRequestHeaders, setForwardingHeaders, type DownstreamHeaders } from './request-headers.js';
import { sendError, sendLocal } from './respond.js';
import type { PickContext } from './upstream/balancer/balancer.js';
import type { ClusterRuntime } from './upstream/cluster.js';
import { hashKeyOf, NO_HASH_KEY } from './upstream/hash-key.js';
import type { TryOutcome, UpstreamHost } from './upstream/host.js';
import type { UpstreamHandler } from './upstream/dispatcher.js';
import type { UpstreamPools } from './upstream/pools.js';
import { backoffMs } from './upstream/retry/backoff.js';
import { retriable } from './upstream/retry/policy.js';
import { callerIdentity, MTLS_REQUIRED } from './listeners/peer.js';
import { clientCertificateOf } from './listeners/client-certificate.js';
import { readRequestTarget } from './request-target.js';

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

/** An error of the catalogue as a local answer. */
function errorAnswer(code: ErrorCode, message: string, headers?: readonly (readonly [string, string])[]): LocalResponse {
  return { status: ERRORS[code].status, errorCode: code, message, headers };
}

/**
 * A local answer given after every filter of the rule, and of `backend` when given, let the request
 * pass: each of them sees it as it would see the backend's (src/dataplane/chain.ts).
 */
function decoratedByRule(target: RuleTarget, backend: WeightedCluster | undefined, preq: ProxyRequest, local: LocalResponse): LocalResponse {
  const inner = backend === undefined ? local : decorateLocal(backend.filters, backend.filters.length, local, preq);
  return decorateLocal(target.filters, target.filters.length, inner, preq);
}

/** A mirror's answer is read and dropped; its failures are nobody's business but the mirror's. */
const DISCARD: UpstreamHandler = {
  onConnect: () => undefined,
  onHeaders: () => true,
  onData: () => true,
  onComplete: () => undefined,
  onError: () => undefined,
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
  // Both pools parse with llhttp: Node's client reports its error as an HPE_ code; undici's HTTPParserError
  // carries no code (its lookup of llhttp's error name yields undefined), only its name.
  if (err.name === 'HTTPParserError' || err.code?.startsWith('HPE_') === true) return new UpstreamError('upstream_bad_response', 'the backend answered with invalid HTTP');
  switch (err.code) {
    case 'ECONNREFUSED': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ENOTFOUND': case 'EAI_AGAIN':
      return new UpstreamError('upstream_connect_failed', 'the backend refused or could not be reached');
    case 'WINDROSE_PEER_IDENTITY': case 'CERT_HAS_EXPIRED': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE': case 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR': case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_TLS_CERT_ALTNAME_INVALID': case 'UNABLE_TO_GET_ISSUER_CERT': case 'CERT_NOT_YET_VALID': case 'CERT_UNTRUSTED':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE': case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION': case 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME':
      return new UpstreamError('upstream_connect_failed', 'TLS with the backend failed: its certificate did not verify, or it refused the handshake');
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new UpstreamError('upstream_connect_failed', 'connecting to the backend timed out');
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new UpstreamError('upstream_timeout', 'the backend did not send a response head in time');
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamError('upstream_timeout', 'the backend stopped sending its response');
    case 'UND_ERR_INVALID_ARG': case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
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
    const method = req.method ?? 'GET';

    const unrouted = port.listeners[0] ?? '';
    if (down.count > port.limits.maxHeaderCount) {
      return this.refuse(res, unrouted, started, requestId, 'headers_too_large', `the request has more than ${port.limits.maxHeaderCount} header fields`);
    }
    // After a head this wrong, nothing later on the same connection can be trusted to be framed as the client meant.
    const target = readRequestTarget(req.url ?? '/', down.host, port.forwardProxy === true);
    if ('problem' in target) return this.refuse(res, unrouted, started, requestId, 'bad_request', target.problem);
    // The HTTP/2 server has validated its heads already; an HTTP/1 head needs the checks llhttp leaves out.
    const problem = 'stream' in req ? undefined : http1HeadProblem(req.httpVersionMajor, req.httpVersionMinor, down);
    if (problem !== undefined) return this.refuse(res, unrouted, started, requestId, 'bad_request', problem);
    const { host, path, query } = target;
    const peer = callerIdentity(port, 'stream' in req ? req.stream.session?.socket : req.socket);
    if (peer === null) return this.refuse(res, unrouted, started, requestId, 'mtls_required', MTLS_REQUIRED);
    const headers = down.headers;
    const match = port.routes.match({ host, method, path, query, header: (n) => headers.get(n) });
    if (match === undefined) return this.refuse(res, unrouted, started, requestId, 'route_not_found', 'no route matches this request', false);
    const rule = match.target;
    const preq: ProxyRequest = {
      method, path, query, authority: host, headers, scheme: state.scheme,
      clientAddress: req.socket?.remoteAddress ?? '', requestId, matchedPrefix: match.prefix, mirrors: undefined, identity: undefined,
      peer, port: port.port, clientCertificate: clientCertificateOf('stream' in req ? req.stream.session?.socket : req.socket), route: rule.routeName,
    };
    const outcome = runRequestFilters(rule.filters, preq);
    if (outcome instanceof Promise) {
      // The chain never rejects: a failing filter already became a 500 outcome.
      void outcome.then((settled) => this.afterFilters(req, res, state, rule, preq, settled, down, started));
    } else {
      this.afterFilters(req, res, state, rule, preq, outcome, down, started);
    }
  }

  /** Answers a request no route took with the error `code`; `close` ends the connection (a head that cannot be trusted). */
  private refuse(res: DownstreamResponse, listener: string, started: number, requestId: string, code: ErrorCode, message: string, close = true): void {
    recordUnrouted(listener, sendError(res, code, message, requestId, close ? CLOSE : undefined), (performance.now() - started) / 1000);
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
    if (index < 0) return this.answer(res, target, -1, preq, errorAnswer('backend_not_resolved', 'the route has no backend'), started);
    const backend = target.backends[index];
    if (backend.filters.length > 0) {
      const more = runRequestFilters(backend.filters, preq);
      if (more instanceof Promise) {
        void more.then((settled) => settled !== undefined
          ? this.answer(res, target, index, preq, settled, started, false)
          : this.forward(req, res, state, target, index, backend, preq, down, started));
        return;
      }
      if (more !== undefined) return this.answer(res, target, index, preq, more, started, false);
    }
    this.forward(req, res, state, target, index, backend, preq, down, started);
  }

  private forward(
    req: DownstreamRequest, res: DownstreamResponse, state: PortState, target: RuleTarget, index: number,
    backend: WeightedCluster, preq: ProxyRequest, down: DownstreamHeaders, started: number,
  ): void {
    const cluster = backend.cluster;
    if (cluster === undefined) {
      return this.answer(res, target, index, preq, errorAnswer('backend_not_resolved', 'the backend of this route could not be resolved'), started);
    }
    const limits = state.config.limits;
    let body: Readable | null = null;
    if (hasBody(req, down)) {
      const declared = 'stream' in req ? undefined : down.contentLength;
      if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
        return this.answer(res, target, index, preq, errorAnswer('payload_too_large', `the request body exceeds ${limits.maxBodyBytes} bytes`, CLOSE), started);
      }
      body = declared !== undefined ? req : req.pipe(limitBody(limits.maxBodyBytes));
    }
    const readers = body === null ? undefined : bodyReaders(target.filters, backend.filters, preq);
    if (body === null || readers === undefined) return this.sendOn(req, res, target, index, cluster, preq, down, body, started);

    // A filter reads the body first: what it read is sent on whole, or, past its bound, followed by the rest as it streams.
    readPrefix(body, Math.max(...readers.map((f) => f.requestBody!.maxBytes))).then(
      (prefix) => {
        const head = joined(prefix);
        const decide = (outcome: FilterOutcome): void => {
          if (outcome === undefined) return this.sendOn(req, res, target, index, cluster, preq, down, prefix.rest ?? head, started);
          prefix.rest?.destroy();
          // Unread body bytes would be taken for the next request on this connection.
          const local = prefix.rest === undefined ? outcome : { ...outcome, headers: [...(outcome.headers ?? []), ...CLOSE] };
          this.answer(res, target, index, preq, local, started);
        };
        const outcome = runBodyFilters(readers, preq, head);
        if (outcome instanceof Promise) void outcome.then(decide);
        else decide(outcome);
      },
      (err: Error) => this.bodyFailed(res, target, index, preq, err, started),
    );
  }

  /** Sends the request on to the backend, keeping its body for retries when the rule retries. */
  private sendOn(
    req: DownstreamRequest, res: DownstreamResponse, target: RuleTarget, index: number, cluster: Cluster,
    preq: ProxyRequest, down: DownstreamHeaders, body: TryBody, started: number,
  ): void {
    const headers = preq.headers;
    // Over HTTP/2 undici sends the host header as :authority, so the backend sees the client's (or rewritten) host either way.
    setForwardingHeaders(preq, down);
    if (down.teTrailers) headers.set('te', 'trailers');

    const runtime = this.pools.cluster(cluster);
    const retry = target.retry;
    if (retry === undefined || body === null || Buffer.isBuffer(body)) return this.dispatch(req, res, target, index, preq, runtime, body, started);
    // A body that may have to be sent again is kept, up to the policy's bound; a larger one streams and is sent once.
    keepForReplay(body, retry.maxBodyBytes).then(
      (kept) => this.dispatch(req, res, target, index, preq, runtime, kept, started),
      (err: Error) => this.bodyFailed(res, target, index, preq, err, started),
    );
  }

  /** A body that could not be read: too large for the listener, or its client went away. */
  private bodyFailed(res: DownstreamResponse, target: RuleTarget, index: number, preq: ProxyRequest, err: Error, started: number): void {
    const e = classifyUpstreamError(err);
    this.answer(res, target, index, preq, errorAnswer(e.code, e.message, e.code === 'payload_too_large' ? CLOSE : undefined), started);
  }

  /**
   * Answers locally once the rule's filters let the request pass, and the chosen backend's (`index`,
   * -1 for none) too unless `backendFiltersPassed` is false: an answer of one of those, which
   * runRequestFilters already showed to the backend filters before it.
   */
  private answer(
    res: DownstreamResponse, target: RuleTarget, index: number, preq: ProxyRequest, local: LocalResponse, started: number, backendFiltersPassed = true,
  ): void {
    const backend = backendFiltersPassed && index >= 0 ? target.backends[index] : undefined;
    this.finish(target, index, sendLocal(res, decoratedByRule(target, backend, preq, local), preq.requestId), started);
  }

  private dispatch(
    req: DownstreamRequest, res: DownstreamResponse, target: RuleTarget, index: number, preq: ProxyRequest,
    runtime: ClusterRuntime, body: TryBody, started: number,
  ): void {
    const overflow = runtime.breaker.admit();
    if (overflow !== undefined) {
      runtime.series.overflow[overflow].inc();
      return this.answer(res, target, index, preq, errorAnswer('overloaded', `the backend is at its ${overflow} limit`), started);
    }
    const mirrors = preq.mirrors;
    if (mirrors !== undefined) body = this.mirror(mirrors, preq, body);
    const exchange = new ProxiedExchange(res, target, index, preq, started, this, req.httpVersionMajor === 2, runtime, body);
    const timeouts = target.timeouts;
    if (timeouts.requestMs > 0) exchange.arm(timeouts.requestMs - (performance.now() - started), 'request_timeout', `the request did not complete within ${timeouts.requestMs}ms`);
    if (body !== null && body !== req && !Buffer.isBuffer(body)) body.on('error', (err) => exchange.fail(err));
    exchange.start();
  }

  /** Copies the request to each mirror; the main request's backpressure never waits for a mirror. */
  private mirror(clusters: readonly Cluster[], preq: ProxyRequest, body: TryBody): TryBody {
    const path = preq.query === '' ? preq.path : `${preq.path}?${preq.query}`;
    const copies = clusters.map(() => (body === null || Buffer.isBuffer(body) ? body : new PassThrough()));
    let main = body;
    if (body !== null && !Buffer.isBuffer(body)) {
      const primary = new PassThrough();
      body.on('data', (chunk: Buffer) => {
        for (const c of copies) {
          if (!(c instanceof PassThrough) || c.destroyed) continue;
          if (c.writableLength > MIRROR_BUFFER_LIMIT) c.destroy();
          else c.write(chunk);
        }
        if (!primary.write(chunk)) body.pause();
      });
      primary.on('drain', () => body.resume());
      body.on('end', () => {
        primary.end();
        for (const c of copies) if (c instanceof PassThrough) c.end();
      });
      body.on('error', (err) => primary.destroy(err));
      main = primary;
    }
    clusters.forEach((cluster, i) => {
      const host = this.pools.cluster(cluster).pick(NO_HASH_KEY);
      if (host === undefined) return;
      const headers = [...preq.headers.raw];
      host.dispatcher.dispatch({ path, method: preq.method, headers, body: copies[i] }, DISCARD);
    });
    return main;
  }

  /** Called by an exchange once its response is finished or failed. */
  completed(target: RuleTarget, index: number, status: number, started: number): void {
    this.finish(target, index, status, started);
  }
}

/** The request body as tries send it: none, kept whole (so any try can send it), or a stream sent once. */
type TryBody = Readable | Buffer | null;

/** The filters of the rule and of the chosen backendRef that want to read this request's body; undefined for none, the common case. */
function bodyReaders(rule: readonly Filter[], backend: readonly Filter[], req: ProxyRequest): Filter[] | undefined {
  let out: Filter[] | undefined;
  for (const f of rule) if (f.requestBody?.wants(req) === true) (out ??= []).push(f);
  for (const f of backend) if (f.requestBody?.wants(req) === true) (out ??= []).push(f);
  return out;
}

/** What readPrefix read, and, for a body longer than its limit, a stream of all of it (what was read, then the rest). */
interface Prefix {
  readonly chunks: readonly Buffer[];
  readonly size: number;
  readonly rest: Readable | undefined;
}

const joined = (p: Prefix): Buffer => (p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks, p.size));

/** Reads a body until it ends or passes `limit` bytes. */
function readPrefix(body: Readable, limit: number): Promise<Prefix> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= limit) return;
      cleanup();
      body.pause();
      const rest = new PassThrough();
      for (const c of chunks) rest.write(c);
      body.on('error', (err) => rest.destroy(err));
      body.pipe(rest);
      resolve({ chunks, size, rest });
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ chunks, size, rest: undefined });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new UpstreamError('upstream_reset', 'the client went away before sending its whole body'));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

/**
 * A body kept whole when it ends within `limit` bytes, so every try can send it; a longer one comes
 * back as a stream of what was read followed by the rest, which only one try can send.
 */
function keepForReplay(body: Readable, limit: number): Promise<Buffer | Readable> {
  return readPrefix(body, limit).then((p) => p.rest ?? joined(p));
}

/** Trailers as the pool hands them over: raw name/value lines from HTTP/1.1, an object from undici's HTTP/2. */
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

/** Why an exchange let go of a try it had started; the pool hands it back through onError, which a stale try ignores. */
const SUPERSEDED = new UpstreamError('upstream_reset', 'the try was abandoned');

/**
 * One try at one host. It is the pool's handler for that dispatch and passes each hook on to its
 * exchange only while it is the exchange's current try, so a try abandoned for a retry stays silent.
 */
class Try implements UpstreamHandler {
  abort: ((err: Error) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  ended = false;
  /** Whether this try is a retry holding one of the breaker's retry slots. */
  retrySlot = false;
  /** Bytes of an answer being read only to be dropped (a retried status), or -1 when the answer is relayed. */
  discarded = -1;

  constructor(private readonly exchange: ProxiedExchange, readonly host: UpstreamHost, readonly started: number) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.exchange.current !== this) abort(SUPERSEDED);
    else this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    return this.exchange.current !== this || this.exchange.onHeaders(this, statusCode, rawHeaders, resume);
  }

  onData(chunk: Buffer): boolean {
    if (this.exchange.current !== this) return true;
    if (this.discarded < 0) return this.exchange.onData(chunk);
    this.discarded += chunk.length;
    if (this.discarded > DISCARD_LIMIT) this.exchange.retryNow(this, true);
    return true;
  }

  onComplete(rawTrailers: unknown): void {
    if (this.exchange.current !== this) return;
    if (this.discarded < 0) this.exchange.onComplete(this, rawTrailers);
    else this.exchange.retryNow(this, false);
  }

  onError(err: Error): void {
    if (this.exchange.current !== this) return;
    if (this.discarded < 0) this.exchange.onTryError(this, err);
    else this.exchange.retryNow(this, false);
  }
}

/**
 * A retried answer's body is read to its end so its connection can carry the next request (a
 * failing backend would otherwise see a new connection per retry); past this size the connection
 * is given up instead, since reading more would cost more than reconnecting.
 */
const DISCARD_LIMIT = 64 * 1024;

/** What a failed try means to a retry policy and to outlier detection. */
function failureOf(err: UpstreamError, raw: Error & { code?: string }): { trigger: RetryTrigger; outcome: TryOutcome } | undefined {
  if (err.code === 'upstream_connect_failed') return { trigger: 'connect-failure', outcome: CONNECT_FAILED };
  if (err.code === 'upstream_timeout') return { trigger: 'reset', outcome: TIMED_OUT };
  if (err.code === 'upstream_reset' && raw !== err) return { trigger: 'reset', outcome: RESET };
  return undefined;
}
const CONNECT_FAILED: TryOutcome = { kind: 'local', error: 'connect' };
const RESET: TryOutcome = { kind: 'local', error: 'reset' };
const TIMED_OUT: TryOutcome = { kind: 'local', error: 'timeout' };

/**
 * One request in flight to a backend: its tries (one, or more under a retry policy) and the
 * response streamed back. Tries are retried only until response bytes reach the client.
 */
class ProxiedExchange implements PickContext {
  current: Try | undefined;
  private tries = 0;
  /** Whether a retry granted and not yet sent (waiting out its backoff) holds a retry slot; once sent, its Try holds it. */
  private retrySlot = false;
  private retryTimer: NodeJS.Timeout | undefined;
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
    private readonly runtime: ClusterRuntime,
    private readonly body: TryBody,
  ) {
    res.on('close', () => {
      if (!this.done) this.fail(new UpstreamError('upstream_reset', 'the client went away'));
    });
  }

  hashKey(): string | undefined {
    return hashKeyOf(this.runtime.cluster.settings.loadBalancer.hashOn, this.preq);
  }

  arm(ms: number, code: ErrorCode, message: string): void {
    const timer = setTimeout(() => this.fail(new UpstreamError(code, message)), Math.max(ms, 1));
    (this.timers ??= []).push(timer);
  }

  start(): void {
    if (this.target.retry !== undefined) this.runtime.budget?.deposit();
    this.send(undefined);
  }

  /** Starts a try on a host other than `avoid` when the cluster has one. */
  private send(avoid: UpstreamHost | undefined): void {
    const host = this.runtime.pick(this, avoid);
    if (host === undefined) return this.respondError(new UpstreamError('no_healthy_upstream', 'the backend has no endpoints'));
    this.tries++;
    host.active++;
    const t = new Try(this, host, performance.now());
    t.retrySlot = this.retrySlot;
    this.retrySlot = false;
    this.current = t;
    const perTry = this.target.timeouts.backendRequestMs;
    if (perTry > 0) t.timer = setTimeout(() => this.tryTimedOut(t, perTry), perTry);
    const preq = this.preq;
    const idle = this.target.timeouts.streamIdleMs;
    host.dispatcher.dispatch({
      path: preq.query === '' ? preq.path : `${preq.path}?${preq.query}`,
      method: preq.method,
      headers: preq.headers.raw,
      body: this.body,
      // undefined leaves the pool's own backstop in place.
      headersTimeout: idle > 0 ? idle : undefined,
      bodyTimeout: idle,
    }, t);
  }

  /** Lets go of a try: its host no longer counts it, and a retry it carried frees its slot. */
  private endTry(t: Try): void {
    if (t.ended) return;
    t.ended = true;
    t.host.active--;
    if (t.timer !== undefined) clearTimeout(t.timer);
    if (this.current === t) this.current = undefined;
    this.releaseRetrySlot(t);
  }

  private releaseRetrySlot(t: Try): void {
    if (!t.retrySlot) return;
    t.retrySlot = false;
    this.runtime.breaker.releaseRetry();
  }

  /** Whether another try may follow one that failed with `trigger`, taking a retry slot and budget if so. */
  private mayRetry(trigger: RetryTrigger, status = 0): boolean {
    const policy = this.target.retry;
    if (policy === undefined || this.done || this.status !== 0 || this.res.headersSent || this.tries > policy.retries) return false;
    // A body that was streamed out is gone; only one kept whole can be sent again.
    if (this.body !== null && !Buffer.isBuffer(this.body)) return false;
    if (!retriable(policy, this.preq.method, trigger, status)) return false;
    const runtime = this.runtime;
    if (!runtime.breaker.admitRetry()) {
      runtime.series.overflow.retries.inc();
      return false;
    }
    if (runtime.budget !== undefined && !runtime.budget.withdraw()) {
      runtime.breaker.releaseRetry();
      runtime.series.budgetExhausted.inc();
      return false;
    }
    this.retrySlot = true;
    return true;
  }

  /**
   * Sends the next try after the backoff. The first retry of a connect failure goes at once: the
   * backend never saw the request and the retry goes to another host, so waiting protects nobody
   * and only adds latency (nginx's proxy_next_upstream does not wait either).
   */
  private retry(failed: UpstreamHost, trigger: RetryTrigger): void {
    const policy = this.target.retry;
    if (policy === undefined) return;
    this.runtime.series.retries.inc();
    const delay = trigger === 'connect-failure' && this.tries === 1 ? 0 : backoffMs(this.tries, policy.backoffBaseMs, policy.backoffMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.done) this.send(failed);
    }, delay);
  }

  /** Moves on from a try whose answer was being dropped for a retry already granted; `abort` gives up its connection. */
  retryNow(t: Try, abort: boolean): void {
    this.endTry(t);
    if (abort) t.abort?.(SUPERSEDED);
    this.retry(t.host, 'retriable-status-codes');
  }

  private tryTimedOut(t: Try, ms: number): void {
    if (this.current !== t) return;
    if (t.discarded >= 0) return this.retryNow(t, true);
    const err = new UpstreamError('upstream_timeout', `the backend did not answer within ${ms}ms`);
    if (this.res.headersSent) return this.fail(err);
    // A try ends before it is aborted: the pool may report the abort synchronously, and a try no longer current is ignored.
    this.endTry(t);
    t.abort?.(SUPERSEDED);
    this.runtime.observe(t.host, TIMED_OUT, ms, performance.now());
    if (this.mayRetry('reset')) this.retry(t.host, 'reset');
    else this.respondError(err);
  }

  /** Ends the request with `err`, abandoning the try in flight, if any. */
  fail(err: Error): void {
    if (this.done) return;
    const t = this.current;
    if (t !== undefined) {
      this.endTry(t);
      t.abort?.(err);
    }
    this.respondError(err);
  }

  private settle(status: number): void {
    if (this.done) return;
    this.done = true;
    if (this.timers) for (const t of this.timers) clearTimeout(t);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.current !== undefined) this.endTry(this.current);
    if (this.retrySlot) {
      this.retrySlot = false;
      this.runtime.breaker.releaseRetry();
    }
    this.runtime.breaker.release();
    this.owner.completed(this.target, this.index, status, this.started);
  }

  onHeaders(t: Try, statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    if (this.done) return true;
    if (statusCode < 200) return true; // 1xx interim responses are not relayed
    const now = performance.now();
    this.runtime.observe(t.host, { kind: 'status', status: statusCode }, now - t.started, now);
    // A retry with its answer in is no longer in flight, so it does not count against the next one.
    this.releaseRetrySlot(t);
    if (this.target.retry !== undefined && this.mayRetry('retriable-status-codes', statusCode)) {
      t.discarded = 0;
      return true;
    }
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

  onComplete(t: Try, rawTrailers: unknown): void {
    if (this.done) return;
    this.endTry(t);
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

  onTryError(t: Try, raw: Error): void {
    if (this.done) return;
    this.endTry(t);
    const err = classifyUpstreamError(raw);
    const failure = this.status === 0 ? failureOf(err, raw) : undefined;
    if (failure !== undefined) {
      this.runtime.observe(t.host, failure.outcome, performance.now() - t.started, performance.now());
      if (this.mayRetry(failure.trigger)) return this.retry(t.host, failure.trigger);
    }
    this.respondError(err);
  }

  private respondError(raw: Error): void {
    if (this.done) return;
    const e = classifyUpstreamError(raw);
    if (this.res.headersSent) {
      this.res.destroy();
      this.settle(this.status || 502);
      return;
    }
    const local = errorAnswer(e.code, e.message, e.code === 'payload_too_large' ? CLOSE : undefined);
    this.settle(sendLocal(this.res, decoratedByRule(this.target, this.target.backends[this.index], this.preq, local), this.preq.requestId));
  }
}
