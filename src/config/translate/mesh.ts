//! Resources -> a sidecar's two ports. Inbound: callers' mutual TLS, the AuthorizationPolicies that
//! select the workload, then the application on localhost. Outbound: the application's calls to
//! Services, routed by the HTTPRoutes whose parent is that Service (GAMMA, GEP-1426), else straight
//! to the Service, with the BackendTrafficPolicies of the Service and the route.

import { authorizationFilter } from '../../dataplane/filters/authorization/filter.js';
import { compileRouteTable, type RouteEntry } from '../../dataplane/router/table.js';
import { MESH_ROOT_NAMESPACE } from '../../mesh/protocol.js';
import type { ListenerLimits, MtlsMode, RuleTarget } from '../model.js';
import { CONTROLLER_NAME, type AuthorizationPolicy, type HTTPRoute, type ParentReference, type Resource, type Service } from '../resources.js';
import { condition, type ResourceStatus, type RouteParentStatus } from '../status.js';
import { ClusterRegistry } from './backends.js';
import { DEFAULT_LIMITS } from '../limits.js';
import type { Translation } from './index.js';
import { indexResources, key, nsOf, selectorMatches, type ResourceIndex } from './index-resources.js';
import { clusterSettings, DEFAULT_STREAM_IDLE_MS, translateMeshTrafficPolicies, type MeshPolicyResult } from './policies.js';
import { compareStrings } from './order.js';
import { resolvedRefs, routeEntries, type RefProblem } from './routes.js';

export interface MeshWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly inbound: { readonly port: number; readonly mode: MtlsMode };
  readonly outbound: { readonly port: number; readonly host: string };
  /** The application, on 127.0.0.1. */
  readonly appPort: number;
  /** "cluster.local" */
  readonly clusterDomain: string;
}

const INBOUND = 'inbound';
const OUTBOUND = 'outbound';
const ANY_PATH = { path: { type: 'PathPrefix' as const, value: '/' } };

export function translateMesh(resources: readonly Resource[], self: MeshWorkload, limits: ListenerLimits = DEFAULT_LIMITS): Translation {
  const idx = indexResources(resources);
  const clusters = new ClusterRegistry();
  const policies = translateMeshTrafficPolicies(idx);
  const outbound = translateOutbound(idx, self, policies, clusters);
  return {
    ports: [
      {
        port: self.inbound.port, protocol: 'MTLS', mtlsMode: self.inbound.mode, listeners: [INBOUND], certificates: [], limits,
        routes: compileRouteTable([inboundEntry(idx, self, clusters)]),
      },
      {
        port: self.outbound.port, protocol: 'HTTP', forwardProxy: true, bindHost: self.outbound.host, listeners: [OUTBOUND], certificates: [], limits,
        routes: compileRouteTable(outbound.entries),
      },
    ],
    clusters: clusters.all(),
    statuses: [...outbound.statuses, ...policies.statuses],
  };
}

/**
 * Istio's selection: policies in the workload's namespace, and in the mesh root namespace for every
 * workload, each either without a selector or with matchLabels the workload's labels include.
 */
function appliesTo(p: AuthorizationPolicy, self: MeshWorkload): boolean {
  const ns = nsOf(p);
  if (ns !== self.namespace && ns !== MESH_ROOT_NAMESPACE) return false;
  return p.spec.selector === undefined || selectorMatches(p.spec.selector, self.labels);
}

/** Every request to the inbound port, whatever its host and path: authorized, then sent to the application. */
function inboundEntry(idx: ResourceIndex, self: MeshWorkload, clusters: ClusterRegistry): RouteEntry<RuleTarget> {
  const policies = idx.authorizationPolicies
    .filter((p) => appliesTo(p, self))
    .map((p) => ({ name: key(nsOf(p), p.metadata.name), spec: p.spec }))
    .sort((a, b) => compareStrings(a.name, b.name));
  const app = clusters.intern(`${INBOUND}|${self.appPort}`, [{ host: '127.0.0.1', port: self.appPort }], clusterSettings('http1', {}, false));
  const target: RuleTarget = {
    routeName: INBOUND,
    ruleIndex: 0,
    listenerName: INBOUND,
    // Without a policy there is nothing to decide, and no filter to run (as Istio installs no RBAC filter).
    filters: policies.length > 0 ? [authorizationFilter(policies, self.appPort)] : [],
    backends: [{ weight: 1, cluster: app, filters: [] }],
    totalWeight: 1,
    timeouts: { requestMs: 0, backendRequestMs: 0, streamIdleMs: DEFAULT_STREAM_IDLE_MS },
  };
  return { hostnames: ['*'], match: ANY_PATH, route: { namespace: self.namespace, name: INBOUND }, ruleIndex: 0, matchIndex: 0, target };
}

/** GEP-1426: a parentRef to a Service in the core group makes a route a mesh route. */
const isServiceParent = (ref: ParentReference) => ref.group === '' && ref.kind === 'Service';

/** The names the application may call a Service by, as Kubernetes DNS resolves them from its namespace. */
function serviceHostnames(service: Service, self: MeshWorkload): string[] {
  const name = `${service.metadata.name}.${nsOf(service)}`;
  return [name, `${name}.svc`, `${name}.svc.${self.clusterDomain}`, ...(nsOf(service) === self.namespace ? [service.metadata.name] : [])];
}

