//! SecurityPolicy attachment and compilation. Each policy's blocks are compiled into filters once;
//! a route on a listener gets, block by block, the narrowest policy's filter (route over listener
//! over Gateway), in the fixed order of COMPILERS below.

import type { Filter } from '../../dataplane/filters/filter.js';
import { apiKeyAuthFilter } from '../../dataplane/filters/security/api-key/filter.js';
import { authorizationFilter } from '../../dataplane/filters/security/authorization.js';
import { corsFilter } from '../../dataplane/filters/security/cors.js';
import { extAuthFilter } from '../../dataplane/filters/security/ext-auth.js';
import { introspectionFilter } from '../../dataplane/filters/security/introspection.js';
import { invalidPolicyFilter } from '../../dataplane/filters/security/invalid.js';
import { jwtFilter } from '../../dataplane/filters/security/jwt.js';
import { oidcFilter } from '../../dataplane/filters/security/oidc/filter.js';
import { wafFilter } from '../../dataplane/filters/security/waf/filter.js';
import type { HTTPRoute, SecretObjectReference, SecurityPolicy, SecurityPolicySpec } from '../resources.js';
import type { ResourceStatus } from '../status.js';
import { attachPolicies, gatewayChain, gatewayTargets, PolicyProblem, targetKey, type TargetExists } from './attachment.js';
import { listenerTLSOf, tlsFilter, type ListenerTLS } from './edge-tls.js';
import type { ListenerInfo } from './gateways.js';
import { nsOf, storedValue, type ResourceIndex } from './index-resources.js';

type Block = Exclude<keyof SecurityPolicySpec, 'targetRefs'>;

/** What a block's compiler may look up: the policy's own name and namespace, and the Secrets it refers to. */
export interface SecurityContext {
  /** "namespace/name" of the policy, for messages and metric labels. */
  readonly policy: string;
  readonly namespace: string;
  /** A Secret's value (decoded) in the policy's namespace; throws a PolicyProblem when the Secret or key is missing. */
  secret(ref: SecretObjectReference, field: string): Buffer;
  /** A ConfigMap's value in the policy's namespace (`data`, else `binaryData` decoded); throws a PolicyProblem when missing. */
  configMap(ref: { readonly name: string; readonly namespace?: string }, field: string): Buffer;
}

type Compiler<B extends Block> = (spec: NonNullable<SecurityPolicySpec[B]>, ctx: SecurityContext) => Filter;

/**
 * Every block's compiler, in the order their filters run: CORS answers preflights before anyone
 * asks a browser for credentials; authorization reads the identity that authentication set.
 */
const COMPILERS: { readonly [B in Block]: Compiler<B> } = {
  // First: it checks the connection's client certificate, an identity later filters may read.
  tls: tlsFilter,
  cors: corsFilter,
  // Before authentication: an attack is refused before any credential is looked up or checked.
  waf: wafFilter,
  apiKeyAuth: apiKeyAuthFilter,
  jwt: jwtFilter,
  introspection: introspectionFilter,
  oidc: oidcFilter,
  extAuth: extAuthFilter,
  authorization: authorizationFilter,
};
const ORDER = Object.keys(COMPILERS) as Block[];

type Compiled = Partial<Record<Block, Filter>>;

export interface SecurityResult {
  readonly statuses: ResourceStatus[];
  /** The security filters of a route on a listener, in the order they run. */
  readonly filters: (listener: ListenerInfo, route: HTTPRoute) => Filter[];
  /** What the `tls` block of the listener's narrowest policy asks of its handshake; undefined when none applies. */
  readonly listenerTLS: (listener: ListenerInfo) => ListenerTLS | undefined;
}

function valueOf(idx: ResourceIndex, kind: 'Secret' | 'ConfigMap', namespace: string, ref: { readonly name: string; readonly namespace?: string }, field: string): Buffer {
  if ((ref.namespace ?? namespace) !== namespace) throw new PolicyProblem('RefNotPermitted', `${kind} ${ref.namespace}/${ref.name} is in another namespace`);
  const value = storedValue(idx, kind, namespace, ref.name, field);
  if (value === undefined) throw new PolicyProblem(`Invalid${kind}Ref`, `${kind} ${namespace}/${ref.name} not found, or has no key "${field}"`);
  return value;
}

function contextOf(idx: ResourceIndex, policy: SecurityPolicy): SecurityContext {
  const namespace = nsOf(policy);
  return {
    policy: `${namespace}/${policy.metadata.name}`,
    namespace,
    secret: (ref, field) => valueOf(idx, 'Secret', namespace, ref, field),
    configMap: (ref, field) => valueOf(idx, 'ConfigMap', namespace, ref, field),
  };
}

function compile(idx: ResourceIndex, policy: SecurityPolicy): Compiled {
  const ctx = contextOf(idx, policy);
  const out: Compiled = {};
  for (const block of ORDER) {
    const spec = policy.spec[block];
    if (spec === undefined) continue;
    try {
      out[block] = (COMPILERS[block] as Compiler<typeof block>)(spec as never, ctx);
    } catch (err) {
      if (err instanceof PolicyProblem) throw new PolicyProblem(err.reason, `${block}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** A policy that cannot be applied guards each block it sets with a refusal, so nothing it meant to protect is served open. */
function refusing(policy: SecurityPolicy): Compiled {
  const filter = invalidPolicyFilter(`${nsOf(policy)}/${policy.metadata.name}`);
  const out: Compiled = {};
  for (const block of ORDER) if (policy.spec[block] !== undefined) out[block] = filter;
  return out;
}

export function translateSecurityPolicies(idx: ResourceIndex, listeners: readonly ListenerInfo[]): SecurityResult {
  const gateway = gatewayTargets(idx, listeners);
  // SecurityPolicy guards the gateway only: a Service target would otherwise get no status at all.
  const exists: TargetExists = (ref, ns) => gateway(ref, ns) ?? false;
  const { byTarget, statuses } = attachPolicies(idx.securityPolicies, exists, (p) => compile(idx, p), (_problem, p) => refusing(p));
  return {
    statuses,
    filters(listener, route) {
      const chain = gatewayChain(byTarget, listener, route);
      const out: Filter[] = [];
      for (const block of ORDER) {
        const filter = chain.find((c) => c?.[block] !== undefined)?.[block];
        // One filter that refuses everything is enough.
        if (filter !== undefined && !out.includes(filter)) out.push(filter);
      }
      return out;
    },
    listenerTLS(listener) {
      const gw = listener.gateway;
      const chain = [targetKey('Gateway', nsOf(gw), gw.metadata.name, listener.listener.name), targetKey('Gateway', nsOf(gw), gw.metadata.name)];
      return listenerTLSOf(chain.map((k) => byTarget.get(k)).find((c) => c?.tls !== undefined)?.tls);
    },
  };
}
