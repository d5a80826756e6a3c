//! The proxy's side of the control plane, for tests: start `windrose control`, get an SVID with a
//! join token or by renewal, and hold a config stream (HTTP/2 over mTLS, NDJSON both ways).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ProxyDescriptor, ProxyMessage, SnapshotMessage } from '../../src/mesh/protocol.js';
import { createKeyAndCsr } from '../../src/mesh/csr.js';
import { until } from './metrics.js';
import { CLI, spawnWindrose, type LogLine, type WindroseProcess } from './windrose.js';


export interface ControlProcess extends WindroseProcess {
  readonly port: number;
  readonly admin: string;
  /** The root(s) clients trust, as the CA directory holds them now. */
  trustBundle(): string;
}

/** Starts `windrose control` on free ports and resolves once it logs "ready". */
export async function startControl(dataDir: string, args: readonly string[] = []): Promise<ControlProcess> {
  const p = spawnWindrose([
    'control', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-format', 'json', '--log-level', 'debug', ...args,
  ]);
  let ready: LogLine;
  try {
    ready = await p.waitForLog((l) => l.msg === 'ready');
  } catch (err) {
    await p.stop();
    throw err;
  }
  return {
    ...p,
    port: ready.port as number,
    admin: `http://127.0.0.1:${ready.adminPort as number}`,
    trustBundle: () => fs.readdirSync(path.join(dataDir, 'ca'))
      .filter((f) => f === 'root.crt.pem' || f === 'previous-root.crt.pem')
      .map((f) => fs.readFileSync(path.join(dataDir, 'ca', f), 'utf8')).join(''),
  };
}

export async function mintToken(dataDir: string, namespace: string, serviceAccount: string): Promise<string> {
  const { stdout } = await promisify(execFile)(CLI, ['control', 'token', '--data-dir', dataDir, '--namespace', namespace, '--service-account', serviceAccount]);
  return stdout.trim();
}


export interface Svid {
  /** Leaf, then any intermediates. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundle: string;
}

export interface SvidAnswer {
  readonly status: number;
  readonly json: { certificate?: string; trustBundle?: string; error?: { code: string; message: string } };
}

/** POST /v1/svid over HTTP/1.1, with a join token or with the current SVID as client certificate. */
export function postSvid(port: number, ca: string, csrPem: string, auth: { token: string } | { svid: Svid }): Promise<SvidAnswer> {
  const client = 'svid' in auth ? { cert: auth.svid.certPem, key: auth.svid.keyPem } : {};
  const headers = { 'content-type': 'application/json', ...('token' in auth ? { authorization: `Bearer ${auth.token}` } : {}) };
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/svid', method: 'POST', ca, headers, agent: false, ...client }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SvidAnswer['json'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ csr: csrPem }));
  });
}

/** A fresh key and an SVID for it. */
export async function issueSvid(port: number, ca: string, auth: { token: string } | { svid: Svid }): Promise<Svid> {
  const { keyPem, csrPem } = createKeyAndCsr();
  const answer = await postSvid(port, ca, csrPem, auth);
  if (answer.status !== 200) throw new Error(`POST /v1/svid answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return { certPem: answer.json.certificate!, keyPem, trustBundle: answer.json.trustBundle! };
}

/** A proxy's config stream: records every snapshot, acks each one unless told otherwise, sends heartbeats. */
export class MeshStream {
  readonly snapshots: SnapshotMessage[] = [];
  status = 0;
  /** The answer body when the control plane refused the stream. */
  refusal = '';
  closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly waiters: (() => void)[] = [];

  private constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly stream: http2.ClientHttp2Stream,
    /** Answers a snapshot: an ack (return undefined) or a nack with this error. */
    public decide: (s: SnapshotMessage) => string | undefined,
  ) {}

  /**
   * Opens POST /v1/stream with `svid` as client certificate (none: no certificate) and, when the
   * control plane accepts, says hello and starts heartbeats every `heartbeatMs`.
   */
  static async open(port: number, ca: string, svid: Svid | undefined, hello: ProxyDescriptor | undefined, heartbeatMs = 300): Promise<MeshStream> {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca, ...(svid ? { cert: svid.certPem, key: svid.keyPem } : {}) });
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/v1/stream', 'content-type': 'application/x-ndjson' });
    const client = new MeshStream(session, stream, () => undefined);
    stream.on('error', () => undefined);
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (client.status !== 200) {
        client.refusal += chunk;
        return;
      }
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const snapshot = JSON.parse(buffered.slice(0, nl)) as SnapshotMessage;
        buffered = buffered.slice(nl + 1);
        client.snapshots.push(snapshot);
        const error = client.decide(snapshot);
        client.send(error === undefined ? { type: 'ack', version: snapshot.version } : { type: 'nack', version: snapshot.version, error });
      }
      client.notify();
    });
    stream.on('close', () => {
      client.closed = true;
      client.stopHeartbeats();
      client.notify();
    });
    await new Promise<void>((resolve, reject) => {
      // Set before any data event: the body of a refusal is not a snapshot.
      stream.once('response', (h) => { client.status = Number(h[':status']); resolve(); });
      stream.once('close', () => reject(new Error('the stream closed before a response')));
      session.once('error', reject);
    });
    if (client.status === 200 && hello !== undefined) {
      client.send({ type: 'hello', proxy: hello });
      client.heartbeat = setInterval(() => client.send({ type: 'heartbeat' }), heartbeatMs);
    } else if (client.status !== 200) {
      await new Promise((resolve) => stream.once('end', resolve).resume());
    }
    return client;
  }

  send(message: ProxyMessage): void {
    if (!this.stream.closed && !this.stream.destroyed) this.stream.write(`${JSON.stringify(message)}\n`);
  }

  get last(): SnapshotMessage | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  /** Resolves with the first snapshot, from the `from`-th on, that satisfies `pred`. */
  async waitForSnapshot(pred: (s: SnapshotMessage) => boolean, from = 0, timeoutMs = 15_000): Promise<SnapshotMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.snapshots.slice(from).find(pred);
      if (found) return found;
      if (this.closed) throw new Error('the stream closed before the expected snapshot');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a snapshot; got ${this.snapshots.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Resolves once the stream is closed (by either side). */
  async waitClosed(timeoutMs = 15_000): Promise<void> {
    await until('the stream to close', () => (this.closed ? true : undefined), timeoutMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  close(): void {
    this.stopHeartbeats();
    this.session.destroy();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** The documents of a snapshot of one kind, by a loose look at their text. */
export const documentsOfKind = (s: SnapshotMessage, kind: string) => s.documents.filter((d) => new RegExp(`^kind: ${kind}$`, 'm').test(d.text));
