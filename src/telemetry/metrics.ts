//! Prometheus metrics. Series are bound once per route target and reused, so the hot path
//! pays one array lookup and an increment per request. Names map to Envoy's and Istio's in docs/metrics.md.

import type { RuleTarget } from '../config/model.js';
import { Counter, Histogram, MetricRegistry, type CounterSeries, type HistogramSeries } from './series.js';

/** Request-path metrics; in a multi-worker gateway each worker's copy is summed by the primary. */
export const dataPlaneRegistry = new MetricRegistry();
/** Config metrics, owned by the process that watches the config (the primary when there are workers). */
export const configRegistry = new MetricRegistry();

const requests = new Counter(
  'windrose_http_requests_total',
  'Downstream HTTP requests answered, by listener, route, backend and status class.',
  dataPlaneRegistry,
);

const duration = new Histogram(
  'windrose_http_request_duration_seconds',
  'Time from receiving a request to finishing its response, by listener and route.',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  dataPlaneRegistry,
);

const reloads = new Counter(
  'windrose_config_reloads_total',
  'Configuration changes seen, by result (accepted or rejected).',
  configRegistry,
);
const reloadsAccepted = reloads.bind({ result: 'accepted' });
const reloadsRejected = reloads.bind({ result: 'rejected' });

const configVersion = new Counter('windrose_config_version', 'Version of the snapshot being served.', configRegistry, 'gauge');

type CounterChild = CounterSeries;
type HistogramChild = HistogramSeries;

interface BoundRoute {
  readonly duration: HistogramChild;
  /** [backend index + 1][status class]; row 0 counts answers given before a backend was chosen. */
  readonly counts: CounterChild[][];
}

const bound = new WeakMap<RuleTarget, BoundRoute>();
const unrouted = new Map<string, { duration: HistogramChild; counts: CounterChild[] }>();
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** 0 for 1xx … 4 for 5xx; anything outside 100-599 counts as 5xx. */
function classIndex(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c - 1 : 4;
}

function bind(target: RuleTarget): BoundRoute {
  const names = ['', ...target.backends.map((b) => b.cluster?.name ?? 'unresolved')];
  const b: BoundRoute = {
    duration: duration.bind({ listener: target.listenerName, route: target.routeName }),
    counts: names.map((backend) => CLASSES.map((cls) => requests.bind({ listener: target.listenerName, route: target.routeName, backend, code_class: cls }))),
  };
  bound.set(target, b);
  return b;
}

/** Records a request answered by a route; backendIndex is -1 when no backend was chosen (local response). */
export function recordRouted(target: RuleTarget, backendIndex: number, status: number, seconds: number): void {
  const b = bound.get(target) ?? bind(target);
  b.duration.observe(seconds);
  b.counts[backendIndex + 1][classIndex(status)].inc();
}

/** Records a request no route answered (404, malformed) on a listener port. */
export function recordUnrouted(listener: string, status: number, seconds: number): void {
  let u = unrouted.get(listener);
  if (u === undefined) {
    u = { duration: duration.bind({ listener, route: '' }), counts: CLASSES.map((cls) => requests.bind({ listener, route: '', backend: '', code_class: cls })) };
    unrouted.set(listener, u);
  }
  u.duration.observe(seconds);
  u.counts[classIndex(status)].inc();
}

export function recordReload(accepted: boolean): void {
  (accepted ? reloadsAccepted : reloadsRejected).inc();
}

export function recordConfigVersion(version: number): void {
  configVersion.set({}, version);
}

