//! The filter interface: every feature that acts on a request plugs in here without touching the core.
//! A filter steers the chain by what it returns — nothing (continue) or a local response (respond) —
//! and the chain performs the exit; filters never write to the socket themselves.

import type { HeaderList } from '../headers.js';

/** The request as it will be sent upstream; filters may change it. */
export interface ProxyRequest {
  method: string;
  /** Path without the query, normalized (src/dataplane/normalize-path.ts): the path routing matched and the backend gets. */
  path: string;
  /** Raw query without '?', '' when absent. */
  query: string;
  /** Host (HTTP/1.1) or :authority (HTTP/2) as the client sent it. */
  authority: string;
  readonly headers: HeaderList;
  readonly scheme: 'http' | 'https';
  readonly clientAddress: string;
  /** The SPIFFE ID of the caller's verified client certificate (mesh inbound ports); undefined otherwise. */
  readonly peer: string | undefined;
  /** The client certificate the TLS handshake of the request's connection verified (SecurityPolicy `tls`); undefined when none. */
  readonly clientCertificate?: import('../listeners/client-certificate.js').ClientCertificate;
  /** The local port the request arrived on. */
  readonly port: number;
  readonly requestId: string;
  /** The PathPrefix that selected the rule, when the match was a prefix (for ReplacePrefixMatch). */
  readonly matchedPrefix: string | undefined;
  /** "namespace/name" of the HTTPRoute that matched, for logs; the proxy sets it on every routed request. */
  readonly route?: string;
  /** Clusters that get a fire-and-forget copy of this request (RequestMirror). */
  mirrors: import('../../config/model.js').Cluster[] | undefined;
  /** Who the caller proved to be, set by the authentication filter that verified it; undefined for anonymous calls. */
  identity: RequestIdentity | undefined;
}

/** A caller verified by a SecurityPolicy mechanism, for the filters after it (authorization, rate limits, billing). */
export interface RequestIdentity {
  readonly method: 'jwt' | 'apiKey' | 'oauth2' | 'oidc' | 'clientCertificate' | 'extAuth';
  /** The JWT `sub`, the key's consumer, the introspected token's subject, the certificate's subject. */
  readonly subject: string;
  /** The provider (a JWT provider's name, an OIDC provider's issuer) that verified it. */
  readonly provider?: string;
  /** The consumer the credential belongs to, known to rate limits and billing. */
  readonly consumer?: string;
  /** A JWT's or introspection answer's claims, for claim and scope requirements. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface ProxyResponseHead {
  status: number;
  readonly headers: HeaderList;
}

/** A response produced by windrose itself (redirect, denial, error). */
export interface LocalResponse {
  readonly status: number;
  readonly headers?: readonly (readonly [string, string])[];
  /** An error code from the catalogue; the chain renders the JSON error body. */
  readonly errorCode?: import('../../errors.js').ErrorCode;
  readonly message?: string;
}

export type FilterOutcome = LocalResponse | undefined;

/**
 * A filter's wish to read the request body before the request goes on. The proxy buffers a body,
 * up to the largest `maxBytes` of the filters that want it, only for such filters; every other
 * body streams through untouched.
 */
export interface RequestBodyHook {
  /** The most bytes the filter reads; a longer body reaches `inspect` cut to this length. */
  readonly maxBytes: number;
  /** Whether the filter wants this request's body (by its content type, say); asked after every head filter ran. */
  wants(req: ProxyRequest): boolean;
  /** The body, or its first `maxBytes` bytes when `truncated`; answers as onRequest does. */
  inspect(req: ProxyRequest, body: Buffer, truncated: boolean): FilterOutcome | Promise<FilterOutcome>;
}

export interface Filter {
  /** The filter kind, e.g. "RequestHeaderModifier"; named in the error when the filter fails. */
  readonly name: string;
  onRequest?(req: ProxyRequest): FilterOutcome | Promise<FilterOutcome>;
  readonly requestBody?: RequestBodyHook;
  onResponse?(res: ProxyResponseHead, req: ProxyRequest): void;
  /**
   * Whether onResponse also sees the answers windrose gives itself (denials of later filters,
   * upstream errors) once this filter let the request pass: CORS must, or a browser cannot read
   * the error; a ResponseHeaderModifier, by its documented contract, only touches the backend's.
   */
  readonly onLocalAnswers?: boolean;
}
