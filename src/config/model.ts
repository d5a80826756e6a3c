//! The one internal model: the compiled, immutable snapshot that the data plane serves from.
//! Providers and the translator produce it; nothing downstream knows where config came from.

import type { RouteTable } from '../dataplane/router/table.js';
import type { Filter } from '../dataplane/filters/filter.js';
import type { ResourceStatus } from './status.js';

export type UpstreamProtocol = 'http1' | 'h2c' | 'ws';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly zone?: string;
  /** Relative share of the cluster's traffic (windrose Backend endpoints); 1 when unset. */
  readonly weight?: number;
  /**
   * The SPIFFE ID the endpoint's mesh proxy presents. When set, windrose connects with mutual TLS
   * (its own SVID as the client certificate) and refuses a peer that presents any other identity.
   */
  readonly identity?: string;
}

/** What a consistent-hash balancer hashes: a request header, a cookie, or the client's address. */
export type HashOn =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'sourceIP' };

export type LoadBalancerType = 'RoundRobin' | 'LeastRequest' | 'Random' | 'ConsistentHash';

export interface LoadBalancerSettings {
  readonly type: LoadBalancerType;
  /** Set when type is ConsistentHash. */
  readonly hashOn?: HashOn;
  /** Below this share of healthy endpoints (percent) health is ignored and all endpoints take traffic. */
  readonly panicThresholdPercent: number;
}

/** Active HTTP health checking of every endpoint. */
export interface HealthCheckSettings {
  readonly path: string;
  readonly method: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Status ranges [low, high] inclusive that count as healthy. */
  readonly expectedStatuses: readonly (readonly [number, number])[];
}

/** Passive outlier detection: ejecting endpoints that fail real traffic. 0 disables a trigger. */
export interface OutlierSettings {
  readonly intervalMs: number;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayErrors: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly successRate?: {
    readonly minimumHosts: number;
    readonly requestVolume: number;
    /** Ejects when success rate < mean - stdev * stdevFactor / 1000 (Envoy's convention). */
    readonly stdevFactor: number;
  };
}

