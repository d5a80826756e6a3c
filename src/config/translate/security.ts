//! SecurityPolicy attachment and compilation. Each policy's blocks are compiled into filters once;
//! a route on a listener gets, block by block, the narrowest policy's filter (route over listener
//! over Gateway), in the fixed order of COMPILERS below.

import type { Filter } from '../../dataplane/filters/filter.js';
import { authorizationFilter } from '../../dataplane/filters/security/authorization.js';
import { corsFilter } from '../../dataplane/filters/security/cors.js';
import { invalidPolicyFilter } from '../../dataplane/filters/security/invalid.js';
import type { HTTPRoute, SecretObjectReference, SecurityPolicy, SecurityPolicySpec } from '../resources.js';
import type { ResourceStatus } from '../status.js';
import { attachPolicies, gatewayChain, gatewayTargets, PolicyProblem } from './attachment.js';
import type { ListenerInfo } from './gateways.js';
import { key, nsOf, type ResourceIndex } from './index-resources.js';

type Block = Exclude<keyof SecurityPolicySpec, 'targetRefs'>;

/** What a block's compiler may look up: the policy's own name and namespace, and the Secrets it refers to. */
export interface SecurityContext {
  /** "namespace/name" of the policy, for messages and metric labels. */
  readonly policy: string;
  readonly namespace: string;
  /** A Secret's value (decoded) in the policy's namespace; throws a PolicyProblem when the Secret or key is missing. */
  secret(ref: SecretObjectReference, field: string): Buffer;
}

type Compiler<B extends Block> = (spec: NonNullable<SecurityPolicySpec[B]>, ctx: SecurityContext) => Filter;

/**
 * Every block's compiler, in the order their filters run: CORS answers preflights before anyone
 * asks a browser for credentials; authorization reads the identity that authentication set.
 */
const COMPILERS: { readonly [B in Block]: Compiler<B> } = {
  cors: corsFilter,
  authorization: authorizationFilter,
};
const ORDER = Object.keys(COMPILERS) as Block[];

type Compiled = Partial<Record<Block, Filter>>;

export interface SecurityResult {
  readonly statuses: ResourceStatus[];
  /** The security filters of a route on a listener, in the order they run. */
  readonly filters: (listener: ListenerInfo, route: HTTPRoute) => Filter[];
}

function contextOf(idx: ResourceIndex, policy: SecurityPolicy): SecurityContext {
  const namespace = nsOf(policy);
  return {
    policy: `${namespace}/${policy.metadata.name}`,
    namespace,
    secret(ref, field) {
      if ((ref.namespace ?? namespace) !== namespace) throw new PolicyProblem('RefNotPermitted', `Secret ${ref.namespace}/${ref.name} is in another namespace`);
      const secret = idx.secrets.get(key(namespace, ref.name));
      if (secret === undefined) throw new PolicyProblem('InvalidSecretRef', `Secret ${namespace}/${ref.name} not found`);
      const text = secret.spec.stringData?.[field];
      if (text !== undefined) return Buffer.from(text);
      const b64 = secret.spec.data?.[field];
      if (b64 === undefined) throw new PolicyProblem('InvalidSecretRef', `Secret ${namespace}/${ref.name} has no key "${field}"`);
      return Buffer.from(b64, 'base64');
    },
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
  const { byTarget, statuses } = attachPolicies(idx.securityPolicies, gatewayTargets(idx, listeners), (p) => compile(idx, p), (_problem, p) => refusing(p));
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
  };
}
