//! BackendTrafficPolicy's resilience blocks to model settings, with their defaults, and the merge
//! of a policy's retry block with an HTTPRoute rule's own `retry` field (GEP-1731).

import type {
  CircuitBreakerSettings, HashOn, HealthCheckSettings, LoadBalancerSettings, OutlierSettings, RetryBudgetSettings, RetryPolicy, RetryTrigger,
} from '../model.js';
import type { CircuitBreakerSpec, HealthCheckSpec, HTTPRouteRetry, LoadBalancerSpec, RetrySpec } from '../resources.js';
import { durationMs, quantityBytes } from './durations.js';

export const DEFAULT_LOAD_BALANCER: LoadBalancerSettings = { type: 'RoundRobin', panicThresholdPercent: 50 };

/** Envoy's defaults, so a breaker only trips on load that would hurt anyway. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerSettings = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

/** Linkerd's defaults: retries add at most 20% load, with 10 a second allowed regardless. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetSettings = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** What a rule's `retry` field alone means: GEP-1731 leaves attempts and codes to the implementation. */
const ROUTE_RETRY_DEFAULTS: RetryPolicy = {
  retries: 2,
  on: new Set(['connect-failure', 'reset', 'retriable-status-codes']),
  statusCodes: new Set([502, 503, 504]),
  nonIdempotent: false,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
};

const ms = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : durationMs(text));

function hashOn(h: NonNullable<LoadBalancerSpec['consistentHash']>): HashOn {
  switch (h.type) {
    // Header names are matched case-insensitively, so the data plane can look them up lowercased.
    case 'Header': return { kind: 'header', name: (h.header?.name ?? '').toLowerCase() };
    case 'Cookie': return { kind: 'cookie', name: h.cookie?.name ?? '' };
    case 'SourceIP': return { kind: 'sourceIP' };
  }
}

export function loadBalancerOf(lb: LoadBalancerSpec): LoadBalancerSettings {
  return {
    type: lb.type ?? DEFAULT_LOAD_BALANCER.type,
    ...(lb.consistentHash ? { hashOn: hashOn(lb.consistentHash) } : {}),
    panicThresholdPercent: lb.panicThreshold ?? DEFAULT_LOAD_BALANCER.panicThresholdPercent,
  };
}

/** Active checks and outlier detection come from one block, so a narrower policy replaces both. */
export interface HealthSettings {
  readonly active?: HealthCheckSettings;
  readonly outlier?: OutlierSettings;
}

export function healthOf(spec: HealthCheckSpec): HealthSettings {
  const { active: a, passive: p } = spec;
  const baseEjectionMs = ms(p?.baseEjectionTime, 30_000);
  return {
    ...(a ? {
      active: {
        path: a.http.path,
        method: a.http.method ?? 'GET',
        intervalMs: ms(a.interval, 3000),
        timeoutMs: ms(a.timeout, 1000),
        healthyThreshold: a.healthyThreshold ?? 1,
        unhealthyThreshold: a.unhealthyThreshold ?? 3,
        expectedStatuses: (a.http.expectedStatuses ?? [200]).map((s) => [s, s] as const),
      },
    } : {}),
    ...(p ? {
      outlier: {
        intervalMs: ms(p.interval, 3000),
        consecutive5xx: p.consecutive5XxErrors ?? 5,
        consecutiveGatewayErrors: p.consecutiveGatewayErrors ?? 0,
        baseEjectionMs,
        // As in Envoy, an unset maximum never cuts the base ejection time short.
        maxEjectionMs: p.maxEjectionTime !== undefined ? durationMs(p.maxEjectionTime) : Math.max(300_000, baseEjectionMs),
        maxEjectionPercent: p.maxEjectionPercent ?? 10,
        ...(p.successRate ? {
          successRate: {
            minimumHosts: p.successRate.minimumHosts ?? 5,
            requestVolume: p.successRate.requestVolume ?? 100,
            stdevFactor: p.successRate.stdevFactor ?? 1900,
          },
        } : {}),
      },
    } : {}),
  };
}

