//! Lookup tables over the validated resources, built once per translation.

import type {
  AuthorizationPolicy, Backend, BackendTLSPolicy, BackendTrafficPolicy, ConfigMap, EndpointSlice, Gateway, GatewayClass, HTTPRoute, LabelSelector, Namespace,
  ReferenceGrant, Resource, Secret, SecurityPolicy, Service,
} from '../resources.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ResourceIndex {
  readonly gatewayClasses: Map<string, GatewayClass>;
  readonly gateways: Gateway[];
  readonly routes: HTTPRoute[];
  readonly services: Map<string, Service>;
  readonly slicesByService: Map<string, EndpointSlice[]>;
  readonly secrets: Map<string, Secret>;
  readonly configMaps: Map<string, ConfigMap>;
  readonly backends: Map<string, Backend>;
  readonly grants: ReferenceGrant[];
  readonly trafficPolicies: BackendTrafficPolicy[];
  readonly namespaces: Map<string, Namespace>;
  readonly authorizationPolicies: AuthorizationPolicy[];
  readonly securityPolicies: SecurityPolicy[];
  readonly backendTLSPolicies: BackendTLSPolicy[];
}

export const key = (namespace: string | undefined, name: string): string => `${namespace ?? 'default'}/${name}`;
export const nsOf = (r: Resource): string => r.metadata.namespace ?? 'default';

export function indexResources(resources: readonly Resource[]): ResourceIndex {
  const idx: ResourceIndex = {
    gatewayClasses: new Map(), gateways: [], routes: [], services: new Map(), slicesByService: new Map(),
    secrets: new Map(), configMaps: new Map(), backendTLSPolicies: [], backends: new Map(), grants: [], trafficPolicies: [], namespaces: new Map(), authorizationPolicies: [], securityPolicies: [],
  };
  for (const r of resources) {
    switch (r.kind) {
      case 'GatewayClass': idx.gatewayClasses.set(r.metadata.name, r); break;
      case 'Gateway': idx.gateways.push(r); break;
      case 'HTTPRoute': idx.routes.push(r); break;
      case 'Service': idx.services.set(key(nsOf(r), r.metadata.name), r); break;
      case 'EndpointSlice': {
        const svc = r.metadata.labels?.[SERVICE_NAME_LABEL];
        if (svc === undefined) break;
        const k = key(nsOf(r), svc);
        const list = idx.slicesByService.get(k) ?? [];
        list.push(r);
        idx.slicesByService.set(k, list);
        break;
      }
      case 'Secret': idx.secrets.set(key(nsOf(r), r.metadata.name), r); break;
      case 'ConfigMap': idx.configMaps.set(key(nsOf(r), r.metadata.name), r); break;
      case 'BackendTLSPolicy': idx.backendTLSPolicies.push(r); break;
      case 'Backend': idx.backends.set(key(nsOf(r), r.metadata.name), r); break;
      case 'ReferenceGrant': idx.grants.push(r); break;
      case 'BackendTrafficPolicy': idx.trafficPolicies.push(r); break;
      case 'Namespace': idx.namespaces.set(r.metadata.name, r); break;
      case 'AuthorizationPolicy': idx.authorizationPolicies.push(r); break;
      case 'SecurityPolicy': idx.securityPolicies.push(r); break;
    }
  }
  return idx;
}

/** Namespace labels, with the label Kubernetes sets on every namespace even when no Namespace resource is given. */
export function namespaceLabels(idx: ResourceIndex, namespace: string): Record<string, string> {
  return { ...(idx.namespaces.get(namespace)?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': namespace };
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Whether a ReferenceGrant in the target's namespace permits this cross-namespace reference. */
export function referencePermitted(
  idx: ResourceIndex,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  return idx.grants.some((g) =>
    nsOf(g) === to.namespace &&
    g.spec.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
    g.spec.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name)),
  );
}

/**
 * A key of a Secret (stringData, else base64 data) or a ConfigMap (data, else base64 binaryData);
 * undefined when the resource or the key is missing.
 */
export function storedValue(idx: ResourceIndex, kind: 'Secret' | 'ConfigMap', namespace: string, name: string, field: string): Buffer | undefined {
  let text: string | undefined;
  let b64: string | undefined;
  if (kind === 'Secret') {
    const spec = idx.secrets.get(key(namespace, name))?.spec;
    text = spec?.stringData?.[field];
    b64 = spec?.data?.[field];
  } else {
    const spec = idx.configMaps.get(key(namespace, name))?.spec;
    text = spec?.data?.[field];
    b64 = spec?.binaryData?.[field];
  }
  if (text !== undefined) return Buffer.from(text);
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64');
}
