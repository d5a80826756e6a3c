//! AuthorizationPolicies compiled for one workload: value lists become sets and prefix/suffix
//! lists, the destination port is decided once (the workload has one), and rules that can never
//! match are dropped, so that checking a request only looks values up.

import type { AuthorizationOperation, AuthorizationPolicySpec, AuthorizationSource } from '../../../config/resources.js';
import type { ProxyRequest } from '../filter.js';

export interface NamedPolicy {
  /** namespace/name, the metric label of the decisions it makes. */
  readonly name: string;
  readonly spec: AuthorizationPolicySpec;
}

/** What Istio's string match compiles to: exact values, "prefix*", "*suffix", or "*" (any). */
interface ValueSet {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
  readonly any: boolean;
}

interface CompiledSource {
  readonly principals?: ValueSet;
  readonly notPrincipals?: ValueSet;
  readonly namespaces?: ValueSet;
  readonly notNamespaces?: ValueSet;
}

interface CompiledOperation {
  readonly methods?: ReadonlySet<string>;
  readonly notMethods?: ReadonlySet<string>;
  readonly paths?: ValueSet;
  readonly notPaths?: ValueSet;
}

interface CompiledRule {
  /** Undefined: any caller. */
  readonly from?: readonly CompiledSource[];
  /** Undefined: any request. */
  readonly to?: readonly CompiledOperation[];
}

export interface CompiledPolicy {
  readonly name: string;
  /** Empty when no rule can match: an ALLOW policy then allows nothing. */
  readonly rules: readonly CompiledRule[];
}

export interface CompiledAuthorization {
  readonly deny: readonly CompiledPolicy[];
  readonly allow: readonly CompiledPolicy[];
  readonly audit: readonly CompiledPolicy[];
  /** Whether any source names namespaces, so the caller's namespace is worth reading. */
  readonly readsNamespace: boolean;
}

const SPIFFE = 'spiffe://';

/** `normalise` maps exact values and prefixes to the form the request value has. */
function valueSet(values: readonly string[] | undefined, normalise: (v: string) => string = (v) => v): ValueSet | undefined {
  if (values === undefined) return undefined;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  let any = false;
  for (const v of values) {
    if (v === '*') any = true;
    else if (v.endsWith('*')) prefixes.push(normalise(v.slice(0, -1)));
    else if (v.startsWith('*')) suffixes.push(v.slice(1));
    else exact.add(normalise(v));
  }
  return { exact, prefixes, suffixes, any };
}

/** Undefined (a plaintext caller's principal or namespace) is in no set. */
function inSet(set: ValueSet, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (set.any || set.exact.has(value)) return true;
  for (let i = 0; i < set.prefixes.length; i++) if (value.startsWith(set.prefixes[i])) return true;
  for (let i = 0; i < set.suffixes.length; i++) if (value.endsWith(set.suffixes[i])) return true;
  return false;
}

/**
 * Istio writes principals without the scheme ("cluster.local/ns/default/sa/web"); peers are full
 * SPIFFE IDs. The scheme is added to configured values once, rather than cut from every peer.
 */
function principalSet(values: readonly string[] | undefined): ValueSet | undefined {
  const bare = values?.map((v) => (v.startsWith(SPIFFE) ? v.slice(SPIFFE.length) : v));
  return valueSet(bare, (v) => SPIFFE + v);
}

function compileSource(s: AuthorizationSource): CompiledSource {
  return {
    principals: principalSet(s.principals),
    notPrincipals: principalSet(s.notPrincipals),
    namespaces: valueSet(s.namespaces),
    notNamespaces: valueSet(s.notNamespaces),
  };
}

/** Undefined when the operation can never match on this port. */
function compileOperation(o: AuthorizationOperation, port: number): CompiledOperation | undefined {
  if (o.ports !== undefined && !o.ports.includes(port)) return undefined;
  if (o.notPorts?.includes(port) === true) return undefined;
  return {
    methods: o.methods && new Set(o.methods),
    notMethods: o.notMethods && new Set(o.notMethods),
    paths: valueSet(o.paths),
    notPaths: valueSet(o.notPaths),
  };
}

function compilePolicy(p: NamedPolicy, port: number): CompiledPolicy {
  const rules: CompiledRule[] = [];
  for (const r of p.spec.rules ?? []) {
    const to = r.to?.flatMap((t) => compileOperation(t.operation, port) ?? []);
    // Every operation of `to` is out of this port: the rule cannot match here.
    if (to !== undefined && to.length === 0) continue;
    rules.push({ from: r.from?.map((f) => compileSource(f.source)), to });
  }
  return { name: p.name, rules };
}

/** Policies already selected for the workload; `port` is the workload port requests are for. */
export function compileAuthorization(policies: readonly NamedPolicy[], port: number): CompiledAuthorization {
  const byAction = (action: string) =>
    policies.filter((p) => (p.spec.action ?? 'ALLOW') === action).map((p) => compilePolicy(p, port));
  return {
    deny: byAction('DENY'),
    allow: byAction('ALLOW'),
    audit: byAction('AUDIT'),
    readsNamespace: policies.some((p) => p.spec.rules?.some((r) => r.from?.some((f) => f.source.namespaces || f.source.notNamespaces))),
  };
}

/** The namespace in a SPIFFE ID of the form spiffe://<trust-domain>/ns/<namespace>/sa/<account>. */
export function peerNamespace(peer: string | undefined): string | undefined {
  if (peer === undefined) return undefined;
  const start = peer.indexOf('/ns/');
  if (start === -1) return undefined;
  const end = peer.indexOf('/', start + 4);
  return peer.slice(start + 4, end === -1 ? undefined : end);
}

/** What a policy is checked against: the request's peer (SPIFFE ID), method and path without the query. */
export type RequestFacts = Pick<ProxyRequest, 'peer' | 'method' | 'path'>;

// A plaintext caller has no principal and no namespace: it is in no `principals` or `namespaces`
// list, and so matches every `notPrincipals` and `notNamespaces` (Istio's semantics).
function sourceMatches(s: CompiledSource, peer: string | undefined, namespace: string | undefined): boolean {
  if (s.principals !== undefined && !inSet(s.principals, peer)) return false;
  if (s.notPrincipals !== undefined && inSet(s.notPrincipals, peer)) return false;
  if (s.namespaces !== undefined && !inSet(s.namespaces, namespace)) return false;
  return s.notNamespaces === undefined || !inSet(s.notNamespaces, namespace);
}

function operationMatches(o: CompiledOperation, method: string, path: string): boolean {
  if (o.methods !== undefined && !o.methods.has(method)) return false;
  if (o.notMethods !== undefined && o.notMethods.has(method)) return false;
  if (o.paths !== undefined && !inSet(o.paths, path)) return false;
  return o.notPaths === undefined || !inSet(o.notPaths, path);
}

function ruleMatches(r: CompiledRule, req: RequestFacts, namespace: string | undefined): boolean {
  if (r.from !== undefined) {
    let found = false;
    for (let i = 0; i < r.from.length && !found; i++) found = sourceMatches(r.from[i], req.peer, namespace);
    if (!found) return false;
  }
  if (r.to === undefined) return true;
  for (let i = 0; i < r.to.length; i++) if (operationMatches(r.to[i], req.method, req.path)) return true;
  return false;
}

/** `namespace`: the peer's (peerNamespace), read once per request by the caller. */
export function policyMatches(p: CompiledPolicy, req: RequestFacts, namespace: string | undefined): boolean {
  for (let i = 0; i < p.rules.length; i++) if (ruleMatches(p.rules[i], req, namespace)) return true;
  return false;
}