export function circuitBreakerOf(cb: CircuitBreakerSpec): CircuitBreakerSettings {
  const d = DEFAULT_CIRCUIT_BREAKER;
  return {
    maxConnections: cb.maxConnections ?? d.maxConnections,
    maxPendingRequests: cb.maxPendingRequests ?? d.maxPendingRequests,
    maxRequests: cb.maxParallelRequests ?? d.maxRequests,
    maxRetries: cb.maxParallelRetries ?? d.maxRetries,
  };
}

/** A policy's retry block, before a rule's own `retry` field is laid over it. */
export interface PolicyRetry {
  readonly policy: RetryPolicy;
  /** Set when maxInterval was given; otherwise the maximum follows a rule's backoff (10 x base). */
  readonly backoffMaxSet: boolean;
  /** Bounds each try even when there are no retries; a rule's backendRequest timeout wins over it. */
  readonly perTryTimeoutMs: number;
  /** Undefined when the policy turns the budget off. */
  readonly budget?: RetryBudgetSettings;
}

export function policyRetryOf(r: RetrySpec): PolicyRetry {
  const codes = r.retryOn?.httpStatusCodes;
  const on: RetryTrigger[] = [...(r.retryOn?.triggers ?? ['connect-failure', 'reset', ...(codes ? ['retriable-status-codes' as const] : [])])];
  const baseMs = ms(r.perRetry?.backOff?.baseInterval, 25);
  const size = r.maxBodySize;
  const b = r.budget;
  return {
    policy: {
      retries: r.numRetries ?? 2,
      on: new Set(on),
      // The status trigger named without codes means the usual gateway failures.
      statusCodes: new Set(codes ?? (on.includes('retriable-status-codes') ? ROUTE_RETRY_DEFAULTS.statusCodes : [])),
      nonIdempotent: r.retryOn?.nonIdempotent ?? false,
      backoffBaseMs: baseMs,
      backoffMaxMs: ms(r.perRetry?.backOff?.maxInterval, 10 * baseMs),
      maxBodyBytes: size === undefined ? DEFAULT_MAX_BODY_BYTES : typeof size === 'number' ? size : (quantityBytes(size) ?? DEFAULT_MAX_BODY_BYTES),
    },
    backoffMaxSet: r.perRetry?.backOff?.maxInterval !== undefined,
    perTryTimeoutMs: ms(r.perRetry?.timeout, 0),
    ...(b?.disabled === true ? {} : {
      budget: {
        ratio: (b?.percent ?? DEFAULT_RETRY_BUDGET.ratio * 100) / 100,
        minPerSecond: b?.minRetriesPerSecond ?? DEFAULT_RETRY_BUDGET.minPerSecond,
        windowMs: ms(b?.interval, DEFAULT_RETRY_BUDGET.windowMs),
      },
    }),
  };
}

/**
 * A rule's retry policy: the policy's block with the rule's `retry` fields over it, each field on
 * its own. Undefined when neither asks for retries, or when they come to zero retries.
 */
export function retryPolicy(fromPolicy: PolicyRetry | undefined, rule: HTTPRouteRetry | undefined): RetryPolicy | undefined {
  if (fromPolicy === undefined && rule === undefined) return undefined;
  const base = fromPolicy?.policy ?? ROUTE_RETRY_DEFAULTS;
  let merged: RetryPolicy = { ...base, retries: rule?.attempts ?? base.retries };
  if (rule?.codes !== undefined) {
    const on = new Set(base.on);
    if (rule.codes.length > 0) on.add('retriable-status-codes');
    else on.delete('retriable-status-codes');
    merged = { ...merged, on, statusCodes: new Set(rule.codes) };
  }
  if (rule?.backoff !== undefined) {
    const backoffBaseMs = durationMs(rule.backoff);
    const backoffMaxMs = fromPolicy?.backoffMaxSet === true ? Math.max(base.backoffMaxMs, backoffBaseMs) : 10 * backoffBaseMs;
    merged = { ...merged, backoffBaseMs, backoffMaxMs };
  }
  return merged.retries > 0 ? merged : undefined;
}

/** The budget of a cluster that a retrying rule sends to: the policy's, or the default without one. */
export function retryBudgetOf(fromPolicy: PolicyRetry | undefined): RetryBudgetSettings | undefined {
  return fromPolicy === undefined ? DEFAULT_RETRY_BUDGET : fromPolicy.budget;
}