/** A mesh route's parentRef to a Service. */
interface Attachment {
  readonly route: HTTPRoute;
  readonly ref: ParentReference;
  readonly serviceKey: string;
  /** A route in the Service's own namespace: for every caller, unless a consumer route replaces it. */
  readonly producer: boolean;
}

function attachments(idx: ResourceIndex, self: MeshWorkload): Attachment[] {
  const out: Attachment[] = [];
  for (const route of idx.routes) {
    for (const ref of route.spec.parentRefs ?? []) {
      if (!isServiceParent(ref)) continue;
      const namespace = ref.namespace ?? nsOf(route);
      const producer = namespace === nsOf(route);
      // Consumer routes of other namespaces are their callers' own business, status included.
      if (producer || nsOf(route) === self.namespace) out.push({ route, ref, serviceKey: key(namespace, ref.name), producer });
    }
  }
  return out;
}

/** The attachment's Service, or why the route cannot attach to it. */
function parentService(idx: ResourceIndex, a: Attachment): Service | string {
  const service = idx.services.get(a.serviceKey);
  if (service === undefined) return `Service ${a.serviceKey} not found`;
  const port = a.ref.port;
  if (port !== undefined && !(service.spec.ports ?? []).some((p) => p.port === port)) return `Service ${a.serviceKey} has no port ${port}`;
  return service;
}

function translateOutbound(
  idx: ResourceIndex, self: MeshWorkload, policies: MeshPolicyResult, clusters: ClusterRegistry,
): { entries: RouteEntry<RuleTarget>[]; statuses: ResourceStatus[] } {
  const resolved = attachments(idx, self).map((a) => ({ ...a, service: parentService(idx, a) }));
  const consumed = new Set(resolved.filter((a) => !a.producer && typeof a.service !== 'string').map((a) => a.serviceKey));
  const routed = new Set<string>();
  const compiled = new Set<string>();
  const parents = new Map<HTTPRoute, RouteParentStatus[]>();
  const entries: RouteEntry<RuleTarget>[] = [];

  for (const { route, ref, serviceKey, producer, service } of resolved) {
    const gen = route.metadata.generation;
    const list = parents.get(route) ?? [];
    parents.set(route, list);
    if (typeof service === 'string') {
      list.push({ parentRef: ref, controllerName: CONTROLLER_NAME, conditions: [condition('Accepted', false, 'NoMatchingParent', service, gen)] });
      continue;
    }
    // A consumer route replaces the producer routes for this caller; those are still compiled, for
    // their status, into a registry of their own.
    const replaced = producer && consumed.has(serviceKey);
    const problems: RefProblem[] = [];
    const site = { id: OUTBOUND, port: ref.port ?? service.spec.ports?.[0]?.port ?? 80 };
    const hostnames = serviceHostnames(service, self);
    const ruleEntries = routeEntries(idx, route, hostnames, site, replaced ? new ClusterRegistry() : clusters, policies.effective(service, route), problems);
    // Two parentRefs to one Service (on two ports) must not put the route's rules in the table twice.
    const routeKey = `${key(nsOf(route), route.metadata.name)}|${serviceKey}`;
    if (!replaced && !compiled.has(routeKey)) {
      entries.push(...ruleEntries);
      routed.add(serviceKey);
      compiled.add(routeKey);
    }
    const who = producer ? 'every caller' : `callers in namespace ${nsOf(route)}`;
    const accepted = condition('Accepted', true, 'Accepted', `routes calls to Service ${serviceKey} from ${who}`, gen);
    list.push({ parentRef: ref, controllerName: CONTROLLER_NAME, conditions: [accepted, resolvedRefs(problems, gen)] });
  }

  for (const service of idx.services.values()) {
    const port = service.spec.ports?.[0]?.port;
    if (routed.has(key(nsOf(service), service.metadata.name)) || port === undefined) continue;
    entries.push(defaultEntry(idx, service, port, serviceHostnames(service, self), policies, clusters));
  }

  const statuses = [...parents].map(([route, list]): ResourceStatus => ({ kind: 'HTTPRoute', namespace: nsOf(route), name: route.metadata.name, parents: list }));
  return { entries, statuses };
}

/** A Service without mesh routes: any path to the Service itself, on its first port. */
function defaultEntry(
  idx: ResourceIndex, service: Service, port: number, hostnames: readonly string[], policies: MeshPolicyResult, clusters: ClusterRegistry,
): RouteEntry<RuleTarget> {
  const route: HTTPRoute = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: service.metadata.name, namespace: nsOf(service) },
    spec: { rules: [{ backendRefs: [{ name: service.metadata.name, port }] }] },
    source: service.source,
    locate: service.locate,
  };
  const [entry] = routeEntries(idx, route, hostnames, { id: OUTBOUND, port }, clusters, policies.effective(service, undefined), []);
  // Named after the Service, so the metrics of a default route are not taken for an HTTPRoute's.
  return { ...entry, target: { ...entry.target, routeName: `Service ${key(nsOf(service), service.metadata.name)}` } };
}
