//! What a route guarded by a SecurityPolicy that cannot be applied serves: an error for every
//! request, as Envoy Gateway does, rather than the route without its guard.

import type { Filter, LocalResponse } from '../filter.js';

export function invalidPolicyFilter(policy: string): Filter {
  const refused: LocalResponse = { status: 500, errorCode: 'security_policy_invalid', message: `the security policy ${policy} could not be applied` };
  return { name: 'SecurityPolicy', onRequest: () => refused };
}
