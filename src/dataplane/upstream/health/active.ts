//! Active health checks: a periodic request to each host of a cluster, turning its
//! `activeHealthy` flag off and on after runs of failures and successes.

import type { HealthCheckSettings } from '../../../config/model.js';
import type { UpstreamHost } from '../host.js';
import type { UpstreamHandler } from '../dispatcher.js';

export interface HealthCheckHooks {
  /** The host's `activeHealthy` flag just flipped; the owner rebuilds its balancer. */
  onChange(host: UpstreamHost, healthy: boolean): void;
  /** Every finished check, for metrics. */
  onResult?(host: UpstreamHost, ok: boolean): void;
}

/** The timer functions the checker uses, injectable so tests can drive time. */
export interface HealthCheckTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Unref'd, so a cluster with health checks never keeps the process alive on its own. */
const REAL_TIMERS: HealthCheckTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Up to this share of the interval is added at random to each wait, so hosts and workers drift apart. */
const JITTER = 0.1;

const USER_AGENT = 'windrose-health-check';

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`health check got no answer within ${ms}ms`);
  }
}

/** One health check request: its body is read and dropped; the probe reports once whether the status was expected. */
class Probe implements UpstreamHandler {
  private abort: ((err: Error) => void) | undefined;
  private settled = false;
  private status = 0;

  constructor(
    private readonly expected: HealthCheckSettings['expectedStatuses'],
    private readonly done: (probe: Probe, ok: boolean) => void,
  ) {}

  /** Ends the check without a report; a request not yet on the wire is aborted when it gets there. */
  cancel(reason: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.abort?.(reason);
    this.abort = undefined;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort(new Error('health check already ended'));
    else this.abort = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.settle(this.expected.some(([low, high]) => this.status >= low && this.status <= high));
  }

  onError(): void {
    this.settle(false);
  }

  private settle(ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.abort = undefined;
    this.done(this, ok);
  }
}

interface HostState {
  readonly host: UpstreamHost;
  readonly headers: readonly string[];
  successes: number;
  failures: number;
  /** The wait before the next check, or the deadline of the check in flight: never both. */
  timer: unknown;
  probe: Probe | undefined;
}

export class ActiveHealthChecker {
  private readonly states: HostState[];
  private running = false;

  constructor(
    hosts: readonly UpstreamHost[],
    private readonly settings: HealthCheckSettings,
    private readonly hooks: HealthCheckHooks,
    private readonly timers: HealthCheckTimers = REAL_TIMERS,
  ) {
    // Counters start at zero and `activeHealthy` is left as the host has it: a new host starts healthy, so a
    // start or a reload does not black-hole traffic until a first round completes, and a host already found
    // down under the previous config stays down until it passes `healthyThreshold` checks.
    this.states = hosts.map((host) => ({
      host,
      headers: ['host', host.address, 'user-agent', USER_AGENT],
      successes: 0,
      failures: 0,
      timer: undefined,
      probe: undefined,
    }));
  }

  /**
   * The first check of each host comes at a random point of the first interval rather than at once: every
   * reload and every worker would otherwise check all hosts in the same instant, and hosts start healthy,
   * so the delay costs at most one interval of detection, a gap that outlier detection covers.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const s of this.states) this.wait(s, Math.random() * this.settings.intervalMs);
  }

  /** Clears every timer and aborts checks in flight; their results are ignored. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const s of this.states) {
      if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
      s.timer = undefined;
      s.probe?.cancel(new Error('health checks stopped'));
      s.probe = undefined;
    }
  }

  private wait(s: HostState, ms: number): void {
    s.timer = this.timers.setTimeout(() => this.check(s), ms);
  }

  private check(s: HostState): void {
    const { timeoutMs, method, path, expectedStatuses } = this.settings;
    const probe = new Probe(expectedStatuses, (p, ok) => this.finish(s, p, ok));
    s.probe = probe;
    // The deadline covers queueing and connecting too, which undici's headersTimeout does not.
    s.timer = this.timers.setTimeout(() => {
      probe.cancel(new CheckTimeout(timeoutMs));
      this.finish(s, probe, false);
    }, timeoutMs);
    try {
      s.host.dispatcher.dispatch(
        { path, method, headers: s.headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        probe,
      );
    } catch {
      // A dispatcher that cannot be created or refuses the request is a failed check, not a crash.
      this.finish(s, probe, false);
    }
  }

  private finish(s: HostState, probe: Probe, ok: boolean): void {
    if (!this.running || s.probe !== probe) return;
    s.probe = undefined;
    if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
    // The next check is scheduled before the hooks run, so a hook that throws cannot end this host's checks.
    const interval = this.settings.intervalMs;
    this.wait(s, interval + Math.random() * interval * JITTER);
    this.hooks.onResult?.(s.host, ok);
    const host = s.host;
    if (ok) {
      s.failures = 0;
      s.successes++;
      if (!host.activeHealthy && s.successes >= this.settings.healthyThreshold) {
        host.activeHealthy = true;
        this.hooks.onChange(host, true);
      }
    } else {
      s.successes = 0;
      s.failures++;
      if (host.activeHealthy && s.failures >= this.settings.unhealthyThreshold) {
        host.activeHealthy = false;
        this.hooks.onChange(host, false);
      }
    }
  }
}