const retries = new Counter('windrose_upstream_retries_total', 'Retries sent to a backend.', dataPlaneRegistry);
const budgetExhausted = new Counter(
  'windrose_upstream_retry_budget_exhausted_total',
  'Retries not sent because the retry budget was spent.',
  dataPlaneRegistry,
);
const overflow = new Counter(
  'windrose_upstream_overflow_total',
  'Requests or retries refused by a circuit breaker, by limit (requests, pending, retries).',
  dataPlaneRegistry,
);
const ejections = new Counter(
  'windrose_upstream_ejections_total',
  'Endpoints ejected by outlier detection, by reason.',
  dataPlaneRegistry,
);
const healthChanges = new Counter(
  'windrose_upstream_health_transitions_total',
  'Endpoints active health checks found down or back up, by new state (unhealthy or healthy).',
  dataPlaneRegistry,
);
const panics = new Counter(
  'windrose_upstream_panic_total',
  'Requests balanced over all endpoints because too few were healthy (panic mode).',
  dataPlaneRegistry,
);
const endpoints = new Counter(
  'windrose_upstream_endpoints',
  'Endpoints of a backend by state (healthy, unhealthy, ejected), as this process sees them.',
  dataPlaneRegistry,
  'gauge',
);

/** The series of one backend, bound once when its runtime state is created. */
export interface UpstreamSeries {
  readonly retries: CounterSeries;
  readonly budgetExhausted: CounterSeries;
  readonly overflow: Readonly<Record<'requests' | 'pending' | 'retries', CounterSeries>>;
  readonly ejected: (reason: string) => void;
  readonly healthChanged: (healthy: boolean) => void;
  readonly panic: CounterSeries;
  readonly endpoints: (healthy: number, unhealthy: number, ejected: number) => void;
}

export function upstreamSeries(backend: string): UpstreamSeries {
  const l = { backend };
  return {
    retries: retries.bind(l),
    budgetExhausted: budgetExhausted.bind(l),
    overflow: {
      requests: overflow.bind({ backend, limit: 'requests' }),
      pending: overflow.bind({ backend, limit: 'pending' }),
      retries: overflow.bind({ backend, limit: 'retries' }),
    },
    ejected: (reason) => ejections.bind({ backend, reason }).inc(),
    healthChanged: (healthy) => healthChanges.bind({ backend, state: healthy ? 'healthy' : 'unhealthy' }).inc(),
    panic: panics.bind(l),
    endpoints: (healthy, unhealthy, ejected) => {
      endpoints.set({ backend, state: 'healthy' }, healthy);
      endpoints.set({ backend, state: 'unhealthy' }, unhealthy);
      endpoints.set({ backend, state: 'ejected' }, ejected);
    },
  };
}

const authorizationDecisions = new Counter(
  'windrose_authorization_decisions_total',
  'Requests AuthorizationPolicies allowed or denied, by decision and deciding policy ("" for the default).',
  dataPlaneRegistry,
);
const authorizationAudits = new Counter(
  'windrose_authorization_audits_total',
  'Requests an AUDIT AuthorizationPolicy matched, by policy.',
  dataPlaneRegistry,
);

/** `policy`: namespace/name of the policy that decided, or "" when no policy matched and the default decided. */
export function authorizationDecisionSeries(decision: 'allow' | 'deny', policy: string): CounterSeries {
  return authorizationDecisions.bind({ decision, policy });
}

export function authorizationAuditSeries(policy: string): CounterSeries {
  return authorizationAudits.bind({ policy });
}

const jwksFetches = new Counter(
  'windrose_jwt_jwks_fetches_total',
  'Fetches of remote JWKS by SecurityPolicy JWT providers, by result (success or failure).',
  dataPlaneRegistry,
);

export function jwksFetchSeries(result: 'success' | 'failure'): CounterSeries {
  return jwksFetches.bind({ result });
}

const wafRequests = new Counter(
  'windrose_waf_requests_total',
  'Requests a SecurityPolicy WAF scored at or above its anomaly threshold, by policy and action (blocked, or detected in Detect mode).',
  dataPlaneRegistry,
);

/** `policy`: namespace/name of the SecurityPolicy whose WAF scored the request. */
export function wafSeries(policy: string, action: 'blocked' | 'detected'): CounterSeries {
  return wafRequests.bind({ policy, action });
}
