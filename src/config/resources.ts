//! The Kubernetes resources windrose reads, as plain typed data after validation.
//! Field names and shapes follow upstream (Gateway API v1, core v1, discovery v1) exactly.

export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

interface ResourceBase<K extends string, S> {
  readonly apiVersion: string;
  readonly kind: K;
  readonly metadata: ObjectMeta;
  readonly spec: S;
  /** Where the resource starts in its file; used to prefix every error about it. */
  readonly source: SourcePosition;
  /** Resolves a field path (e.g. ["spec","rules",0]) to its position in the file. */
  readonly locate: (path: readonly (string | number)[]) => SourcePosition;
}

// ---- Gateway API common ----------------------------------------------------------------

export interface ParentReference {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface BackendObjectReference {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

export interface LocalObjectReference {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export interface SecretObjectReference {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }[];
}

// ---- GatewayClass / Gateway ------------------------------------------------------------

export interface GatewayClassSpec {
  readonly controllerName: string;
  readonly description?: string;
  readonly parametersRef?: { readonly group: string; readonly kind: string; readonly name: string; readonly namespace?: string };
}

export type ProtocolType = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP' | (string & {});

export interface GatewayTLSConfig {
  readonly mode?: 'Terminate' | 'Passthrough';
  readonly certificateRefs?: readonly SecretObjectReference[];
  readonly options?: Readonly<Record<string, string>>;
}

export interface AllowedRoutes {
  readonly namespaces?: {
    readonly from?: 'All' | 'Same' | 'Selector';
    readonly selector?: LabelSelector;
  };
  readonly kinds?: readonly { readonly group?: string; readonly kind: string }[];
}

export interface Listener {
  readonly name: string;
  readonly hostname?: string;
  readonly port: number;
  readonly protocol: ProtocolType;
  readonly tls?: GatewayTLSConfig;
  readonly allowedRoutes?: AllowedRoutes;
}

export interface GatewaySpec {
  readonly gatewayClassName: string;
  readonly listeners: readonly Listener[];
  readonly addresses?: readonly { readonly type?: string; readonly value: string }[];
  readonly infrastructure?: unknown;
  readonly backendTLS?: unknown;
}

// ---- HTTPRoute -------------------------------------------------------------------------

export interface HTTPPathMatch {
  readonly type?: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value?: string;
}

export interface HTTPHeaderMatch {
  readonly type?: 'Exact' | 'RegularExpression';
  readonly name: string;
  readonly value: string;
}

export interface HTTPQueryParamMatch {
  readonly type?: 'Exact' | 'RegularExpression';
  readonly name: string;
  readonly value: string;
}

export type HTTPMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

export interface HTTPRouteMatch {
  readonly path?: HTTPPathMatch;
  readonly headers?: readonly HTTPHeaderMatch[];
  readonly queryParams?: readonly HTTPQueryParamMatch[];
  readonly method?: HTTPMethod;
}

export interface HTTPHeader {
  readonly name: string;
  readonly value: string;
}

export interface HTTPHeaderFilter {
  readonly set?: readonly HTTPHeader[];
  readonly add?: readonly HTTPHeader[];
  readonly remove?: readonly string[];
}

export interface HTTPPathModifier {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

export interface HTTPRequestRedirectFilter {
  readonly scheme?: 'http' | 'https';
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
  readonly port?: number;
  readonly statusCode?: 301 | 302 | 303 | 307 | 308;
}

export interface HTTPURLRewriteFilter {
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
}

export interface HTTPRequestMirrorFilter {
  readonly backendRef: BackendObjectReference;
  readonly percent?: number;
  readonly fraction?: { readonly numerator: number; readonly denominator?: number };
}

export interface HTTPRouteFilter {
  readonly type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestRedirect' | 'URLRewrite' | 'RequestMirror' | 'ExtensionRef' | 'CORS';
  readonly requestHeaderModifier?: HTTPHeaderFilter;
  readonly responseHeaderModifier?: HTTPHeaderFilter;
  readonly requestRedirect?: HTTPRequestRedirectFilter;
  readonly urlRewrite?: HTTPURLRewriteFilter;
  readonly requestMirror?: HTTPRequestMirrorFilter;
  readonly extensionRef?: LocalObjectReference;
  readonly cors?: HTTPCORSFilter;
}

/** Gateway API's CORS filter (GEP-1767); `maxAge` in seconds. */
export interface HTTPCORSFilter {
  readonly allowOrigins?: readonly string[];
  readonly allowCredentials?: boolean;
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: number;
}

export interface HTTPBackendRef extends BackendObjectReference {
  readonly weight?: number;
  readonly filters?: readonly HTTPRouteFilter[];
}

export interface HTTPRouteTimeouts {
  readonly request?: string;
  readonly backendRequest?: string;
}

/** GEP-1731. */
export interface HTTPRouteRetry {
  /** Retriable response statuses (400-599). */
  readonly codes?: readonly number[];
  /** Retries after the first try; 0 turns retrying off. */
  readonly attempts?: number;
  /** The base of the backoff between tries (a duration). */
  readonly backoff?: string;
}

export interface HTTPRouteRule {
  readonly name?: string;
  readonly matches?: readonly HTTPRouteMatch[];
  readonly filters?: readonly HTTPRouteFilter[];
  readonly backendRefs?: readonly HTTPBackendRef[];
  readonly timeouts?: HTTPRouteTimeouts;
  readonly retry?: HTTPRouteRetry;
  readonly sessionPersistence?: unknown;
}

export interface HTTPRouteSpec {
  readonly parentRefs?: readonly ParentReference[];
  readonly hostnames?: readonly string[];
  readonly rules?: readonly HTTPRouteRule[];
}

// ---- ReferenceGrant --------------------------------------------------------------------

export interface ReferenceGrantSpec {
  readonly from: readonly { readonly group: string; readonly kind: string; readonly namespace: string }[];
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
}

// ---- core / discovery ------------------------------------------------------------------

export interface ServicePort {
  readonly name?: string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly type?: string;
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports?: readonly ServicePort[];
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly [key: string]: unknown;
}

export interface EndpointSliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: unknown;
  readonly hints?: unknown;
}

export interface EndpointSlicePort {
  readonly name?: string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly port?: number;
  readonly appProtocol?: string;
}

/** EndpointSlice and Secret carry their data at the top level; `spec` holds it for uniformity. */
export interface EndpointSliceSpec {
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointSliceEndpoint[];
  readonly ports?: readonly EndpointSlicePort[];
}

export interface SecretSpec {
  readonly type?: string;
  /** base64-encoded values, as in the Kubernetes API. */
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

export interface NamespaceSpec {
  readonly finalizers?: readonly string[];
}

/** ConfigMap keeps its data beside metadata; `spec` holds it for uniformity. */
export interface ConfigMapSpec {
  readonly data?: Readonly<Record<string, string>>;
  /** base64-encoded values. */
  readonly binaryData?: Readonly<Record<string, string>>;
}

// ---- BackendTLSPolicy (gateway.networking.k8s.io/v1, v1alpha3) ----------------------------

export interface BackendTLSPolicySpec {
  readonly targetRefs: readonly PolicyTargetReference[];
  readonly validation: {
    readonly caCertificateRefs?: readonly LocalObjectReference[];
    readonly wellKnownCACertificates?: 'System';
    readonly hostname: string;
    readonly subjectAltNames?: readonly { readonly type: 'Hostname' | 'URI'; readonly hostname?: string; readonly uri?: string }[];
  };
  readonly options?: Readonly<Record<string, string>>;
}

// ---- windrose.dev/v1alpha1 -------------------------------------------------------------

export interface BackendEndpoint {
  readonly ip?: string;
  readonly hostname?: string;
  readonly port: number;
  readonly zone?: string;
  /** Relative share of the backend's traffic, 1 to 1000000; 1 when unset. */
  readonly weight?: number;
}

export interface BackendSpec {
  readonly endpoints: readonly BackendEndpoint[];
  readonly appProtocol?: 'http' | 'kubernetes.io/h2c' | 'kubernetes.io/ws' | (string & {});
}

export interface PolicyTargetReference {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly sectionName?: string;
}

export interface BackendTrafficPolicySpec {
  readonly targetRefs: readonly PolicyTargetReference[];
  readonly timeout?: {
    readonly tcp?: { readonly connectTimeout?: string };
    readonly http?: { readonly requestTimeout?: string; readonly idleTimeout?: string; readonly streamIdleTimeout?: string };
  };
  readonly connection?: {
    readonly http1?: { readonly maxConnectionsPerEndpoint?: number };
    readonly http2?: { readonly maxConcurrentStreams?: number; readonly maxConnectionsPerEndpoint?: number };
  };
  /** Rehearsing failures: answer with a status, or hold the request, for a percentage of requests (100 when unset). */
  readonly faultInjection?: {
    readonly abort?: { readonly httpStatus: number; readonly percentage?: number };
    readonly delay?: { readonly fixedDelay: string; readonly percentage?: number };
  };
  readonly loadBalancer?: LoadBalancerSpec;
  readonly healthCheck?: HealthCheckSpec;
  readonly circuitBreaker?: CircuitBreakerSpec;
  readonly retry?: RetrySpec;
}

/** Field names follow Envoy Gateway's BackendTrafficPolicy; durations are Gateway API durations. */
export interface LoadBalancerSpec {
  readonly type?: 'RoundRobin' | 'LeastRequest' | 'Random' | 'ConsistentHash';
  /** Exactly when type is ConsistentHash. */
  readonly consistentHash?: {
    readonly type: 'Header' | 'Cookie' | 'SourceIP';
    readonly header?: { readonly name: string };
    readonly cookie?: { readonly name: string };
  };
  readonly panicThreshold?: number;
}

export interface HealthCheckSpec {
  readonly active?: {
    readonly type: 'HTTP';
    readonly http: { readonly path: string; readonly method?: HTTPMethod; readonly expectedStatuses?: readonly number[] };
    readonly interval?: string;
    readonly timeout?: string;
    readonly healthyThreshold?: number;
    readonly unhealthyThreshold?: number;
  };
  /** Outlier detection; present means enabled. */
  readonly passive?: {
    readonly interval?: string;
    readonly consecutive5XxErrors?: number;
    readonly consecutiveGatewayErrors?: number;
    readonly baseEjectionTime?: string;
    readonly maxEjectionTime?: string;
    readonly maxEjectionPercent?: number;
    readonly successRate?: { readonly minimumHosts?: number; readonly requestVolume?: number; readonly stdevFactor?: number };
  };
}

export interface CircuitBreakerSpec {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxParallelRequests?: number;
  readonly maxParallelRetries?: number;
}

export interface RetrySpec {
  readonly numRetries?: number;
  readonly retryOn?: {
    readonly triggers?: readonly ('connect-failure' | 'reset' | 'retriable-status-codes')[];
    readonly httpStatusCodes?: readonly number[];
    readonly nonIdempotent?: boolean;
  };
  readonly perRetry?: {
    readonly timeout?: string;
    readonly backOff?: { readonly baseInterval?: string; readonly maxInterval?: string };
  };
  /** A Kubernetes quantity ("64Ki") or a number of bytes. */
  readonly maxBodySize?: string | number;
  readonly budget?: {
    readonly percent?: number;
    readonly minRetriesPerSecond?: number;
    readonly interval?: string;
    readonly disabled?: boolean;
  };
}

/**
 * Who may call a mesh workload, in Istio's AuthorizationPolicy shape. Entries of `from` and `to`
 * are ORed; a rule needs `from` and `to` to match; the fields of a source or operation are ANDed.
 */
export interface AuthorizationPolicySpec {
  /** Absent: every workload in the namespace (in the mesh root namespace, the whole mesh). */
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly action?: 'ALLOW' | 'DENY' | 'AUDIT';
  readonly rules?: readonly AuthorizationRule[];
}

export interface AuthorizationRule {
  readonly from?: readonly { readonly source: AuthorizationSource }[];
  readonly to?: readonly { readonly operation: AuthorizationOperation }[];
}

/** Principals ("cluster.local/ns/default/sa/web" or a spiffe:// ID) and namespaces, with `*`, `prefix*` and `*suffix`. */
export interface AuthorizationSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
}

export interface AuthorizationOperation {
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
  /** The workload's own (application) port; written as numbers or numeric strings. */
  readonly ports?: readonly number[];
  readonly notPorts?: readonly number[];
}
/**
 * Who may reach a Gateway, a listener or an HTTPRoute. Each block is taken whole from the
 * narrowest policy that sets it (route over listener over Gateway); the blocks' types live with
 * their schemas in src/config/schema/security/.
 */
export interface SecurityPolicySpec {
  readonly targetRefs: readonly PolicyTargetReference[];
  /** Only on a Gateway or a listener: TLS is negotiated before a route is chosen. */
  readonly tls?: import('./schema/security/tls.js').TLSSpec;
  readonly cors?: import('./schema/security/cors.js').CORSSpec;
  readonly waf?: import('./schema/security/waf.js').WAFSpec;
  readonly apiKeyAuth?: import('./schema/security/api-key-auth.js').APIKeyAuthSpec;
  readonly jwt?: import('./schema/security/jwt.js').JWTSpec;
  readonly introspection?: import('./schema/security/introspection.js').IntrospectionSpec;
  readonly oidc?: import('./schema/security/oidc.js').OIDCSpec;
  readonly extAuth?: import('./schema/security/ext-auth.js').ExtAuthSpec;
  readonly authorization?: import('./schema/security/authorization.js').AuthorizationSpec;
}

// ---- the union -------------------------------------------------------------------------

export type GatewayClass = ResourceBase<'GatewayClass', GatewayClassSpec>;
export type Gateway = ResourceBase<'Gateway', GatewaySpec>;
export type HTTPRoute = ResourceBase<'HTTPRoute', HTTPRouteSpec>;
export type ReferenceGrant = ResourceBase<'ReferenceGrant', ReferenceGrantSpec>;
export type Service = ResourceBase<'Service', ServiceSpec>;
export type EndpointSlice = ResourceBase<'EndpointSlice', EndpointSliceSpec>;
export type Secret = ResourceBase<'Secret', SecretSpec>;
export type Namespace = ResourceBase<'Namespace', NamespaceSpec>;
export type ConfigMap = ResourceBase<'ConfigMap', ConfigMapSpec>;
export type BackendTLSPolicy = ResourceBase<'BackendTLSPolicy', BackendTLSPolicySpec>;
export type Backend = ResourceBase<'Backend', BackendSpec>;
export type BackendTrafficPolicy = ResourceBase<'BackendTrafficPolicy', BackendTrafficPolicySpec>;
export type AuthorizationPolicy = ResourceBase<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type SecurityPolicy = ResourceBase<'SecurityPolicy', SecurityPolicySpec>;

export type Resource =
  | GatewayClass
  | Gateway
  | HTTPRoute
  | ReferenceGrant
  | Service
  | EndpointSlice
  | Secret
  | Namespace
  | ConfigMap
  | BackendTLSPolicy
  | Backend
  | BackendTrafficPolicy
  | AuthorizationPolicy
  | SecurityPolicy;

export type ResourceKind = Resource['kind'];

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const WINDROSE_GROUP = 'windrose.dev';
export const CONTROLLER_NAME = 'windrose.dev/gateway-controller';

/** A configuration error, located as precisely as the source allows. */
export interface ConfigError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** "HTTPRoute default/shop", or "" when the document could not be identified. */
  readonly resource: string;
  /** "spec.rules[0].backendRefs[0].port", or "" for document-level problems. */
  readonly field: string;
  readonly message: string;
}

export function formatConfigError(e: ConfigError): string {
  const where = `${e.file}:${e.line}:${e.column}`;
  const what = [e.resource, e.field].filter(Boolean).join(' ');
  return what ? `${where} ${what}: ${e.message}` : `${where}: ${e.message}`;
}
