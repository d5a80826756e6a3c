//! Circuit breaking per cluster, with Envoy's limits: requests in flight, requests waiting for a
//! connection, and retries in flight. Over a limit the request is refused at once (503 `overloaded`)
//! instead of joining a queue that only grows while the backend is struggling.

import type { CircuitBreakerSettings } from '../../../config/model.js';

export type OverflowLimit = 'pending' | 'requests' | 'retries';

export class CircuitBreaker {
  /** Requests admitted and not finished. */
  private active = 0;
  /** Retries scheduled or in flight. */
  private retries = 0;

  /**
   * `capacity` is how many requests the cluster's connections carry at once; requests beyond it
   * wait in the pools, and those are the pending requests maxPendingRequests bounds.
   */
  constructor(private readonly settings: CircuitBreakerSettings, private readonly capacity: number) {}

  /** Takes a request slot, or names the limit that refuses it. */
  admit(): OverflowLimit | undefined {
    const s = this.settings;
    if (this.active >= s.maxRequests) return 'requests';
    if (this.active - this.capacity >= s.maxPendingRequests) return 'pending';
    this.active++;
    return undefined;
  }

  release(): void {
    this.active--;
  }

  admitRetry(): boolean {
    if (this.retries >= this.settings.maxRetries) return false;
    this.retries++;
    return true;
  }

  releaseRetry(): void {
    this.retries--;
  }
}
