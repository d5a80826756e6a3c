//! Policy attachment (Gateway API GEP-713): a policy names its targets in `spec.targetRefs`; of two
//! policies of one kind naming the same target, the older keeps it and the newer is reported
//! Conflicted. What a policy means is its kind's business: `compile` turns it into settings once,
//! and the kind merges the settings of a request's targets, the narrower winning.

import { CONTROLLER_NAME, GATEWAY_GROUP, type PolicyTargetReference, type Resource } from '../resources.js';
import { condition, type ResourceStatus, type RouteParentStatus } from '../status.js';
import type { ListenerInfo } from './gateways.js';
import { nsOf, type ResourceIndex } from './index-resources.js';
import { olderFirst } from './order.js';

/**
 * Whether a target exists, or undefined for a kind that another translation serves (the gateway
 * leaves Services to the mesh, the mesh leaves Gateways to the gateway), which then reports it.
 */
export type TargetExists = (ref: PolicyTargetReference, namespace: string) => boolean | undefined;

export const targetKey = (kind: string, namespace: string, name: string, sectionName = ''): string => `${kind}/${namespace}/${name}/${sectionName}`;

/** Thrown by a policy kind's `compile` when a policy's settings cannot be built; its status tells why. */
export class PolicyProblem extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

type Policy = Extract<Resource, { spec: { targetRefs: readonly PolicyTargetReference[] } }>;

export interface Attached<S> {
  readonly byTarget: Map<string, S>;
  readonly statuses: ResourceStatus[];
}

/**
 * Each policy's settings by the target it applies to. `compile` runs once per policy; when it
 * throws a PolicyProblem, `onProblem` gives the settings its targets get instead (a policy that
 * guards something must fail closed, not vanish) and the status says Accepted false with the reason.
 */
export function attachPolicies<P extends Policy, S>(
  policies: readonly P[], exists: TargetExists, compile: (policy: P) => S, onProblem?: (problem: PolicyProblem, policy: P) => S,
): Attached<S> {
  const byTarget = new Map<string, S>();
  const statuses: ResourceStatus[] = [];
  for (const policy of [...policies].sort(olderFirst)) {
    const ns = nsOf(policy);
    const gen = policy.metadata.generation;
    let compiled: S | PolicyProblem | undefined;
    const ancestors: RouteParentStatus[] = [];
    for (const ref of policy.spec.targetRefs) {
      const found = exists(ref, ns);
      if (found === undefined) continue;
      const parentRef = { group: ref.group, kind: ref.kind, namespace: ns, name: ref.name, ...(ref.sectionName ? { sectionName: ref.sectionName } : {}) };
      const target = targetKey(ref.kind, ns, ref.name, ref.sectionName);
      let cond;
      if (!found) cond = condition('Accepted', false, 'TargetNotFound', `${ref.kind} ${ns}/${ref.name}${ref.sectionName ? ` section ${ref.sectionName}` : ''} not found`, gen);
      else if (byTarget.has(target)) cond = condition('Accepted', false, 'Conflicted', `an older ${policy.kind} already targets ${ref.kind} ${ns}/${ref.name}`, gen);
      else {
        compiled ??= compileOnce(policy, compile);
        if (compiled instanceof PolicyProblem) {
          if (onProblem !== undefined) byTarget.set(target, onProblem(compiled, policy));
          cond = condition('Accepted', false, compiled.reason, compiled.message, gen);
        } else {
          byTarget.set(target, compiled as S);
          cond = condition('Accepted', true, 'Accepted', 'policy applied', gen);
        }
      }
      ancestors.push({ parentRef, controllerName: CONTROLLER_NAME, conditions: [cond] });
    }
    if (ancestors.length > 0) statuses.push({ kind: policy.kind, namespace: ns, name: policy.metadata.name, ancestors });
  }
  return { byTarget, statuses };
}

function compileOnce<P, S>(policy: P, compile: (policy: P) => S): S | PolicyProblem {
  try {
    return compile(policy);
  } catch (err) {
    if (err instanceof PolicyProblem) return err;
    throw err;
  }
}

const routeExists = (idx: ResourceIndex, ns: string, name: string) => idx.routes.some((r) => nsOf(r) === ns && r.metadata.name === name);

/** Targets the gateway serves: a Gateway, one of its listeners (sectionName), or an HTTPRoute; Services belong to the mesh. */
export function gatewayTargets(idx: ResourceIndex, listeners: readonly ListenerInfo[]): TargetExists {
  return (ref, ns) => {
    if (ref.group === '' && ref.kind === 'Service') return undefined;
    if (ref.group !== GATEWAY_GROUP) return false;
    // A route's sectionName (one rule) is not a target windrose applies policies to; accepting it would
    // report a policy that guards nothing.
    if (ref.kind === 'HTTPRoute') return ref.sectionName === undefined && routeExists(idx, ns, ref.name);
    return ref.kind === 'Gateway' &&
      listeners.some((l) => nsOf(l.gateway) === ns && l.gateway.metadata.name === ref.name && (ref.sectionName === undefined || l.listener.name === ref.sectionName));
  };
}

/** The settings of a route on a listener, narrowest first: the HTTPRoute's, the listener's, the Gateway's. */
export function gatewayChain<S>(byTarget: Map<string, S>, listener: ListenerInfo, route: { metadata: { name: string; namespace?: string } }): (S | undefined)[] {
  const gw = listener.gateway;
  return [
    byTarget.get(targetKey('HTTPRoute', route.metadata.namespace ?? 'default', route.metadata.name)),
    byTarget.get(targetKey('Gateway', nsOf(gw), gw.metadata.name, listener.listener.name)),
    byTarget.get(targetKey('Gateway', nsOf(gw), gw.metadata.name)),
  ];
}
