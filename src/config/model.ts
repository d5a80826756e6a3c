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
}

/** Connection settings of one cluster: the translator folds policies into these. */
export interface ClusterSettings {
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly http1MaxConnections: number;
  readonly http2MaxConcurrentStreams: number;
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
  /** One attempt at the backend, from dispatch to the last byte of the response; 0 = none. */
  readonly backendRequestMs: number;
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
}

export interface ListenerLimits {
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly idleTimeoutMs: number;
}

/** Everything bound to one TCP port; several Gateway listeners may share it. */
export interface PortConfig {
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly listeners: readonly string[];
  readonly certificates: readonly Certificate[];
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
