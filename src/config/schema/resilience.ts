//! BackendTrafficPolicy's resilience blocks: loadBalancer, healthCheck, circuitBreaker and retry.
//! Shapes follow Envoy Gateway's BackendTrafficPolicy; the defaults live with the translator.

import type { z } from 'zod';
import type { CircuitBreakerSpec, HealthCheckSpec, LoadBalancerSpec, RetrySpec } from '../resources.js';
import { quantityBytes } from '../translate/durations.js';
import { duration, headerName } from './formats.js';
import { durationMs } from '../translate/durations.js';
import { HTTP_METHODS } from './httpfilters.js';
import { AT_KEY, bool, int, leaf, list, oneOf, show, strict, string, uniqueBy } from './primitives.js';

export const percentage = leaf<number>((v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100 ? undefined : `expected a number from 0 to 100, got ${show(v)}`);

/** Intervals drive timers, so zero (which `duration` accepts as "none") is refused. */
const interval = duration.refine((v) => durationMs(v) > 0, { error: (iss) => `must be longer than 0, got ${show(iss.input)}` });

/** A Kubernetes quantity, which may also be written as a plain number. */
const size = leaf<string | number>((v) =>
  (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && quantityBytes(v) !== undefined)
    ? undefined
    : `expected a number of bytes or a quantity such as "64Ki" or "1Mi" (suffixes k, M, G, Ki, Mi, Gi), got ${show(v)}`);

function uniqueCodes(codes: readonly number[], ctx: z.RefinementCtx): void {
  uniqueBy(codes, String, ctx, (code, first) => `duplicate status code ${code} (also at index ${first})`);
}

const statusCodes = (min: number) => list(int(min, 599), { min: 1 }).superRefine(uniqueCodes);

/** Reports `max` when it is shorter than `base`, whose default applies when it is not set. */
function notShorter(
  base: { value: string | undefined; field: string; fallback: string },
  max: { value: string | undefined; field: string },
  ctx: z.RefinementCtx,
): void {
  if (max.value === undefined) return;
  const baseText = base.value ?? `${base.fallback}, the default`;
  if (durationMs(max.value) < durationMs(base.value ?? base.fallback)) {
    ctx.addIssue({ code: 'custom', message: `must not be shorter than ${base.field} (${baseText}), got ${max.value}`, path: [max.field] });
  }
}

/** Each [field, value, type that uses it]: the field is required with its type and refused with any other. */
function onlyWithType(fields: readonly (readonly [string, unknown, string])[], type: string, typeText: string, ctx: z.RefinementCtx): void {
  for (const [field, value, owner] of fields) {
    if (owner === type && value === undefined) ctx.addIssue({ code: 'custom', message: `required when type is ${type}`, path: [field] });
    if (owner !== type && value !== undefined) {
      ctx.addIssue({ code: 'custom', message: `only allowed when type is ${owner}, but type is ${typeText}`, path: [field], params: AT_KEY });
    }
  }
}

const consistentHash = strict({
  type: oneOf(['Header', 'Cookie', 'SourceIP']),
  header: strict({ name: headerName }).optional(),
  cookie: strict({ name: string({ min: 1, max: 256 }) }).optional(),
}).superRefine((h, ctx) => onlyWithType([['header', h.header, 'Header'], ['cookie', h.cookie, 'Cookie']], h.type, h.type, ctx));

export const loadBalancer: z.ZodType<LoadBalancerSpec> = strict({
  type: oneOf(['RoundRobin', 'LeastRequest', 'Random', 'ConsistentHash']).optional(),
  consistentHash: consistentHash.optional(),
  panicThreshold: percentage.optional(),
}).superRefine((lb, ctx) =>
  onlyWithType([['consistentHash', lb.consistentHash, 'ConsistentHash']], lb.type ?? 'RoundRobin', lb.type ?? 'RoundRobin (the default)', ctx));

const active = strict({
  type: oneOf(['HTTP']),
  http: strict({
    path: string({ min: 1, max: 1024, format: (v) => (v.startsWith('/') ? undefined : `invalid path ${show(v)}: must start with "/"`) }),
    method: oneOf(HTTP_METHODS).optional(),
    expectedStatuses: statusCodes(100).optional(),
  }),
  interval: interval.optional(),
  timeout: interval.optional(),
  healthyThreshold: int(1).optional(),
  unhealthyThreshold: int(1).optional(),
});

const passive = strict({
  interval: interval.optional(),
  consecutive5XxErrors: int(0).optional(),
  consecutiveGatewayErrors: int(0).optional(),
  baseEjectionTime: interval.optional(),
  maxEjectionTime: interval.optional(),
  maxEjectionPercent: int(0, 100).optional(),
  successRate: strict({ minimumHosts: int(1).optional(), requestVolume: int(1).optional(), stdevFactor: int(1).optional() }).optional(),
}).superRefine((p, ctx) =>
  notShorter({ value: p.baseEjectionTime, field: 'baseEjectionTime', fallback: '30s' }, { value: p.maxEjectionTime, field: 'maxEjectionTime' }, ctx));

export const healthCheck: z.ZodType<HealthCheckSpec> = strict({ active: active.optional(), passive: passive.optional() });

export const circuitBreaker: z.ZodType<CircuitBreakerSpec> = strict({
  maxConnections: int(1).optional(),
  maxPendingRequests: int(1).optional(),
  maxParallelRequests: int(1).optional(),
  maxParallelRetries: int(0).optional(),
});

const retryOn = strict({
  triggers: list(oneOf(['connect-failure', 'reset', 'retriable-status-codes']), { min: 1 })
    .superRefine((ts, ctx) => uniqueBy(ts, String, ctx, (t, first) => `duplicate trigger ${show(t)} (also at index ${first})`))
    .optional(),
  httpStatusCodes: statusCodes(400).optional(),
  nonIdempotent: bool.optional(),
}).superRefine((r, ctx) => {
  // Codes without their trigger would be silently ignored.
  if (r.httpStatusCodes !== undefined && r.triggers !== undefined && !r.triggers.includes('retriable-status-codes')) {
    ctx.addIssue({ code: 'custom', message: 'have no effect unless triggers include "retriable-status-codes"; add it there', path: ['httpStatusCodes'], params: AT_KEY });
  }
});

export const retry: z.ZodType<RetrySpec> = strict({
  numRetries: int(0).optional(),
  retryOn: retryOn.optional(),
  perRetry: strict({
    timeout: duration.optional(),
    backOff: strict({ baseInterval: interval.optional(), maxInterval: interval.optional() })
      .superRefine((b, ctx) =>
        notShorter({ value: b.baseInterval, field: 'baseInterval', fallback: '25ms' }, { value: b.maxInterval, field: 'maxInterval' }, ctx))
      .optional(),
  }).optional(),
  maxBodySize: size.optional(),
  budget: strict({
    percent: percentage.optional(),
    minRetriesPerSecond: int(0).optional(),
    interval: interval.optional(),
    disabled: bool.optional(),
  }).optional(),
});
