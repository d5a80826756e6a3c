//! Per-proxy config streams: each connected proxy gets the snapshot of what it needs right after
//! hello, and a new one whenever that content changes (config, registry, trust bundle); ACK and
//! NACK are recorded per proxy. A snapshot is built once per distinct selection and pushed to every
//! proxy that needs exactly it.

import type { Logger } from 'pino';
import { SERVICE_ACCOUNTS_ANNOTATION, type ConfigDocument, type SnapshotMessage } from '../../mesh/protocol.js';
import type { MeshDocument } from '../config/documents.js';
import type { ControlMetrics } from '../metrics.js';
import { mayServe, registryDocuments, type ServiceInfo } from '../registry/endpoint-slices.js';
import { workloadKey, type Workload } from '../registry/workloads.js';
import { DocumentSelection } from './select.js';
import { snapshotVersion } from './version.js';

/** One open stream to a proxy, as the distributor sees it. */
export interface ProxyConnection {
  readonly workload: Workload;
  /** Queues one NDJSON line on the stream. */
  write(line: string): void;
  /** Ends the stream: the proxy reconnects and says hello again. */
  close(): void;
}

export interface ProxyStatus {
  readonly sentVersion?: string;
  readonly ackedVersion?: string;
  readonly nack?: { readonly version: string; readonly error: string; readonly at: string };
}

interface Stream {
  readonly conn: ProxyConnection;
  /** Versions sent on this stream and not yet answered, with when they were sent. */
  readonly pending: Map<string, number>;
  lastSent?: string;
}

interface Prepared {
  readonly version: string;
  readonly line: string;
}

export interface DistributorOptions {
  readonly log: Logger;
  readonly metrics: ControlMetrics;
  /**
   * Registrations arrive in bursts (a deployment scaling, a control-plane restart): endpoint
   * changes within this window are pushed together, as istiod debounces its pushes.
   */
  readonly registryDebounceMs: number;
  readonly now?: () => number;
}

/** Pending versions kept per stream: a proxy that never answers does not grow the map without bound. */
const MAX_PENDING = 16;

export class Distributor {
  private configDocs: readonly MeshDocument[] = [];
  private selection = new DocumentSelection([]);
  private workloads: readonly Workload[] = [];
  private registryDocs: readonly ConfigDocument[] = [];
  private trustBundle: readonly string[] = [];
  private readonly streams = new Map<string, Stream>();
  private readonly statuses = new Map<string, ProxyStatus>();
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private readonly now: () => number;

  constructor(private readonly opts: DistributorOptions) {
    this.now = opts.now ?? Date.now;
  }

  setConfig(documents: readonly MeshDocument[]): void {
    this.configDocs = documents;
    this.selection = new DocumentSelection(documents);
    for (const d of this.selection.withheld) {
      this.opts.log.warn({ file: d.file, line: d.line }, `${d.file}:${d.line}: a List that holds a Secret is not sent to proxies; put the Secret in a document of its own`);
    }
    // Registry EndpointSlices mirror the ports of the config's Services.
    this.rebuildRegistry();
    this.schedule(0);
  }

  setWorkloads(workloads: readonly Workload[]): void {
    this.workloads = workloads;
    this.rebuildRegistry();
    this.schedule(this.opts.registryDebounceMs);
  }

  setTrustBundle(roots: readonly string[]): void {
    this.trustBundle = roots;
    this.schedule(0);
  }

  /** A proxy said hello: it gets its snapshot at once. A stream of the same proxy still open is replaced. */
  attach(conn: ProxyConnection): void {
    const key = workloadKey(conn.workload);
    const old = this.streams.get(key);
    const stream: Stream = { conn, pending: new Map() };
    this.streams.set(key, stream);
    old?.conn.close();
    this.opts.metrics.setProxies(this.streams.size);
    this.pushTo(stream, new Map());
  }

  detach(conn: ProxyConnection): void {
    const key = workloadKey(conn.workload);
    if (this.streams.get(key)?.conn !== conn) return;
    this.streams.delete(key);
    this.opts.metrics.setProxies(this.streams.size);
  }

  /** Closes the stream of a proxy the registry dropped, and forgets its status. */
  forget(key: string): void {
    this.statuses.delete(key);
    const stream = this.streams.get(key);
    if (stream === undefined) return;
    this.streams.delete(key);
    this.opts.metrics.setProxies(this.streams.size);
    stream.conn.close();
  }