export interface CircuitBreakerSettings {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

/** Caps retries to a share of requests, so retries cannot multiply the load on a failing backend. */
export interface RetryBudgetSettings {
  /** Retries allowed per request sent, e.g. 0.2 = 20% extra load. */
  readonly ratio: number;
  /** Retries always allowed per second, so a quiet backend can still be retried. */
  readonly minPerSecond: number;
  /** The window requests and retries are counted over. */
  readonly windowMs: number;
}

/** Connection settings of one cluster: the translator folds policies into these. */
export interface ClusterSettings {
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly http1MaxConnections: number;
  readonly http2MaxConcurrentStreams: number;
  readonly loadBalancer: LoadBalancerSettings;
  readonly healthCheck?: HealthCheckSettings;
  readonly outlier?: OutlierSettings;
  readonly circuitBreaker: CircuitBreakerSettings;
  /** Undefined when retries to this cluster are not budgeted. */
  readonly retryBudget?: RetryBudgetSettings;
  /** TLS to the endpoints (a BackendTLSPolicy); undefined means cleartext. */
  readonly tls?: UpstreamTLS;
}

/** How windrose verifies a backend it reaches over TLS (Gateway API BackendTLSPolicy). */
export interface UpstreamTLS {
  /** PEM CA bundle the backend's chain must end in; undefined trusts the well-known (system) CAs. */
  readonly caPem?: string;
  /** Sent as SNI; also the name the certificate must carry when `subjectAltNames` is unset. */
  readonly hostname: string;
  /** When set, the certificate must carry one of these SANs instead of `hostname`. */
  readonly subjectAltNames?: readonly { readonly type: 'Hostname' | 'URI'; readonly value: string }[];
}

/** A concrete backend: a set of endpoints reached with one set of connection settings. */
export interface Cluster {
  /** Stable across snapshots for equal endpoints and settings, so connection pools survive reloads. */
  readonly key: string;
  /** The backend it came from, e.g. "Service default/shop:8080", for metrics and logs. */
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly settings: ClusterSettings;
}

/** One weighted backendRef of a rule; `cluster` is undefined when the ref did not resolve (answers 500). */
export interface WeightedCluster {
  readonly weight: number;
  readonly cluster: Cluster | undefined;
  readonly unresolvedReason?: string;
  readonly filters: readonly Filter[];
}

export interface RuleTimeouts {
  /** Whole request, from receipt to the last byte of the response; 0 = none. */
  readonly requestMs: number;
  /**
   * Each try at the backend, from dispatch to the last byte of the response; 0 = none. The rule's
   * backendRequest timeout, else the policy's retry.perRetry.timeout, with or without retries.
   */
  readonly backendRequestMs: number;
  /** Longest silence while waiting for a response head or between body chunks; 0 = none. */
  readonly streamIdleMs: number;
}

export type RetryTrigger = 'connect-failure' | 'reset' | 'retriable-status-codes';

export interface RetryPolicy {
  /** Retries after the first try. */
  readonly retries: number;
  readonly on: ReadonlySet<RetryTrigger>;
  readonly statusCodes: ReadonlySet<number>;
  /** Retry POST, PATCH and other non-idempotent methods on resets and statuses too (connect failures always are). */
  readonly nonIdempotent: boolean;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Request bodies up to this size are kept for replay; larger ones are never retried. */
  readonly maxBodyBytes: number;
}

/** What a matched route rule does: compiled filters, then one of the weighted backends. */
export interface RuleTarget {
  /** "default/shop", bounded metric label. */
  readonly routeName: string;
  readonly ruleIndex: number;
  /** "default/web/http" — gateway namespace/name and listener name. */
  readonly listenerName: string;
  readonly filters: readonly Filter[];
  readonly backends: readonly WeightedCluster[];
  readonly totalWeight: number;
  readonly timeouts: RuleTimeouts;
  readonly retry?: RetryPolicy;
}

export interface Certificate {
  /** Secret namespace/name, for logs and status. */
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** DNS names the certificate covers (from its SANs), used for SNI selection. */
  readonly dnsNames: readonly string[];
  /** Listener hostnames it was configured for ("" = any). */
  readonly listenerHostnames: readonly string[];
  /** How the listener it serves checks client certificates; undefined when it asks for none. */
  readonly clientValidation?: ClientValidation;
}

/** A listener's check of client certificates (SecurityPolicy `tls.clientValidation`). */
export interface ClientValidation {
  /**
   * Names the Secrets and ConfigMaps the CA bundle and CRLs come from: tells which check a
   * connection's certificate passed, and stays the same when their contents are renewed.
   */
  readonly id: string;
  readonly caPem: string;
  /** PEM CRLs, one per CA that issues client certificates. */
  readonly crls?: readonly string[];
  /** A client may come without a certificate; one that presents an invalid certificate is still refused. */
  readonly optional: boolean;
}

export type TLSVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * What a port's TLS handshakes negotiate. It is one for all the listeners on the port: the version
 * and cipher are chosen before the server name selects a listener's certificate.
 */
export interface PortTLS {
  readonly minVersion: TLSVersion;
  readonly maxVersion: TLSVersion;
  /** An OpenSSL cipher string (TLS 1.3 suites and TLS 1.2 ciphers); undefined keeps Node's default. */
  readonly ciphers?: string;
  /** Colon-separated key exchange groups; undefined keeps Node's default. */
  readonly ecdhCurve?: string;
  /** Some listener on the port checks client certificates, so the handshake asks for one. */
  readonly requestCert: boolean;
  /** Every listener on the port requires one: a client without a valid certificate fails the handshake. */
  readonly requireCert: boolean;
}

export interface ListenerLimits {
  readonly maxHeaderBytes: number;
  /** Header fields a request may carry (431 beyond). */
  readonly maxHeaderCount: number;
  readonly maxBodyBytes: number;
  readonly idleTimeoutMs: number;
}

/**
 * How a mesh proxy's inbound port treats callers: STRICT serves only mutual TLS with a certificate
 * that chains to the trust bundle; PERMISSIVE also serves plaintext, without a peer identity.
 */
export type MtlsMode = 'STRICT' | 'PERMISSIVE';

/** Everything bound to one TCP port; several Gateway listeners may share it. */
export interface PortConfig {
  readonly port: number;
  /** MTLS: a mesh proxy's inbound port, served with the process's SVID (src/mesh/credentials.ts). */
  readonly protocol: 'HTTP' | 'HTTPS' | 'MTLS';
  /** Set when protocol is MTLS. */
  readonly mtlsMode?: MtlsMode;
  /**
   * Requests in absolute form ("GET http://reviews:9080/ HTTP/1.1", as an HTTP_PROXY client sends
   * them) are routed by the target's authority: a sidecar's outbound port.
   */
  readonly forwardProxy?: boolean;
  /** The address to bind instead of the process's bind host (a sidecar's outbound port stays on loopback). */
  readonly bindHost?: string;
  readonly listeners: readonly string[];
  readonly certificates: readonly Certificate[];
  /** HTTPS ports whose listeners' SecurityPolicies set TLS parameters; undefined keeps the defaults. */
  readonly tls?: PortTLS;
  readonly routes: RouteTable<RuleTarget>;
  readonly limits: ListenerLimits;
}

export interface Snapshot {
  readonly version: number;
  readonly createdAt: string;
  readonly ports: readonly PortConfig[];
  readonly clusters: readonly Cluster[];
  readonly statuses: readonly ResourceStatus[];
}
