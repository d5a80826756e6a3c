//! The catalogue of errors a client can see: one code, one HTTP status, one meaning each.
//! docs/errors.md lists the same codes; a test keeps the two in step.

export interface ErrorSpec {
  readonly status: number;
  readonly meaning: string;
}

export const ERRORS = {
  bad_request: { status: 400, meaning: 'The request is malformed: bad framing, conflicting Content-Length and Transfer-Encoding, or invalid header characters.' },
  request_header_timeout: { status: 408, meaning: 'The client did not send the complete request head in time.' },
  unauthenticated: { status: 401, meaning: 'A SecurityPolicy requires credentials the request did not carry or that did not verify (missing, expired or invalid token or key); WWW-Authenticate names the scheme.' },
  mtls_required: { status: 403, meaning: 'A mesh sidecar in STRICT mode got a plaintext request; callers must use mutual TLS with a mesh identity.' },
  client_certificate_required: { status: 403, meaning: 'A SecurityPolicy tls block requires a verified TLS client certificate and the request came over a listener without TLS.' },
  access_denied: { status: 403, meaning: 'A policy denied the request: an AuthorizationPolicy (a DENY rule matched, or ALLOW policies exist and none matched), a SecurityPolicy authorization rule (client address, claims, scopes), or a SecurityPolicy external authorization service (whose own 4xx status the client then gets).' },
  request_blocked: { status: 403, meaning: 'The SecurityPolicy WAF found an attack in the request (its anomaly score reached the threshold); the gateway log names the rules that matched.' },
  ext_authz_failed: { status: 403, meaning: 'The external authorization service of a SecurityPolicy could not decide (unreachable, timed out, or answered 5xx) and the policy fails closed; 403 as Envoy ext_authz answers by default.' },
  route_not_found: { status: 404, meaning: 'No route on this listener matches the request host, path, method, headers and query.' },
  payload_too_large: { status: 413, meaning: 'The request body is larger than the listener allows, or larger than a SecurityPolicy WAF inspects when the WAF rejects such bodies (onOversize: Reject).' },
  misdirected_request: { status: 421, meaning: 'The request names a host whose listener requires a TLS client certificate, but its connection was opened (TLS handshake, SNI) for another host; open a new connection to this host.' },
  headers_too_large: { status: 431, meaning: 'The request headers are larger than the listener allows.' },
  backend_not_resolved: { status: 500, meaning: 'The route rule names a backend that could not be resolved (missing, not permitted, or of an unsupported kind).' },
  filter_not_supported: { status: 500, meaning: 'The route rule uses a filter windrose does not support; Gateway API says such requests get an error rather than skip the filter.' },
  security_policy_invalid: { status: 500, meaning: 'The SecurityPolicy that guards this route could not be applied (its status says why), so the route refuses every request rather than serve it unguarded.' },
  internal_error: { status: 500, meaning: 'windrose failed while handling the request; the log has the details.' },
  connect_not_supported: { status: 501, meaning: 'CONNECT tunnels are not served: send the request itself (in the mesh the application speaks plain HTTP and the sidecars encrypt).' },
  upstream_reset: { status: 502, meaning: 'The backend closed or reset the connection before sending a complete response head.' },
  upstream_bad_response: { status: 502, meaning: 'The backend answered with something that is not valid HTTP.' },
  auth_unavailable: { status: 503, meaning: 'The identity provider a SecurityPolicy relies on (OAuth2 token introspection, OpenID Connect discovery, keys or token endpoint; the API-key store, before a gateway process first loaded its keys) could not be reached or gave no usable answer, so the credential could not be checked.' },
  upstream_connect_failed: { status: 503, meaning: 'No connection to the backend could be made (refused, unreachable, connect timeout, or a TLS handshake in which the backend certificate did not verify).' },
  no_healthy_upstream: { status: 503, meaning: 'The backend has no endpoints to send the request to.' },
  overloaded: { status: 503, meaning: 'A circuit breaker of the backend refused the request: too many requests in flight or waiting for a connection.' },
  fault_injected: { status: 503, meaning: 'A BackendTrafficPolicy faultInjection answered the request; the status is the one the policy names (503 here is only the catalogue default).' },
  upstream_timeout: { status: 504, meaning: 'The backend did not answer within the route or policy timeout.' },
  request_timeout: { status: 504, meaning: 'The whole request did not complete within the route request timeout.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** The JSON body every error response carries; never includes stacks, secrets or internal addresses. */
export function errorBody(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, requestId } });
}
