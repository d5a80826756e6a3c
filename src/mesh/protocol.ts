//! What the control plane and a mesh proxy say to each other over the config stream.
//!
//! The stream is one HTTP/2 request, `POST /v1/stream` on the control plane's mTLS port, that stays
//! open: the request body carries the proxy's messages, the response body the control plane's, each
//! message one JSON object on its own line. The proxy's namespace and service account come from the
//! client certificate it presents (its SVID), never from what it says.

/** One YAML document as it stands in the control plane's config files, so a proxy's error names the line. */
export interface ConfigDocument {
  /** The file, relative to the control plane's --config, or "registry" for what proxies registered. */
  readonly file: string;
  /** The document's first line in that file (1-based). */
  readonly line: number;
  readonly text: string;
}

/** What a proxy tells about itself when it (re)connects. */
export interface ProxyDescriptor {
  /** Unique per proxy process, e.g. "reviews-v1-7f9c@10.0.0.5"; stable across reconnects of one process. */
  readonly id: string;
  /** Services (in the proxy's namespace) whose endpoint this proxy's workload is. */
  readonly services: readonly string[];
  /** The workload's labels, which AuthorizationPolicy selectors match. */
  readonly labels: Readonly<Record<string, string>>;
  /** Where other proxies reach this one's inbound (mTLS) listener. */
  readonly address: string;
  readonly port: number;
  readonly zone?: string;
}

export type ProxyMessage =
  | { readonly type: 'hello'; readonly proxy: ProxyDescriptor; /** The version the proxy serves, when it has one. */ readonly version?: string }
  | { readonly type: 'ack'; readonly version: string }
  | { readonly type: 'nack'; readonly version: string; readonly error: string }
  | { readonly type: 'heartbeat' };

export interface SnapshotMessage {
  readonly type: 'snapshot';
  /** Content hash of everything below: equal content, equal version, whatever the control plane's restarts. */
  readonly version: string;
  /** PEM roots every peer certificate must chain to; two during a root rotation. */
  readonly trustBundle: readonly string[];
  /** Only the documents this proxy needs (see src/controlplane/distribution). */
  readonly documents: readonly ConfigDocument[];
}

export type ControlMessage = SnapshotMessage;

/** Annotation on a registry EndpointSlice: the SPIFFE ID its endpoints' proxy presents, so callers originate mTLS and verify it. */
export const SPIFFE_ID_ANNOTATION = 'windrose.dev/spiffe-id';

/**
 * Annotation on a Service: the service accounts (comma-separated) whose proxies may register as its
 * endpoints. Without it any workload of the Service's namespace may, as any pod a Service selects is
 * its endpoint in Kubernetes.
 */
export const SERVICE_ACCOUNTS_ANNOTATION = 'windrose.dev/service-accounts';

/** The namespace whose AuthorizationPolicies without a selector apply to every workload of the mesh (Istio's root namespace). */
export const MESH_ROOT_NAMESPACE = 'windrose-system';

/** How often a proxy says it is alive, and after how many missed beats the control plane drops its endpoints. */
export const HEARTBEAT_MS = 5_000;
export const MISSED_HEARTBEATS = 3;
