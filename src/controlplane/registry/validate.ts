//! Registry entries as registry.json keeps them: a proxy's descriptor (src/mesh/descriptor.ts)
//! under the identity its certificate proved.

import { isMapping } from '../../mapping.js';
import { describeProblem, isDescriptorProblem, parseDescriptor } from '../../mesh/descriptor.js';
import type { ProxyDescriptor } from '../../mesh/protocol.js';
import type { Workload } from './workloads.js';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A workload as registry.json keeps it, or why an entry is not one. */
export function parseWorkload(v: unknown): Workload | string {
  if (!isMapping(v)) return 'expected an object';
  const descriptor = parseDescriptor(v);
  if (isDescriptorProblem(descriptor)) return describeProblem(descriptor);
  const { spiffeId, namespace, serviceAccount } = v;
  if (typeof namespace !== 'string' || !NAME.test(namespace)) return 'namespace: expected a Kubernetes name';
  if (typeof serviceAccount !== 'string' || !NAME.test(serviceAccount)) return 'serviceAccount: expected a Kubernetes name';
  if (typeof spiffeId !== 'string' || !spiffeId.startsWith('spiffe://')) return 'spiffeId: expected a SPIFFE ID';
  return workloadOf(descriptor, { spiffeId, namespace, serviceAccount });
}

/** The registry entry of a proxy: what it described, under the identity its certificate proved. */
export function workloadOf(d: ProxyDescriptor, who: { spiffeId: string; namespace: string; serviceAccount: string }): Workload {
  return { ...d, spiffeId: who.spiffeId, namespace: who.namespace, serviceAccount: who.serviceAccount };
}
