//! resources -> snapshot + per-resource status: a pure function, tested with YAML fixtures.

import { compileRouteTable, type RouteEntry } from '../../dataplane/router/table.js';
import { DEFAULT_LIMITS } from '../limits.js';
import type { ListenerLimits, PortConfig, RuleTarget, Snapshot } from '../model.js';
import type { Resource } from '../resources.js';
import type { ResourceStatus } from '../status.js';
import { ClusterRegistry } from './backends.js';
import { translateGateways, withAttachedRoutes } from './gateways.js';
import { indexResources } from './index-resources.js';
import { translateTrafficPolicies } from './policies.js';
import { translateRoutes } from './routes.js';
import { translateSecurityPolicies } from './security.js';


export type Translation = Omit<Snapshot, 'version' | 'createdAt'>;

export function translate(resources: readonly Resource[], limits: ListenerLimits = DEFAULT_LIMITS): Translation {
  const idx = indexResources(resources);
  const gateways = translateGateways(idx);
  const policies = translateTrafficPolicies(idx, gateways.listeners);
  const clusters = new ClusterRegistry();
  const security = translateSecurityPolicies(idx, gateways.listeners);
  const routes = translateRoutes(idx, gateways.listeners, policies, security, clusters);

  const byPort = new Map<number, { protocol: 'HTTP' | 'HTTPS'; listeners: string[]; entries: RouteEntry<RuleTarget>[]; certificates: PortConfig['certificates'][number][] }>();
  for (const l of gateways.listeners) {
    if (!l.usable) continue;
    const port = byPort.get(l.listener.port) ?? { protocol: l.protocol, listeners: [], entries: [], certificates: [] };
    port.listeners.push(l.id);
    port.entries.push(...(routes.entries.get(l.id) ?? []));
    port.certificates.push(...l.certificates);
    byPort.set(l.listener.port, port);
  }
  const ports: PortConfig[] = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, p]) => ({
      port, protocol: p.protocol, listeners: p.listeners, certificates: p.certificates, limits,
      routes: compileRouteTable(p.entries),
    }));

  const statuses: ResourceStatus[] = [
    ...withAttachedRoutes(gateways.statuses, gateways.listeners),
    ...routes.statuses,
    ...policies.statuses,
    ...security.statuses,
  ];
  return { ports, clusters: clusters.all(), statuses };
}
