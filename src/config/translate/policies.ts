//! BackendTrafficPolicy attachment: targetRefs to a Gateway, one of its listeners, or an HTTPRoute,
//! and in the mesh to a Service or an HTTPRoute; fields merge with the narrower target winning
//! (route over listener over gateway; route over Service). Timeouts and connection limits merge
//! field by field; each block with a meaning of its own (faultInjection, loadBalancer, healthCheck,
//! circuitBreaker, retry) is taken whole from the narrowest policy.

import type { CircuitBreakerSettings, ClusterSettings, LoadBalancerSettings, UpstreamProtocol, UpstreamTLS } from '../model.js';
import { GATEWAY_GROUP, type BackendTrafficPolicySpec, type HTTPRoute, type Service } from '../resources.js';
import type { ResourceStatus } from '../status.js';
import { attachPolicies, gatewayChain, gatewayTargets, targetKey } from './attachment.js';
import { durationMs } from './durations.js';
import type { ListenerInfo } from './gateways.js';
import { key, nsOf, type ResourceIndex } from './index-resources.js';
import {
  circuitBreakerOf, DEFAULT_CIRCUIT_BREAKER, DEFAULT_LOAD_BALANCER, healthOf, loadBalancerOf, policyRetryOf, retryBudgetOf,
  type HealthSettings, type PolicyRetry,
} from './resilience.js';

export interface TrafficSettings {
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly http1MaxConnections?: number;
  readonly http2MaxConcurrentStreams?: number;
  readonly streamIdleMs?: number;
  readonly fault?: FaultSpec;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly health?: HealthSettings;
  readonly circuitBreaker?: CircuitBreakerSettings;
  /** Whether the policy names maxParallelRetries itself, rather than taking the default. */
  readonly retryLimitSet?: boolean;
  readonly retry?: PolicyRetry;
}

export interface FaultSpec {
  readonly abort?: { readonly status: number; readonly fraction: number };
  readonly delay?: { readonly ms: number; readonly fraction: number };
}

export const DEFAULT_CLUSTER: Omit<ClusterSettings, 'protocol'> = {
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  http1MaxConnections: 1024,
  http2MaxConcurrentStreams: 100,
  loadBalancer: DEFAULT_LOAD_BALANCER,
  circuitBreaker: DEFAULT_CIRCUIT_BREAKER,
};

/** Envoy's default stream idle timeout. */
export const DEFAULT_STREAM_IDLE_MS = 300_000;

function settingsOf(spec: BackendTrafficPolicySpec): TrafficSettings {
  const s: { -readonly [K in keyof TrafficSettings]: TrafficSettings[K] } = {};
  if (spec.timeout?.tcp?.connectTimeout) s.connectTimeoutMs = durationMs(spec.timeout.tcp.connectTimeout);
  if (spec.timeout?.http?.requestTimeout) s.requestTimeoutMs = durationMs(spec.timeout.http.requestTimeout);
  if (spec.timeout?.http?.idleTimeout) s.idleTimeoutMs = durationMs(spec.timeout.http.idleTimeout);
  if (spec.timeout?.http?.streamIdleTimeout) s.streamIdleMs = durationMs(spec.timeout.http.streamIdleTimeout);
  const h1 = spec.connection?.http1?.maxConnectionsPerEndpoint;
  if (h1 !== undefined) s.http1MaxConnections = h1;
  const h2 = spec.connection?.http2?.maxConcurrentStreams;
  if (h2 !== undefined) s.http2MaxConcurrentStreams = h2;
  const f = spec.faultInjection;
  if (f?.abort || f?.delay) {
    s.fault = {
      ...(f.abort ? { abort: { status: f.abort.httpStatus, fraction: (f.abort.percentage ?? 100) / 100 } } : {}),
      ...(f.delay ? { delay: { ms: durationMs(f.delay.fixedDelay), fraction: (f.delay.percentage ?? 100) / 100 } } : {}),
    };
  }
  if (spec.loadBalancer) s.loadBalancer = loadBalancerOf(spec.loadBalancer);
  if (spec.healthCheck) s.health = healthOf(spec.healthCheck);
  if (spec.circuitBreaker) {
    s.circuitBreaker = circuitBreakerOf(spec.circuitBreaker);
    s.retryLimitSet = spec.circuitBreaker.maxParallelRetries !== undefined;
  }
  if (spec.retry) s.retry = policyRetryOf(spec.retry);
  return s;
}

