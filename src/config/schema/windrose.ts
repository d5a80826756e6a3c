//! windrose.dev/v1alpha1 kinds: Backend (static endpoints) and BackendTrafficPolicy (its resilience
//! blocks are in resilience.ts).

import type { z } from 'zod';
import type { BackendSpec, BackendTrafficPolicySpec } from '../resources.js';
import { duration, group, ipAddress, kind, objectName, preciseHostname, sectionName } from './formats.js';
import { AT_KEY, int, list, strict, string } from './primitives.js';
import { portNumber } from './refs.js';
import { circuitBreaker, healthCheck, loadBalancer, percentage, retry } from './resilience.js';

const endpoint = strict({
  ip: ipAddress.optional(),
  hostname: preciseHostname.optional(),
  port: portNumber,
  zone: string({ min: 1 }).optional(),
  weight: int(1, 1_000_000).optional(),
}).superRefine((e, ctx) => {
  if (e.ip === undefined && e.hostname === undefined) ctx.addIssue({ code: 'custom', message: 'one of ip or hostname is required', path: [] });
  if (e.ip !== undefined && e.hostname !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'cannot be combined with ip; set only one of them', path: ['hostname'], params: AT_KEY });
  }
});

export const backendSpec: z.ZodType<BackendSpec> = strict({
  endpoints: list(endpoint, { min: 1 }),
  appProtocol: string({ min: 1, max: 253 }).optional(),
});

const positive = int(1).optional();

export const backendTrafficPolicySpec: z.ZodType<BackendTrafficPolicySpec> = strict({
  targetRefs: list(strict({ group, kind, name: objectName, sectionName: sectionName.optional() }), { min: 1, max: 16 }),
  timeout: strict({
    tcp: strict({ connectTimeout: duration.optional() }).optional(),
    http: strict({ requestTimeout: duration.optional(), idleTimeout: duration.optional(), streamIdleTimeout: duration.optional() }).optional(),
  }).optional(),
  connection: strict({
    http1: strict({ maxConnectionsPerEndpoint: positive }).optional(),
    http2: strict({ maxConcurrentStreams: positive, maxConnectionsPerEndpoint: positive }).optional(),
  }).optional(),
  faultInjection: strict({
    abort: strict({ httpStatus: int(200, 599), percentage: percentage.optional() }).optional(),
    delay: strict({ fixedDelay: duration, percentage: percentage.optional() }).optional(),
  }).optional(),
  loadBalancer: loadBalancer.optional(),
  healthCheck: healthCheck.optional(),
  circuitBreaker: circuitBreaker.optional(),
  retry: retry.optional(),
});
