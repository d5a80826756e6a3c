//! One endpoint of a cluster as the data plane sees it at run time: its connection pool and the
//! live state the balancers, health checks and outlier detection read and write.

import type { Endpoint } from '../../config/model.js';
import type { UpstreamDispatcher } from './dispatcher.js';

/** How one try at a host ended, as outlier detection and the latency average see it. */
export type TryOutcome =
  | { readonly kind: 'status'; readonly status: number }
  /** No HTTP answer: the connection failed, was reset, or the try timed out. */
  | { readonly kind: 'local'; readonly error: 'connect' | 'reset' | 'timeout' };

/** Latency assumed for a host that has not answered yet, so new hosts are neither starved nor flooded. */
const INITIAL_EWMA_MS = 1;
/** Decay of the latency average: a sample's weight halves after this long (Linkerd uses 10 s). */
const EWMA_HALF_LIFE_MS = 10_000;

export class UpstreamHost {
  /** "host:port", also what consistent hashing places on its ring. */
  readonly address: string;
  readonly weight: number;
  readonly zone: string | undefined;
  /** Requests in flight to this host. */
  active = 0;
  /** Exponentially weighted moving average of time to response head, in ms. */
  ewmaMs = INITIAL_EWMA_MS;
  private ewmaAt = 0;
  /** False while active health checks find the host down. */
  activeHealthy = true;
  /** performance.now() until which outlier detection keeps the host out; 0 when not ejected. */
  ejectedUntil = 0;
  /** How many times the host was ejected; the next ejection lasts this many times the base. */
  ejections = 0;
  private pool: UpstreamDispatcher | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly createPool: (endpoint: Endpoint) => UpstreamDispatcher,
  ) {
    this.address = endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
    this.weight = endpoint.weight ?? 1;
    this.zone = endpoint.zone;
  }

  get dispatcher(): UpstreamDispatcher {
    return (this.pool ??= this.createPool(this.endpoint));
  }

  /** Whether the host may take traffic: not failing health checks and not ejected. */
  get healthy(): boolean {
    return this.activeHealthy && this.ejectedUntil === 0;
  }

  /**
   * Folds one response latency into the moving average, weighting by time since the last sample.
   * A sample above the average replaces it at once (a "peak" EWMA, as Linkerd's): a host that
   * turns slow loses traffic immediately and wins it back gradually.
   */
  observeLatency(ms: number, now: number): void {
    const elapsed = now - this.ewmaAt;
    this.ewmaAt = now;
    if (ms > this.ewmaMs) {
      this.ewmaMs = ms;
      return;
    }
    const w = Math.exp((-elapsed * Math.LN2) / EWMA_HALF_LIFE_MS);
    this.ewmaMs = this.ewmaMs * w + ms * (1 - w);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close().catch(() => undefined);
  }
}
