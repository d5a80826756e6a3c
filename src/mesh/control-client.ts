//! The proxy's side of the control plane: certificate requests, and the config stream, which it keeps
//! open for as long as the proxy runs, reconnecting with backoff whenever it drops. While it is down
//! the proxy keeps serving with the last config and certificate it has.

import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import type { MeshCredentials } from './credentials.js';
import { recordControlConnected } from './metrics.js';
import type { ControlMessage, ProxyDescriptor, ProxyMessage, SnapshotMessage } from './protocol.js';

const REQUEST_TIMEOUT_MS = 10_000;
/** Reconnect delays: full jitter over an exponential ceiling, as Envoy's xDS client backs off. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export interface ControlClientOptions {
  /** e.g. https://127.0.0.1:15012 */
  readonly url: string;
  /** PEM roots that the control plane's own certificate is trusted by until the first trust bundle arrives. */
  readonly controlCa: string;
  readonly credentials: MeshCredentials;
  readonly log: Logger;
}

export class ControlError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Splits concatenated PEM certificates. */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

export function backoffDelay(failures: number): number {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 16));
}

export interface StreamHandlers {
  readonly descriptor: ProxyDescriptor;
  readonly heartbeatMs: number;
  /** The version the proxy serves now, sent in each hello. */
  readonly version: () => string | undefined;
  /** Applies a snapshot; resolves with undefined (ack) or the reason it was rejected (nack). */
  readonly apply: (snapshot: SnapshotMessage) => Promise<string | undefined>;
}

export class ControlClient {
  private session: ClientHttp2Session | undefined;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  /** The newest snapshot not yet applied, and whether one is being applied. */
  private pending: { snapshot: SnapshotMessage; stream: ClientHttp2Stream } | undefined;
  private applying = false;

  constructor(private readonly options: ControlClientOptions) {}

  private tlsOptions(withCertificate: boolean) {
    const creds = this.options.credentials.credentials;
    const ca = [this.options.controlCa, ...(creds?.trustBundle ?? [])];
    return withCertificate && creds ? { ca, cert: creds.svid.certPem, key: creds.svid.keyPem } : { ca };
  }

  /** Asks for an SVID: with a join token at bootstrap, else authenticated by the current SVID (renewal). */
  requestSvid(csrPem: string, joinToken?: string): Promise<{ certificate: string; trustBundle: string[] }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(this.options.url, this.tlsOptions(joinToken === undefined));
      session.on('error', reject);
      session.setTimeout(REQUEST_TIMEOUT_MS, () => session.destroy(new Error(`the control plane did not answer within ${REQUEST_TIMEOUT_MS} ms`)));
      const req = session.request({
        ':method': 'POST', ':path': '/v1/svid', 'content-type': 'application/json',
        ...(joinToken !== undefined ? { authorization: `Bearer ${joinToken}` } : {}),
      });
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.on('response', (h) => { status = Number(h[':status']); });
      req.on('data', (c: string) => { body += c; });
      req.on('error', reject);
      req.on('end', () => {
        session.close();
        let parsed: { certificate?: string; trustBundle?: string | string[]; error?: { code?: string; message?: string } };
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          return reject(new ControlError(status, 'bad_response', `the control plane answered ${status} without JSON`));
        }
        if (status !== 200 || typeof parsed.certificate !== 'string' || parsed.trustBundle === undefined) {
          return reject(new ControlError(status, parsed.error?.code ?? 'bad_response', parsed.error?.message ?? `the control plane answered ${status}`));
        }
        const bundle = Array.isArray(parsed.trustBundle) ? parsed.trustBundle : pemBlocks(parsed.trustBundle);
        resolve({ certificate: parsed.certificate, trustBundle: bundle });
      });
      req.end(JSON.stringify({ csr: csrPem }));
    });
  }

  /** Opens the config stream and keeps it open until close(). */
  subscribe(handlers: StreamHandlers): void {
    this.connect(handlers);
  }

  private connect(handlers: StreamHandlers): void {
    if (this.closed) return;
    const session = http2.connect(this.options.url, this.tlsOptions(true));
    this.session = session;
    session.on('error', (err) => this.options.log.debug({ err: err.message }, 'control plane session error'));
    session.once('close', () => this.lost(handlers, session));
    const stream = session.request({ ':method': 'POST', ':path': '/v1/stream', 'content-type': 'application/x-ndjson' });
    stream.on('error', (err) => this.options.log.debug({ err: err.message }, 'config stream error'));
    stream.once('close', () => session.close());
    stream.once('response', (h) => {
      const status = Number(h[':status']);
      if (status !== 200) {
        this.options.log.warn({ status }, 'the control plane refused the config stream');
        session.destroy();
        return;
      }
      this.options.log.info({ control: this.options.url }, 'config stream open');
      recordControlConnected(true);
    });
    this.send(stream, { type: 'hello', proxy: handlers.descriptor, ...(handlers.version() ? { version: handlers.version() } : {}) });
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.send(stream, { type: 'heartbeat' }), handlers.heartbeatMs);
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        let msg: ControlMessage;
        try {
          msg = JSON.parse(line) as ControlMessage;
        } catch {
          this.options.log.warn('the control plane sent a line that is not JSON; reconnecting');
          session.destroy();
          return;
        }
        if (msg.type === 'snapshot') this.enqueue(handlers, msg, stream);
      }
    });
  }

  private send(stream: ClientHttp2Stream, msg: ProxyMessage): void {
    if (!stream.destroyed && stream.writable) stream.write(`${JSON.stringify(msg)}\n`);
  }

  /** Applies snapshots one at a time; of several that arrive meanwhile only the newest is applied. */
  private enqueue(handlers: StreamHandlers, snapshot: SnapshotMessage, stream: ClientHttp2Stream): void {
    this.failures = 0;
    this.pending = { snapshot, stream };
    if (this.applying) return;
    this.applying = true;
    void (async () => {
      while (this.pending !== undefined) {
        const next = this.pending;
        this.pending = undefined;
        const error = await handlers.apply(next.snapshot);
        const version = next.snapshot.version;
        this.send(next.stream, error === undefined ? { type: 'ack', version } : { type: 'nack', version, error });
      }
      this.applying = false;
    })();
  }

  private lost(handlers: StreamHandlers, session: ClientHttp2Session): void {
    if (this.session !== session) return;
    this.session = undefined;
    clearInterval(this.heartbeat);
    recordControlConnected(false);
    if (this.closed) return;
    const delay = backoffDelay(this.failures++);
    const log = this.failures === 1 || this.failures % 10 === 0 ? this.options.log.warn.bind(this.options.log) : this.options.log.debug.bind(this.options.log);
    log({ attempt: this.failures, retryInMs: Math.round(delay), version: handlers.version() }, 'no config stream to the control plane; serving the last config');
    this.retry = setTimeout(() => this.connect(handlers), delay);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.session?.destroy();
  }
}
