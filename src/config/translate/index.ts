//! resources -> snapshot + per-resource status: a pure function, tested with YAML fixtures.

import { compileRouteTable, type RouteEntry } from '../../dataplane/router/table.js';
import { DEFAULT_LIMITS } from '../limits.js';
import type { ListenerLimits, PortConfig, RuleTarget, Snapshot } from '../model.js';
import type { Resource } from '../resources.js';
import type { ResourceStatus } from '../status.js';
import { backendTLSStatuses } from './backend-tls.js';
import { ClusterRegistry } from './backends.js';
import { portTLS, withClientValidation, type ListenerTLS } from './edge-tls.js';
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

  const byPort = new Map<number, {
    protocol: 'HTTP' | 'HTTPS'; listeners: string[]; entries: RouteEntry<RuleTarget>[]; certificates: PortConfig['certificates'][number][];
    tls: (ListenerTLS | undefined)[];
  }>();
  for (const l of gateways.listeners) {
    if (!l.usable) continue;
    const port = byPort.get(l.listener.port) ?? { protocol: l.protocol, listeners: [], entries: [], certificates: [], tls: [] };
    const tls = l.protocol === 'HTTPS' ? security.listenerTLS(l) : undefined;
    port.listeners.push(l.id);
    port.entries.push(...(routes.entries.get(l.id) ?? []));
    port.certificates.push(...withClientValidation(l.certificates, tls));
    port.tls.push(tls);
    byPort.set(l.listener.port, port);
  }
  const ports: PortConfig[] = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, p]) => {
      const tls = portTLS(p.tls);
      return {
        port, protocol: p.protocol, listeners: p.listeners, certificates: p.certificates, ...(tls ? { tls } : {}), limits,
        routes: compileRouteTable(p.entries),
      };
    });

  const statuses: ResourceStatus[] = [
    ...withAttachedRoutes(gateways.statuses, gateways.listeners),
    ...routes.statuses,
    ...policies.statuses,
    ...security.statuses,
    ...backendTLSStatuses(idx),
  ];
  return { ports, clusters: clusters.all(), statuses };
}
