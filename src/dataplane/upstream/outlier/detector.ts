//! Passive outlier detection: ejects hosts of a cluster that fail real traffic, by runs of 5xx or
//! gateway errors as they happen and by success rate once per interval.

import type { OutlierSettings } from '../../../config/model.js';
import type { TryOutcome, UpstreamHost } from '../host.js';

export type EjectReason = 'consecutive_5xx' | 'consecutive_gateway_errors' | 'success_rate';

export interface OutlierHooks {
  /** Some host was ejected or returned; the owner rebuilds its balancer. Called once per tick at most. */
  onChange(): void;
  /** One host was just ejected, for metrics and logs; onChange follows. */
  onEject(host: UpstreamHost, reason: EjectReason): void;
}

/** Time as the detector sees it, injectable for tests. `now()` must be the clock of `UpstreamHost.ejectedUntil`. */
export interface OutlierClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Unref'd, so a cluster with outlier detection never keeps the process alive on its own. */
const REAL_CLOCK: OutlierClock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Per-host counters of the detector; what must outlive a reload lives on the host instead. */
interface HostStats {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Tries and successes in the current interval, for success-rate ejection. */
  total: number;
  success: number;
}

export class OutlierDetector {
  private readonly stats = new Map<UpstreamHost, HostStats>();
  /** Hosts with ejectedUntil set, kept by eject() and recounted every tick. */
  private ejected = 0;
  private interval: unknown;
  private stopped = false;

  constructor(
    private readonly hosts: readonly UpstreamHost[],
    private readonly settings: OutlierSettings,
    private readonly hooks: OutlierHooks,
    private readonly clock: OutlierClock = REAL_CLOCK,
  ) {
    for (const host of hosts) {
      this.stats.set(host, { consecutive5xx: 0, consecutiveGateway: 0, total: 0, success: 0 });
      if (host.ejectedUntil !== 0) this.ejected++;
    }
  }

  start(): void {
    if (this.interval !== undefined || this.stopped) return;
    this.interval = this.clock.setInterval(() => this.tick(), this.settings.intervalMs);
  }

  /** Ends the sweeps; reports from tries still in flight are ignored from now on. */
  stop(): void {
    this.stopped = true;
    if (this.interval !== undefined) this.clock.clearInterval(this.interval);
    this.interval = undefined;
  }

  /** Records how one try at `host` ended. Called once per try, so it only counts, save on the rare ejection. */
  report(host: UpstreamHost, outcome: TryOutcome): void {
    const s = this.stats.get(host);
    if (s === undefined || this.stopped) return;
    s.total++;
    if (outcome.kind === 'status' && outcome.status < 500) {
      s.success++;
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return;
    }
    // Tries already in flight when the host was ejected still report; they must not eject it again.
    if (host.ejectedUntil !== 0) return;
    const { consecutive5xx, consecutiveGatewayErrors } = this.settings;
    // As in Envoy, a 5xx that is not a gateway error breaks a run of gateway errors.
    if (outcome.kind === 'local' || outcome.status === 502 || outcome.status === 503 || outcome.status === 504) s.consecutiveGateway++;
    else s.consecutiveGateway = 0;
    s.consecutive5xx++;
    if (consecutiveGatewayErrors > 0 && s.consecutiveGateway >= consecutiveGatewayErrors) {
      this.tryEject(host, s, 'consecutive_gateway_errors');
    } else if (consecutive5xx > 0 && s.consecutive5xx >= consecutive5xx) {
      this.tryEject(host, s, 'consecutive_5xx');
    }
  }

  /**
   * One sweep, run every `intervalMs` once started; callable directly with an injected clock. Returns hosts
   * whose time is up, decays the ejection count of hosts that stayed in, ejects success-rate outliers and
   * opens a new counting window.
   */
  tick(): void {
    const now = this.clock.now();
    let changed = false;
    let ejected = 0;
    for (const host of this.hosts) {
      if (host.ejectedUntil !== 0) {
        if (now < host.ejectedUntil) {
          ejected++;
          continue;
        }
        host.ejectedUntil = 0;
        changed = true;
      } else if (host.ejections > 0) {
        // Envoy's decay: each quiet interval shortens the host's next ejection by one base period.
        host.ejections--;
      }
    }
    this.ejected = ejected;
    if (this.settings.successRate !== undefined && this.ejectBySuccessRate(this.settings.successRate)) changed = true;
    for (const s of this.stats.values()) {
      s.total = 0;
      s.success = 0;
    }
    if (changed) this.hooks.onChange();
  }

  private ejectBySuccessRate(sr: NonNullable<OutlierSettings['successRate']>): boolean {
    const volume = Math.max(sr.requestVolume, 1);
    let count = 0;
    let sum = 0;
    let sumSquares = 0;
    for (const [host, s] of this.stats) {
      if (host.ejectedUntil !== 0 || s.total < volume) continue;
      const rate = s.success / s.total;
      count++;
      sum += rate;
      sumSquares += rate * rate;
    }
    if (count === 0 || count < sr.minimumHosts) return false;
    const mean = sum / count;
    const stdev = Math.sqrt(Math.max(0, sumSquares / count - mean * mean));
    const threshold = mean - (stdev * sr.stdevFactor) / 1000;
    let ejectedAny = false;
    for (const [host, s] of this.stats) {
      if (host.ejectedUntil !== 0 || s.total < volume) continue;
      if (s.success / s.total < threshold && this.eject(host, 'success_rate')) ejectedAny = true;
    }
    return ejectedAny;
  }

  /** A run reached its threshold: the run starts over whether or not the ejection was allowed, as in Envoy. */
  private tryEject(host: UpstreamHost, s: HostStats, reason: EjectReason): void {
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    if (this.eject(host, reason)) this.hooks.onChange();
  }

  private eject(host: UpstreamHost, reason: EjectReason): boolean {
    if (!this.mayEject()) return false;
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    host.ejections++;
    // As in Envoy, the cap is never below one base period.
    const ms = Math.min(baseEjectionMs * host.ejections, Math.max(maxEjectionMs, baseEjectionMs));
    host.ejectedUntil = this.clock.now() + ms;
    this.ejected++;
    this.hooks.onEject(host, reason);
    return true;
  }

  /**
   * Ejected hosts may not exceed maxEjectionPercent of the cluster, except that one may always go when none is
   * out, so small clusters are protected too. The last host still in is never ejected: with none left the
   * balancer ignores health anyway (panic), so the ejection would only lengthen the host's next one.
   */
  private mayEject(): boolean {
    const n = this.hosts.length;
    if (n - this.ejected <= 1) return false;
    if (this.ejected === 0) return true;
    return (100 * (this.ejected + 1)) / n <= this.settings.maxEjectionPercent;
  }
}