  ack(conn: ProxyConnection, version: string): void {
    const stream = this.streamOf(conn);
    const sentAt = stream?.pending.get(version);
    if (stream === undefined || sentAt === undefined) return;
    // Answers come in order: this one settles every version sent before it too.
    for (const v of [...stream.pending.keys()]) {
      stream.pending.delete(v);
      if (v === version) break;
    }
    this.opts.metrics.acked.inc();
    this.opts.metrics.pushToAck.observe((this.now() - sentAt) / 1000);
    this.update(conn, { ackedVersion: version });
  }

  nack(conn: ProxyConnection, version: string, error: string): void {
    const stream = this.streamOf(conn);
    if (stream === undefined || !stream.pending.delete(version)) return;
    this.opts.metrics.nacked.inc();
    const { id, spiffeId } = conn.workload;
    this.opts.log.error({ proxy: id, spiffeId, version, error }, 'proxy rejected config (NACK); it keeps serving its last good config');
    this.update(conn, { nack: { version, error, at: new Date(this.now()).toISOString() } });
  }

  status(key: string): ProxyStatus & { readonly connected: boolean } {
    return { ...this.statuses.get(key), connected: this.streams.has(key) };
  }

  /** Runs a scheduled push now: shutdown, and tests that must not wait for the debounce. */
  flush(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    this.pushAll();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.streams.values()) s.conn.close();
    this.streams.clear();
    this.opts.metrics.setProxies(0);
  }

  private streamOf(conn: ProxyConnection): Stream | undefined {
    const stream = this.streams.get(workloadKey(conn.workload));
    return stream?.conn === conn ? stream : undefined;
  }

  private update(conn: ProxyConnection, change: Partial<ProxyStatus>): void {
    const key = workloadKey(conn.workload);
    this.statuses.set(key, { ...this.statuses.get(key), ...change });
  }

  private rebuildRegistry(): void {
    const services = new Map<string, ServiceInfo>();
    for (const d of this.configDocs) {
      for (const o of d.objects) {
        if (o.apiVersion !== 'v1' || o.kind !== 'Service') continue;
        const accounts = o.annotations[SERVICE_ACCOUNTS_ANNOTATION];
        services.set(`${o.namespace}/${o.name}`, {
          ports: o.ports,
          ...(accounts === undefined ? {} : { serviceAccounts: accounts.split(',').map((a) => a.trim()).filter((a) => a !== '') }),
        });
      }
    }
    const lookup = (ns: string, name: string) => services.get(`${ns}/${name}`);
    for (const w of this.workloads) {
      const refused = w.services.filter((s) => !mayServe(w, lookup(w.namespace, s)));
      if (refused.length > 0) {
        this.opts.log.warn({ proxy: w.id, spiffeId: w.spiffeId, services: refused }, `not registered as an endpoint: the Service names other service accounts (${SERVICE_ACCOUNTS_ANNOTATION})`);
      }
    }
    this.registryDocs = registryDocuments(this.workloads, lookup);
  }

  private schedule(delayMs: number): void {
    const due = this.now() + delayMs;
    if (this.timer !== undefined && this.dueAt <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAt = Infinity;
      this.pushAll();
    }, delayMs);
  }

  private pushAll(): void {
    const built = new Map<string, Prepared>();
    for (const stream of this.streams.values()) this.pushTo(stream, built);
  }

  /** Sends the proxy its snapshot unless the last one sent on this stream has the same version. */
  private pushTo(stream: Stream, built: Map<string, Prepared>): void {
    const { workload } = stream.conn;
    const { documents, key } = this.selection.select({ namespace: workload.namespace, labels: workload.labels });
    let prepared = built.get(key);
    if (prepared === undefined) {
      const all = [...documents, ...this.registryDocs];
      const version = snapshotVersion(this.trustBundle, all);
      const message: SnapshotMessage = { type: 'snapshot', version, trustBundle: this.trustBundle, documents: all };
      prepared = { version, line: `${JSON.stringify(message)}\n` };
      built.set(key, prepared);
    }
    if (prepared.version === stream.lastSent) return;
    stream.lastSent = prepared.version;
    // Re-inserted at the end when content went back to an earlier version: answers settle in send order.
    stream.pending.delete(prepared.version);
    stream.pending.set(prepared.version, this.now());
    if (stream.pending.size > MAX_PENDING) stream.pending.delete(stream.pending.keys().next().value!);
    stream.conn.write(prepared.line);
    this.opts.metrics.pushed.inc();
    this.update(stream.conn, { sentVersion: prepared.version });
    this.opts.log.debug({ proxy: workload.id, version: prepared.version, documents: documents.length + this.registryDocs.length }, 'snapshot pushed');
  }
}
