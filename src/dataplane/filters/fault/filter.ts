//! Fault injection (BackendTrafficPolicy faultInjection): holds a share of requests for a fixed delay
//! and answers a share with the configured status, so failures can be rehearsed on real traffic.
//! The delay comes first, as in Envoy: a request may be both delayed and then aborted.

import type { FaultSpec } from '../../../config/translate/policies.js';
import type { Filter, FilterOutcome, LocalResponse } from '../filter.js';

export function faultInjection(spec: FaultSpec, random: () => number = Math.random): Filter {
  const abort: LocalResponse | undefined = spec.abort && {
    status: spec.abort.status,
    errorCode: 'fault_injected',
    message: `fault injected by policy: ${spec.abort.status}`,
  };
  const decideAbort = (): FilterOutcome => (abort && random() < spec.abort!.fraction ? abort : undefined);
  const delay = spec.delay;
  return {
    name: 'FaultInjection',
    onRequest(): FilterOutcome | Promise<FilterOutcome> {
      if (delay && random() < delay.fraction) {
        return new Promise((resolve) => setTimeout(() => resolve(decideAbort()), delay.ms));
      }
      return decideAbort();
    },
  };
}
