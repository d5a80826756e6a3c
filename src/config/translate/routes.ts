//! HTTPRoute attachment to listeners and compilation of each rule into a RuleTarget per listener.

import type { RouteEntry } from '../../dataplane/router/table.js';
import type { Filter } from '../../dataplane/filters/filter.js';
import { requestHeaderModifier, responseHeaderModifier } from '../../dataplane/filters/gateway-api/header-modifier.js';
import { requestMirror } from '../../dataplane/filters/gateway-api/mirror.js';
import { requestRedirect } from '../../dataplane/filters/gateway-api/redirect.js';
import { unsupportedFilter } from '../../dataplane/filters/gateway-api/unsupported.js';
import { urlRewrite } from '../../dataplane/filters/gateway-api/url-rewrite.js';
import { faultInjection } from '../../dataplane/filters/fault/filter.js';
import { corsFilter } from '../../dataplane/filters/security/cors.js';
import type { RuleTarget, WeightedCluster } from '../model.js';
import { CONTROLLER_NAME, GATEWAY_GROUP, type HTTPRoute, type HTTPRouteFilter, type HTTPRouteRule, type ParentReference } from '../resources.js';
import { condition, type Condition, type ResourceStatus, type RouteParentStatus } from '../status.js';
import { ClusterRegistry, resolveBackend } from './backends.js';
import { durationMs } from './durations.js';
import type { ListenerInfo } from './gateways.js';
import { intersectHostnames } from './hostnames.js';
import { namespaceLabels, nsOf, selectorMatches, type ResourceIndex } from './index-resources.js';
import { clusterSettings, DEFAULT_STREAM_IDLE_MS, type PolicyResult, type TrafficSettings } from './policies.js';
import { retryPolicy } from './resilience.js';
import type { SecurityResult } from './security.js';

export interface RouteResult {
  /** Route entries per listener id. */
  readonly entries: Map<string, RouteEntry<RuleTarget>[]>;
  readonly statuses: ResourceStatus[];
}

export interface RefProblem { reason: string; message: string }

/** Where compiled rules are served: the listener named in metrics, and the port a redirect keeps. */
export interface RuleSite {
  readonly id: string;
  readonly port: number;
}

function listenerAllows(idx: ResourceIndex, l: ListenerInfo, route: HTTPRoute): boolean {
  if (!l.acceptsHTTPRoutes) return false;
  const from = l.listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return nsOf(l.gateway) === nsOf(route);
  const selector = l.listener.allowedRoutes?.namespaces?.selector;
  return selector !== undefined && selectorMatches(selector, namespaceLabels(idx, nsOf(route)));
}

function compileFilters(
  idx: ResourceIndex, route: HTTPRoute, filters: readonly HTTPRouteFilter[] | undefined, site: RuleSite,
  clusters: ClusterRegistry, settings: TrafficSettings, problems: RefProblem[],
): Filter[] {
  const out: Filter[] = [];
  for (const f of filters ?? []) {
    switch (f.type) {
      case 'RequestHeaderModifier': if (f.requestHeaderModifier) out.push(requestHeaderModifier(f.requestHeaderModifier)); break;
      case 'ResponseHeaderModifier': if (f.responseHeaderModifier) out.push(responseHeaderModifier(f.responseHeaderModifier)); break;
      case 'RequestRedirect': if (f.requestRedirect) out.push(requestRedirect(f.requestRedirect, site.port)); break;
      case 'URLRewrite': if (f.urlRewrite) out.push(urlRewrite(f.urlRewrite)); break;
      // GEP-1767: a browser caches a preflight answer for 5 seconds when the filter sets no maxAge.
      case 'CORS': if (f.cors) out.push(corsFilter({ ...f.cors, maxAge: `${f.cors.maxAge ?? 5}s` })); break;
      case 'RequestMirror': {
        const m = f.requestMirror;
        if (!m) break;
        const res = resolveBackend(idx, route, m.backendRef);
        if (!res.ok) { problems.push(res); break; }
        const fraction = m.percent !== undefined ? m.percent / 100 : m.fraction ? m.fraction.numerator / (m.fraction.denominator ?? 100) : 1;
        // Mirrored copies are never retried, so their clusters need no retry budget.
        out.push(requestMirror(clusters.intern(res.name, res.endpoints, clusterSettings(res.protocol, settings, false, res.tls)), fraction));
        break;
      }
      default:
        // Gateway API: a filter that cannot be applied must not be skipped; the requests it would see get an error.
        problems.push({ reason: 'UnsupportedValue', message: `filter type ${f.type} is not supported` });
        out.push(unsupportedFilter(f.type));
    }
  }
  return out;
}

function compileRule(
  idx: ResourceIndex, route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, site: RuleSite,
  clusters: ClusterRegistry, settings: TrafficSettings, problems: RefProblem[], security: readonly Filter[],
): RuleTarget {
  const retry = retryPolicy(settings.retry, rule.retry);
  const backends: WeightedCluster[] = [];
  for (const ref of rule.backendRefs ?? []) {
    const weight = ref.weight ?? 1;
    const filters = compileFilters(idx, route, ref.filters, site, clusters, settings, problems);
    const res = resolveBackend(idx, route, ref);
    if (!res.ok) {
      problems.push(res);
      if (weight > 0) backends.push({ weight, cluster: undefined, unresolvedReason: res.message, filters });
      continue;
    }
    if (weight > 0) backends.push({ weight, cluster: clusters.intern(res.name, res.endpoints, clusterSettings(res.protocol, settings, retry !== undefined, res.tls)), filters });
  }
  const requestMs = rule.timeouts?.request !== undefined ? durationMs(rule.timeouts.request) : (settings.requestTimeoutMs ?? 0);
  const backendRequestMs = rule.timeouts?.backendRequest !== undefined ? durationMs(rule.timeouts.backendRequest) : (settings.retry?.perTryTimeoutMs ?? 0);
  return {
    routeName: `${nsOf(route)}/${route.metadata.name}`,
    ruleIndex,
    listenerName: site.id,
    // Policy filters run before the route's own: nothing reaches a rewrite or mirror before the
    // SecurityPolicy let it through, and an injected fault answers before any rewrite or mirror.
    filters: [
      ...security,
      ...(settings.fault ? [faultInjection(settings.fault)] : []),
      ...compileFilters(idx, route, rule.filters, site, clusters, settings, problems),
    ],
    backends,
    totalWeight: backends.reduce((sum, b) => sum + b.weight, 0),
    timeouts: { requestMs, backendRequestMs, streamIdleMs: settings.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS },
    ...(retry ? { retry } : {}),
  };
}

