//! Which failed tries a retry policy allows to be tried again.

import type { RetryPolicy, RetryTrigger } from '../../../config/model.js';

/** Methods RFC 9110 §9.2.2 calls idempotent: sending one twice has the effect of sending it once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Whether a try that failed this way may be retried under `policy` for `method`. A connect
 * failure never reached the backend, so any method may be retried after one; anything else may
 * have had effects, so only idempotent methods are, unless the policy says otherwise.
 */
export function retriable(policy: RetryPolicy, method: string, trigger: RetryTrigger, status = 0): boolean {
  if (!policy.on.has(trigger)) return false;
  if (trigger === 'retriable-status-codes' && !policy.statusCodes.has(status)) return false;
  return trigger === 'connect-failure' || policy.nonIdempotent || IDEMPOTENT.has(method);
}
