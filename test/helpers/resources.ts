//! YAML for the resources end-to-end tests hand to windrose: the Gateway "gw", windrose Backends on
//! loopback, HTTPRoutes on "gw" and the BackendTrafficPolicies and SecurityPolicies on them.

import { stringify } from 'yaml';

export const GATEWAY_CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: windrose }
spec: { controllerName: windrose.dev/gateway-controller }
`;

/** Joins YAML documents into one multi-document file. */
export function docs(...parts: string[]): string {
  return parts.join('---\n');
}

/** The GatewayClass and the Gateway "gw" with one HTTP listener per entry: listener name to port. */
export function gateway(listeners: Record<string, number>): string {
  const items = Object.entries(listeners).map(([name, port]) => `  - { name: ${name}, port: ${port}, protocol: HTTP }`);
  return docs(GATEWAY_CLASS, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: windrose
  listeners:
${items.join('\n')}
`);
}

/** An endpoint on 127.0.0.1; any server object with a `port` will do. */
export interface Endpoint {
  readonly port: number;
  readonly weight?: number;
  readonly zone?: string;
}

/** A windrose Backend with static endpoints on loopback. */
export function backend(name: string, endpoints: readonly Endpoint[]): string {
  // Picked field by field: the endpoints are often whole server objects.
  const items = endpoints.map((e) => `  - ${JSON.stringify({ ip: '127.0.0.1', port: e.port, weight: e.weight, zone: e.zone })}`);
  return `apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: ${name}, namespace: default }
spec:
  endpoints:
${items.join('\n')}
`;
}

export interface RouteOptions {
  /** The Backends the rule sends to, by name, with a weight where the split matters. Default: the one named as the route. */
  readonly backends?: readonly (string | { readonly name: string; readonly weight: number })[];
  /** The PathPrefix the rule matches. Default: "/". */
  readonly path?: string;
  /** The listener of "gw" the route attaches to. Default: all of them. */
  readonly sectionName?: string;
  /** More fields of the rule, as YAML indented by four spaces. */
  readonly rule?: string;
}

/** An HTTPRoute on Gateway "gw" with one PathPrefix rule. */
export function route(name: string, opts: RouteOptions = {}): string {
  const parent = opts.sectionName === undefined ? '{ name: gw }' : `{ name: gw, sectionName: ${opts.sectionName} }`;
  const refs = (opts.backends ?? [name]).map((b) => `    - ${JSON.stringify({ group: 'windrose.dev', kind: 'Backend', ...(typeof b === 'string' ? { name: b } : b) })}`);
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: default }
spec:
  parentRefs: [${parent}]
  rules:
  - matches: [{ path: { type: PathPrefix, value: ${opts.path ?? '/'} } }]
    backendRefs:
${refs.join('\n')}
${opts.rule ?? ''}`;
}

/** A BackendTrafficPolicy on the HTTPRoute `routeName`, named as it; `spec` is the rest of the policy's spec. */
export function policy(routeName: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'windrose.dev/v1alpha1',
    kind: 'BackendTrafficPolicy',
    metadata: { name: routeName, namespace: 'default' },
    spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: routeName }], ...spec },
  });
}

/**
 * A Backend, an HTTPRoute for PathPrefix `/<name>/` to it and a BackendTrafficPolicy with `spec` on
 * that route, all named `name`: so several cases with policies of their own share one gateway.
 */
export function scenario(name: string, endpoints: readonly Endpoint[], spec: Record<string, unknown>): string {
  return docs(backend(name, endpoints), route(name, { path: `/${name}/` }), policy(name, spec));
}

export interface PolicyTarget {
  readonly kind: 'HTTPRoute' | 'Gateway';
  readonly name: string;
  readonly sectionName?: string;
}

/** A SecurityPolicy named `name` with `spec` as the rest of its spec, on the HTTPRoute of the same name unless `target` says otherwise. */
export function securityPolicy(name: string, spec: Record<string, unknown>, target: PolicyTarget = { kind: 'HTTPRoute', name }): string {
  return stringify({
    apiVersion: 'windrose.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name, namespace: 'default' },
    spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', ...target }], ...spec },
  });
}
