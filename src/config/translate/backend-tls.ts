//! BackendTLSPolicy: which backends windrose reaches over TLS and how it verifies them. A policy
//! targets a Service (a port of it by sectionName, the port's name) or a windrose Backend; the
//! narrower target wins, and of two policies on one target the older. A policy that cannot be
//! applied leaves its backends unresolved (500), never reached in cleartext.

import type { UpstreamTLS } from '../model.js';
import { WINDROSE_GROUP, type BackendTLSPolicy, type LocalObjectReference } from '../resources.js';
import { condition, type ResourceStatus } from '../status.js';
import { attachPolicies, PolicyProblem, targetKey } from './attachment.js';
import { key, nsOf, storedValue, type ResourceIndex } from './index-resources.js';
import { pemCertificates } from './pem.js';

/** A backend's TLS, or why the policy that targets it cannot be applied. */
export type BackendTLS = UpstreamTLS | { readonly problem: string };

interface Table {
  readonly byTarget: Map<string, BackendTLS>;
  readonly statuses: ResourceStatus[];
}

// Backends are resolved rule by rule; the policies are attached once per translation.
const tables = new WeakMap<ResourceIndex, Table>();

function caBundle(idx: ResourceIndex, refs: readonly LocalObjectReference[], namespace: string): string {
  const certs: string[] = [];
  for (const ref of refs) {
    if (ref.group !== '' || (ref.kind !== 'ConfigMap' && ref.kind !== 'Secret')) {
      throw new PolicyProblem('InvalidKind', `caCertificateRef kind ${ref.kind} (group "${ref.group}") is not supported; use a ConfigMap or a Secret with the key ca.crt`);
    }
    const label = `${ref.kind} ${namespace}/${ref.name}`;
    const text = storedValue(idx, ref.kind, namespace, ref.name, 'ca.crt')?.toString('utf8');
    if (text === undefined) throw new PolicyProblem('InvalidCACertificateRef', `${label} not found, or has no key ca.crt`);
    const found = pemCertificates(text);
    if (found === undefined) throw new PolicyProblem('InvalidCACertificateRef', `${label} key ca.crt holds no valid PEM certificate`);
    certs.push(...found);
  }
  return `${certs.join('\n')}\n`;
}

function compile(idx: ResourceIndex, policy: BackendTLSPolicy): UpstreamTLS {
  const v = policy.spec.validation;
  const refs = v.caCertificateRefs ?? [];
  return {
    ...(refs.length > 0 ? { caPem: caBundle(idx, refs, nsOf(policy)) } : {}),
    hostname: v.hostname.toLowerCase(),
    ...(v.subjectAltNames ? {
      subjectAltNames: v.subjectAltNames.map((s) => (s.type === 'Hostname'
        ? { type: 'Hostname' as const, value: (s.hostname ?? '').toLowerCase() }
        : { type: 'URI' as const, value: s.uri ?? '' })),
    } : {}),
  };
}

/** Gateway API's conditions: ResolvedRefs says what was wrong with a reference, Accepted whether the policy applies. */
function withResolvedRefs(statuses: ResourceStatus[]): ResourceStatus[] {
  return statuses.map((s) => ({
    ...s,
    ancestors: (s.ancestors ?? []).map((a) => {
      const accepted = a.conditions[0];
      if (accepted.status === 'True') {
        return { ...a, conditions: [accepted, condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', accepted.observedGeneration)] };
      }
      if (accepted.reason !== 'InvalidKind' && accepted.reason !== 'InvalidCACertificateRef') return a;
      return {
        ...a,
        conditions: [
          condition('Accepted', false, 'NoValidCACertificate', `not applied, its backends answer 500: ${accepted.message}`, accepted.observedGeneration),
          condition('ResolvedRefs', false, accepted.reason, accepted.message, accepted.observedGeneration),
        ],
      };
    }),
  }));
}

function table(idx: ResourceIndex): Table {
  let t = tables.get(idx);
  if (t !== undefined) return t;
  const { byTarget, statuses } = attachPolicies<BackendTLSPolicy, BackendTLS>(idx.backendTLSPolicies, (ref, ns) => {
    if (ref.group === '' && ref.kind === 'Service') {
      const service = idx.services.get(key(ns, ref.name));
      return service !== undefined && (ref.sectionName === undefined || (service.spec.ports ?? []).some((p) => p.name === ref.sectionName));
    }
    if (ref.group === WINDROSE_GROUP && ref.kind === 'Backend') return ref.sectionName === undefined && idx.backends.has(key(ns, ref.name));
    return false;
  }, (p) => compile(idx, p), (problem) => ({ problem: problem.message }));
  t = { byTarget, statuses: withResolvedRefs(statuses) };
  tables.set(idx, t);
  return t;
}

/** The TLS of a backend: the policy on its port (a Service's named port), else on the whole backend. */
export function backendTLSFor(idx: ResourceIndex, kind: 'Service' | 'Backend', namespace: string, name: string, portName?: string): BackendTLS | undefined {
  const { byTarget } = table(idx);
  return (portName === undefined ? undefined : byTarget.get(targetKey(kind, namespace, name, portName))) ?? byTarget.get(targetKey(kind, namespace, name));
}

export function backendTLSStatuses(idx: ResourceIndex): ResourceStatus[] {
  return table(idx).statuses;
}