/** The route table entries of every rule of a route, served on `site` for `hostnames`; `security` runs first in every rule. */
export function routeEntries(
  idx: ResourceIndex, route: HTTPRoute, hostnames: readonly string[], site: RuleSite,
  clusters: ClusterRegistry, settings: TrafficSettings, problems: RefProblem[], security: readonly Filter[] = [],
): RouteEntry<RuleTarget>[] {
  const entries: RouteEntry<RuleTarget>[] = [];
  (route.spec.rules ?? [{}]).forEach((rule, ruleIndex) => {
    const target = compileRule(idx, route, rule, ruleIndex, site, clusters, settings, problems, security);
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{ path: { type: 'PathPrefix' as const, value: '/' } }];
    matches.forEach((match, matchIndex) => entries.push({
      hostnames, match, ruleIndex, matchIndex, target,
      route: { namespace: nsOf(route), name: route.metadata.name, creationTimestamp: route.metadata.creationTimestamp },
    }));
  });
  return entries;
}

/** One ResolvedRefs condition for a parent, however many references failed: conditions are keyed by type. */
export function resolvedRefs(problems: readonly RefProblem[], generation: number | undefined): Condition {
  const unique = [...new Map(problems.map((p) => [p.message, p])).values()];
  return unique.length === 0 ? condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', generation)
    : condition('ResolvedRefs', false, unique[0].reason, unique.map((p) => p.message).join('; '), generation);
}

function parentListeners(ref: ParentReference, route: HTTPRoute, listeners: readonly ListenerInfo[]): ListenerInfo[] {
  const ns = ref.namespace ?? nsOf(route);
  return listeners.filter((l) =>
    nsOf(l.gateway) === ns && l.gateway.metadata.name === ref.name &&
    (ref.sectionName === undefined || l.listener.name === ref.sectionName) &&
    (ref.port === undefined || l.listener.port === ref.port));
}

export function translateRoutes(
  idx: ResourceIndex, listeners: readonly ListenerInfo[], policies: PolicyResult, security: SecurityResult, clusters: ClusterRegistry,
): RouteResult {
  const entries = new Map<string, RouteEntry<RuleTarget>[]>();
  const statuses: ResourceStatus[] = [];
  for (const route of idx.routes) {
    const gen = route.metadata.generation;
    const parents: RouteParentStatus[] = [];
    for (const ref of route.spec.parentRefs ?? []) {
      if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
      const candidates = parentListeners(ref, route, listeners);
      if (candidates.length === 0) {
        const gatewayKnown = listeners.some((l) => nsOf(l.gateway) === (ref.namespace ?? nsOf(route)) && l.gateway.metadata.name === ref.name);
        if (!gatewayKnown) continue; // not a Gateway windrose serves: its own controller reports status
        parents.push({ parentRef: ref, controllerName: CONTROLLER_NAME, conditions: [condition('Accepted', false, 'NoMatchingParent', 'no listener matches sectionName/port', gen)] });
        continue;
      }
      const problems: RefProblem[] = [];
      let accepted = 0;
      let reason = 'NotAllowedByListeners';
      for (const l of candidates) {
        // Attachment depends only on allowedRoutes and the parentRef (and the hostnames meeting):
        // a route attaches to, and is counted by, a listener that is not served too.
        if (!listenerAllows(idx, l, route)) continue;
        const hostnames = intersectHostnames(l.listener.hostname, route.spec.hostnames);
        if (hostnames.length === 0) { reason = 'NoMatchingListenerHostname'; continue; }
        accepted++;
        l.attachedRoutes++;
        const settings = policies.effective(l, route);
        // Rules on a listener that is not served are still compiled, for their references' status,
        // but into a registry of their own so the snapshot holds no cluster that nothing uses.
        const registry = l.usable ? clusters : new ClusterRegistry();
        const list = entries.get(l.id) ?? [];
        list.push(...routeEntries(idx, route, hostnames, { id: l.id, port: l.listener.port }, registry, settings, problems, security.filters(l, route)));
        if (l.usable) entries.set(l.id, list);
      }
      const conds: Condition[] = [
        accepted > 0 ? condition('Accepted', true, 'Accepted', `attached to ${accepted} listener(s)`, gen)
          : condition('Accepted', false, reason, reason === 'NoMatchingListenerHostname' ? 'no listener hostname intersects the route hostnames' : 'no listener allows this route', gen),
      ];
      conds.push(resolvedRefs(problems, gen));
      parents.push({ parentRef: ref, controllerName: CONTROLLER_NAME, conditions: conds });
    }
    if (parents.length > 0) statuses.push({ kind: 'HTTPRoute', namespace: nsOf(route), name: route.metadata.name, parents });
  }
  return { entries, statuses };
}
