//! Resolves backendRefs (Service + EndpointSlices, or windrose Backend) to clusters, deduplicated by key.

import { SPIFFE_ID_ANNOTATION } from '../../mesh/protocol.js';
import type { Cluster, ClusterSettings, Endpoint, UpstreamProtocol, UpstreamTLS } from '../model.js';
import { GATEWAY_GROUP, WINDROSE_GROUP, type BackendObjectReference, type HTTPRoute } from '../resources.js';
import { backendTLSFor, type BackendTLS } from './backend-tls.js';
import { key, nsOf, referencePermitted, type ResourceIndex } from './index-resources.js';

export type BackendResolution =
  | { ok: true; endpoints: Endpoint[]; protocol: UpstreamProtocol; name: string; tls?: UpstreamTLS }
  | { ok: false; reason: 'BackendNotFound' | 'RefNotPermitted' | 'InvalidKind' | 'UnsupportedProtocol' | 'InvalidBackendTLSPolicy'; message: string };

/** A resolved backend with the TLS its BackendTLSPolicy asks for; one whose policy cannot be applied is not reached at all. */
function withTLS(res: Extract<BackendResolution, { ok: true }>, tls: BackendTLS | undefined, label: string): BackendResolution {
  if (tls === undefined) return res;
  if ('problem' in tls) return { ok: false, reason: 'InvalidBackendTLSPolicy', message: `${label}: its BackendTLSPolicy cannot be applied: ${tls.problem}` };
  if (res.protocol === 'h2c') return { ok: false, reason: 'UnsupportedProtocol', message: `${label}: appProtocol kubernetes.io/h2c is cleartext HTTP/2 and cannot take the TLS its BackendTLSPolicy asks for` };
  return { ...res, tls };
}

function protocolOf(appProtocol: string | undefined): UpstreamProtocol | undefined {
  switch (appProtocol) {
    case undefined: case 'http': case 'HTTP': case 'kubernetes.io/http': return 'http1';
    case 'kubernetes.io/h2c': return 'h2c';
    case 'kubernetes.io/ws': return 'ws';
    default: return undefined;
  }
}

export function resolveBackend(idx: ResourceIndex, route: HTTPRoute, ref: BackendObjectReference): BackendResolution {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  const namespace = ref.namespace ?? nsOf(route);
  const label = `${kind} ${namespace}/${ref.name}`;
  const isService = group === '' && kind === 'Service';
  const isBackend = group === WINDROSE_GROUP && kind === 'Backend';
  if (!isService && !isBackend) return { ok: false, reason: 'InvalidKind', message: `backendRef kind ${kind} (group "${group}") is not supported` };
  if (!referencePermitted(idx, { group: GATEWAY_GROUP, kind: 'HTTPRoute', namespace: nsOf(route) }, { group, kind, namespace, name: ref.name })) {
    return { ok: false, reason: 'RefNotPermitted', message: `${label} is in another namespace and no ReferenceGrant permits it` };
  }
  if (isBackend) {
    const backend = idx.backends.get(key(namespace, ref.name));
    if (!backend) return { ok: false, reason: 'BackendNotFound', message: `${label} not found` };
    const protocol = protocolOf(backend.spec.appProtocol);
    if (!protocol) return { ok: false, reason: 'UnsupportedProtocol', message: `${label} appProtocol ${backend.spec.appProtocol} is not supported` };
    const endpoints = backend.spec.endpoints.map((e): Endpoint => ({
      host: e.ip ?? e.hostname ?? '127.0.0.1',
      port: ref.port ?? e.port,
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.weight !== undefined ? { weight: e.weight } : {}),
    }));
    return withTLS({ ok: true, endpoints, protocol, name: `${label}${ref.port ? `:${ref.port}` : ''}` }, backendTLSFor(idx, 'Backend', namespace, ref.name), label);
  }
  const service = idx.services.get(key(namespace, ref.name));
  if (!service) return { ok: false, reason: 'BackendNotFound', message: `${label} not found` };
  if (ref.port === undefined) return { ok: false, reason: 'BackendNotFound', message: `${label}: port is required for a Service backendRef` };
  const svcPort = (service.spec.ports ?? []).find((p) => p.port === ref.port);
  if (!svcPort) return { ok: false, reason: 'BackendNotFound', message: `${label} has no port ${ref.port}` };
  const protocol = protocolOf(svcPort.appProtocol);
  if (!protocol) return { ok: false, reason: 'UnsupportedProtocol', message: `${label} port ${ref.port} appProtocol ${svcPort.appProtocol} is not supported` };
  const endpoints: Endpoint[] = [];
  for (const slice of idx.slicesByService.get(key(namespace, ref.name)) ?? []) {
    // The slice port that carries this Service port: same name (both unnamed when the Service has one port).
    const slicePort = (slice.spec.ports ?? []).find((p) => (p.name ?? '') === (svcPort.name ?? ''));
    const port = slicePort?.port ?? (typeof svcPort.targetPort === 'number' ? svcPort.targetPort : svcPort.port);
    // Endpoints the mesh registry annotated are sidecars: reached with mutual TLS, their identity checked.
    const identity = slice.metadata.annotations?.[SPIFFE_ID_ANNOTATION];
    for (const ep of slice.spec.endpoints) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses) {
        endpoints.push({ host: address, port, ...(ep.zone ? { zone: ep.zone } : {}), ...(identity !== undefined ? { identity } : {}) });
      }
    }
  }
  return withTLS({ ok: true, endpoints, protocol, name: `${label}:${ref.port}` }, backendTLSFor(idx, 'Service', namespace, ref.name, svcPort.name), label);
}

/** Interns clusters so equal endpoints + settings share one cluster (and one connection pool). */
export class ClusterRegistry {
  private readonly byKey = new Map<string, Cluster>();

  intern(name: string, endpoints: readonly Endpoint[], settings: ClusterSettings): Cluster {
    // Weights and zones shape the balancer, and an identity the connection, so they belong to the
    // key; an unset weight is the same as 1.
    const endpointKey = (e: Endpoint) =>
      `${e.host}:${e.port}${(e.weight ?? 1) === 1 ? '' : `*${e.weight}`}${e.zone === undefined ? '' : `@${e.zone}`}${e.identity === undefined ? '' : `#${e.identity}`}`;
    const k = JSON.stringify([name, endpoints.map(endpointKey), settings]);
    let cluster = this.byKey.get(k);
    if (!cluster) {
      cluster = { key: k, name, endpoints, settings };
      this.byKey.set(k, cluster);
    }
    return cluster;
  }

  all(): Cluster[] {
    return [...this.byKey.values()];
  }
}
