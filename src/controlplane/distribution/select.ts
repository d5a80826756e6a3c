//! Which documents a proxy needs. Every proxy resolves every Service, so it gets the Services,
//! EndpointSlices, ReferenceGrants and Namespaces, the mesh (GAMMA) HTTPRoutes whose parent is a
//! Service, and the BackendTrafficPolicies attached to those; AuthorizationPolicies only when they
//! apply to its workload. Secrets, Gateways and routes attached to Gateways never leave the
//! control plane.

import { MESH_ROOT_NAMESPACE, type ConfigDocument } from '../../mesh/protocol.js';
import type { MeshDocument, ObjectInfo, ObjectRef } from '../config/documents.js';

/** An AuthorizationPolicy's reach: its namespace and, when it has one, its workload selector. */
interface PolicyScope {
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>> | undefined;
}

/** A document every proxy gets, or one that only the workloads some policies select get. */
type Audience = { readonly all: true } | { readonly all: false; readonly policies: readonly PolicyScope[] };

export interface ProxyScope {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const WINDROSE_GROUP = 'windrose.dev';

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');
const isCore = (o: ObjectInfo, kind: string) => o.apiVersion === 'v1' && o.kind === kind;
const isOf = (o: ObjectInfo, group: string, kind: string) => groupOf(o.apiVersion) === group && o.kind === kind;
// A ref without a group is in gateway.networking.k8s.io (Gateway API's default), so only group "" names a core Service.
const refersToService = (r: ObjectRef) => r.group === '' && r.kind === 'Service';

/** A GAMMA route: an HTTPRoute with a Service among its parents. */
const isMeshRoute = (o: ObjectInfo) => isOf(o, GATEWAY_GROUP, 'HTTPRoute') && o.parentRefs.some(refersToService);

const routeKey = (namespace: string, name: string | undefined) => `${namespace}/${name ?? ''}`;

const NOBODY: Audience = { all: false, policies: [] };
const wanted = (a: Audience) => a.all || a.policies.length > 0;

function audienceOf(objects: readonly ObjectInfo[], meshRoutes: ReadonlySet<string>): Audience {
  // A list is sent whole or not at all, and a Secret must never leave the control plane.
  if (objects.some((o) => isCore(o, 'Secret'))) return NOBODY;
  const policies: PolicyScope[] = [];
  for (const o of objects) {
    if (isCore(o, 'Service') || isCore(o, 'Namespace') || isOf(o, 'discovery.k8s.io', 'EndpointSlice') || isOf(o, GATEWAY_GROUP, 'ReferenceGrant')) return { all: true };
    if (isMeshRoute(o)) return { all: true };
    if (isOf(o, WINDROSE_GROUP, 'BackendTrafficPolicy')) {
      // Policy targets are local: a targeted route is in the policy's namespace.
      const targetsMesh = o.targetRefs.some((t) => refersToService(t) || (t.group === GATEWAY_GROUP && t.kind === 'HTTPRoute' && meshRoutes.has(routeKey(o.namespace, t.name))));
      if (targetsMesh) return { all: true };
    }
    if (isOf(o, WINDROSE_GROUP, 'AuthorizationPolicy')) policies.push({ namespace: o.namespace, selector: o.selector });
  }
  return { all: false, policies };
}

/**
 * As Istio: a policy without a selector applies to its namespace, or to the whole mesh in the root
 * namespace; with a selector, to the workloads of that namespace (of every namespace from the root
 * namespace) that carry all its labels.
 */
function applies(p: PolicyScope, proxy: ProxyScope): boolean {
  if (p.namespace !== MESH_ROOT_NAMESPACE && p.namespace !== proxy.namespace) return false;
  if (p.selector === undefined) return true;
  return Object.entries(p.selector).every(([k, v]) => proxy.labels[k] === v);
}

/** The config documents, each with who needs it; built once per config change, then asked per proxy. */
export class DocumentSelection {
  private readonly entries: readonly { readonly document: ConfigDocument; readonly audience: Audience }[];

  /** Lists that hold a needed item but also a Secret, so are not sent: the operator must split them. */
  readonly withheld: readonly ConfigDocument[];

  constructor(documents: readonly MeshDocument[]) {
    const meshRoutes = new Set(documents.flatMap((d) => d.objects.filter(isMeshRoute).map((o) => routeKey(o.namespace, o.name))));
    this.entries = documents.map((d) => ({ document: d.document, audience: audienceOf(d.objects, meshRoutes) }));
    this.withheld = documents
      .filter((d) => d.objects.length > 1 && d.objects.some((o) => isCore(o, 'Secret')))
      .filter((d) => wanted(audienceOf(d.objects.filter((o) => !isCore(o, 'Secret')), meshRoutes)))
      .map((d) => d.document);
  }

  /**
   * The documents `proxy` needs, in config order, and a key equal for two proxies exactly when
   * they need the same documents (the indexes of the policies that apply), so a push builds each
   * distinct snapshot once.
   */
  select(proxy: ProxyScope): { documents: ConfigDocument[]; key: string } {
    const documents: ConfigDocument[] = [];
    const picked: number[] = [];
    this.entries.forEach((e, i) => {
      if (e.audience.all) {
        documents.push(e.document);
      } else if (e.audience.policies.some((p) => applies(p, proxy))) {
        documents.push(e.document);
        picked.push(i);
      }
    });
    return { documents, key: picked.join(',') };
  }
}
