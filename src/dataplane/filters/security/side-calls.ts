//! undici's request() and Agent for the calls security filters make beside a request (identity
//! providers, JWKS, authorization services), loaded by the first such call: about 1 MB that a
//! gateway without those policies never needs. Imported by path, as the upstream pools do:
//! undici's index also loads fetch, WebSocket and caches.

import type { Agent, Dispatcher } from 'undici';

export interface SideCalls {
  readonly request: (dispatcher: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  readonly Agent: typeof Agent;
}

let loading: Promise<SideCalls> | undefined;

export function sideCalls(): Promise<SideCalls> {
  return (loading ??= Promise.all([import('undici/lib/api/api-request.js'), import('undici/lib/dispatcher/agent.js')])
    .then(([r, a]) => ({ request: (dispatcher, opts) => r.default.call(dispatcher, opts), Agent: a.default })));
}
