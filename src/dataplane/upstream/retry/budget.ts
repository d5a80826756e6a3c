//! A retry budget as Linkerd keeps one: retries may add at most `ratio` of the requests seen in a
//! sliding window, plus a floor per second, so retries can never multiply an outage's load.

import type { RetryBudgetSettings } from '../../../config/model.js';

/** The window slides in this many steps: coarse enough to be cheap, fine enough to forget promptly. */
const BUCKETS = 10;

export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private current = 0;
  private currentStart: number;

  constructor(private readonly settings: RetryBudgetSettings, private readonly now: () => number = () => performance.now()) {
    this.bucketMs = settings.windowMs / BUCKETS;
    this.currentStart = now();
  }

  /** Moves the window to `now`, clearing buckets that fell out of it. */
  private advance(): void {
    const now = this.now();
    let steps = Math.floor((now - this.currentStart) / this.bucketMs);
    if (steps <= 0) return;
    this.currentStart += steps * this.bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.current = (this.current + 1) % BUCKETS;
      this.requests[this.current] = 0;
      this.retries[this.current] = 0;
    }
  }

  /** Counts a first try. */
  deposit(): void {
    this.advance();
    this.requests[this.current]++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  withdraw(): boolean {
    this.advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.requests[i];
      retries += this.retries[i];
    }
    const allowed = this.settings.minPerSecond * (this.settings.windowMs / 1000) + this.settings.ratio * requests;
    if (retries + 1 > allowed) return false;
    this.retries[this.current]++;
    return true;
  }
}
