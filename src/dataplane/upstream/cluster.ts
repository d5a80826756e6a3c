//! A cluster at run time: its hosts, the balancers over the hosts that may take traffic, and the
//! health, outlier, circuit-breaker and retry-budget state the request path consults.

import type { Cluster } from '../../config/model.js';
import { upstreamSeries, type UpstreamSeries } from '../../telemetry/metrics.js';
import type { Balancer, PickContext } from './balancer/balancer.js';
import { createBalancer } from './balancer/index.js';
import { CircuitBreaker } from './breaker/breaker.js';
import { ActiveHealthChecker } from './health/active.js';
import type { TryOutcome, UpstreamHost } from './host.js';
import { OutlierDetector } from './outlier/detector.js';
import { RetryBudget } from './retry/budget.js';

/**
 * How far a zone's healthy share is stretched before traffic spills to other zones (Envoy's
 * overprovisioning factor): a zone at 72% healthy or more keeps all of its zone's traffic.
 */
const OVERPROVISIONING = 1.4;

export class ClusterRuntime {
  readonly breaker: CircuitBreaker;
  readonly budget: RetryBudget | undefined;
  readonly series: UpstreamSeries;
  private readonly detector: OutlierDetector | undefined;
  private readonly checker: ActiveHealthChecker | undefined;
  private stale = true;
  private local: Balancer | undefined;
  private remote: Balancer | undefined;
  /** Share of requests the local balancer takes; the rest go to `remote`. */
  private localShare = 1;
  private panic = false;

  constructor(
    readonly cluster: Cluster,
    readonly hosts: readonly UpstreamHost[],
    private readonly localZone: string | undefined,
    /** Requests the cluster's connections carry at once, for the pending-requests limit. */
    capacity: number,
    private readonly random: () => number = Math.random,
  ) {
    const s = cluster.settings;
    this.series = upstreamSeries(cluster.name);
    this.breaker = new CircuitBreaker(s.circuitBreaker, capacity);
    this.budget = s.retryBudget ? new RetryBudget(s.retryBudget) : undefined;
    const changed = (): void => {
      this.stale = true;
      this.countEndpoints();
    };
    // Hosts outlive a reload; one that drops checks or detection must not stay out on the old verdict.
    for (const h of hosts) {
      if (!s.healthCheck) h.activeHealthy = true;
      if (!s.outlier) h.ejectedUntil = 0;
    }
    if (s.outlier && hosts.length > 0) {
      this.detector = new OutlierDetector(hosts, s.outlier, {
        onChange: changed,
        onEject: (_host, reason) => this.series.ejected(reason),
      });
    }
    if (s.healthCheck && hosts.length > 0) {
      this.checker = new ActiveHealthChecker(hosts, s.healthCheck, {
        onChange: (_host, healthy) => {
          this.series.healthChanged(healthy);
          changed();
        },
      });
    }
  }

  private countEndpoints(): void {
    let healthy = 0;
    let ejected = 0;
    for (const h of this.hosts) {
      if (h.healthy) healthy++;
      else if (h.ejectedUntil !== 0) ejected++;
    }
    this.series.endpoints(healthy, this.hosts.length - healthy - ejected, ejected);
  }

  start(): void {
    this.countEndpoints();
    this.detector?.start();
    this.checker?.start();
  }

  stop(): void {
    this.detector?.stop();
    this.checker?.stop();
  }

  /** A host for a try, avoiding `avoid` (the host the previous try failed on) when there is another. */
  pick(ctx: PickContext, avoid?: UpstreamHost): UpstreamHost | undefined {
    if (this.stale) this.rebuild();
    if (this.panic) this.series.panic.inc();
    if (this.remote !== undefined && (this.local === undefined || this.random() >= this.localShare)) return this.remote.pick(ctx, avoid);
    return this.local?.pick(ctx, avoid);
  }

  /** Feeds one try's result to outlier detection and, for answers, the host's latency average. */
  observe(host: UpstreamHost, outcome: TryOutcome, latencyMs: number, now: number): void {
    if (outcome.kind === 'status') host.observeLatency(latencyMs, now);
    this.detector?.report(host, outcome);
  }

  /**
   * Rebuilds the balancers over the hosts that may take traffic. Too few healthy hosts (below
   * the panic threshold) and health is ignored, since sending everything to the few survivors
   * would only overload them too; with a local zone, its healthy hosts take traffic in
   * proportion to their health and the rest spills to the other zones.
   */
  private rebuild(): void {
    this.stale = false;
    const all = this.hosts;
    const healthy = all.filter((h) => h.healthy);
    const lb = this.cluster.settings.loadBalancer;
    this.panic = all.length > 0 && healthy.length * 100 < all.length * lb.panicThresholdPercent;
    const usable = this.panic ? all : healthy;
    this.local = undefined;
    this.remote = undefined;
    this.localShare = 1;
    const zone = this.localZone;
    const inZone = zone === undefined || this.panic ? 0 : all.filter((h) => h.zone === zone).length;
    if (inZone === 0) {
      if (usable.length > 0) this.local = createBalancer(usable, lb, this.random);
      return;
    }
    const near = usable.filter((h) => h.zone === zone);
    const far = usable.filter((h) => h.zone !== zone);
    if (near.length > 0) this.local = createBalancer(near, lb, this.random);
    if (far.length > 0) this.remote = createBalancer(far, lb, this.random);
    this.localShare = Math.min(1, (near.length / inZone) * OVERPROVISIONING);
  }
}