export interface PolicyResult {
  readonly statuses: ResourceStatus[];
  /** Effective settings for a route on a listener. */
  readonly effective: (listener: ListenerInfo, route: HTTPRoute) => TrafficSettings;
}


export function translateTrafficPolicies(idx: ResourceIndex, listeners: readonly ListenerInfo[]): PolicyResult {
  const { byTarget, statuses } = attachPolicies(idx.trafficPolicies, gatewayTargets(idx, listeners), (p) => settingsOf(p.spec));
  return {
    statuses,
    effective: (listener, route) => Object.assign({}, ...gatewayChain(byTarget, listener, route).reverse()) as TrafficSettings,
  };
}

export interface MeshPolicyResult {
  readonly statuses: ResourceStatus[];
  /** Effective settings for calls to a Service, through one of its mesh routes when given. */
  readonly effective: (service: Service, route: HTTPRoute | undefined) => TrafficSettings;
}

export function translateMeshTrafficPolicies(idx: ResourceIndex): MeshPolicyResult {
  const { byTarget, statuses } = attachPolicies(idx.trafficPolicies, (ref, ns) => {
    // A Service's sectionName (one port) is not applied separately; the whole Service is the target.
    if (ref.group === '' && ref.kind === 'Service') return ref.sectionName === undefined && idx.services.has(key(ns, ref.name));
    if (ref.group !== GATEWAY_GROUP) return false;
    if (ref.kind === 'Gateway') return undefined;
    return ref.kind === 'HTTPRoute' && ref.sectionName === undefined && idx.routes.some((r) => nsOf(r) === ns && r.metadata.name === ref.name);
  }, (p) => settingsOf(p.spec));
  return {
    statuses,
    effective(service, route) {
      return {
        ...byTarget.get(targetKey('Service', nsOf(service), service.metadata.name)),
        ...(route ? byTarget.get(targetKey('HTTPRoute', nsOf(route), route.metadata.name)) : {}),
      };
    },
  };
}

/** `retrying`: whether the rule sending to the cluster retries, which is what a budget is for; `tls` from the backend's BackendTLSPolicy. */
export function clusterSettings(protocol: UpstreamProtocol, s: TrafficSettings, retrying: boolean, tls?: UpstreamTLS): ClusterSettings {
  const budget = retrying ? retryBudgetOf(s.retry) : undefined;
  return {
    protocol,
    connectTimeoutMs: s.connectTimeoutMs ?? DEFAULT_CLUSTER.connectTimeoutMs,
    idleTimeoutMs: s.idleTimeoutMs ?? DEFAULT_CLUSTER.idleTimeoutMs,
    http1MaxConnections: s.http1MaxConnections ?? DEFAULT_CLUSTER.http1MaxConnections,
    http2MaxConcurrentStreams: s.http2MaxConcurrentStreams ?? DEFAULT_CLUSTER.http2MaxConcurrentStreams,
    loadBalancer: s.loadBalancer ?? DEFAULT_CLUSTER.loadBalancer,
    ...(s.health?.active ? { healthCheck: s.health.active } : {}),
    ...(s.health?.outlier ? { outlier: s.health.outlier } : {}),
    circuitBreaker: retryLimit(s.circuitBreaker ?? DEFAULT_CLUSTER.circuitBreaker, budget !== undefined && s.retryLimitSet !== true),
    ...(budget ? { retryBudget: budget } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * As in Envoy, a retry budget takes the place of the default limit on retries in flight: the
 * budget scales with traffic, where a fixed 3 would refuse most retries of a busy backend the
 * moment one endpoint fails. A limit the policy names itself still applies.
 */
function retryLimit(breaker: CircuitBreakerSettings, budgeted: boolean): CircuitBreakerSettings {
  return budgeted ? { ...breaker, maxRetries: Infinity } : breaker;
}
