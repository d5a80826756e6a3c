//! AuthorizationPolicy (windrose.dev/v1alpha1): Istio's security.istio.io AuthorizationPolicy shape,
//! with the same validation, so that Istio policies carry over; the parts windrose does not
//! implement are refused by name rather than reported as unknown fields.

import { z } from 'zod';
import type { AuthorizationPolicySpec } from '../resources.js';
import { labelValue, qualifiedNameProblem } from './formats.js';
import { HTTP_METHODS } from './httpfilters.js';
import { AT_KEY, leaf, list, oneOf, record, show, strict, string } from './primitives.js';

/** An Istio field windrose does not implement: refused at its key, saying so. */
const notSupported = (what: string) =>
  z.custom<never>(() => false, { params: AT_KEY, error: () => `${what} is not supported by windrose` }).optional();

/** Istio's string match: exact, "prefix*", "*suffix", or "*" alone for any value. */
function wildcardProblem(v: string): string | undefined {
  const star = v.indexOf('*');
  if (star === -1 || v === '*') return undefined;
  const once = star === v.lastIndexOf('*');
  return once && (star === 0 || star === v.length - 1)
    ? undefined
    : `invalid value ${show(v)}: "*" may only stand alone, at the start ("*suffix") or at the end ("prefix*")`;
}

const pattern = string({ min: 1, format: wildcardProblem });

const path = string({
  min: 1,
  format: (v) => (v.startsWith('/') || v.startsWith('*') ? wildcardProblem(v) : `invalid path ${show(v)}: must start with "/" (or "*" for a suffix match)`),
});

/** A destination port; Istio writes them as strings, so numeric strings are accepted too. */
const port = leaf<number | string>((v) => {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? undefined : `expected a port from 1 to 65535, got ${show(v)}`;
}).transform(Number);

const values = <T extends z.ZodType>(item: T) => list(item, { min: 1 }).optional();

/** Istio: a source or operation that sets no field is a mistake, not a wildcard. */
function notEmpty(fields: readonly string[]) {
  return (o: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (fields.some((f) => o[f] !== undefined)) return;
    ctx.addIssue({ code: 'custom', message: `must set at least one of ${fields.join(', ')}`, path: [] });
  };
}

const SOURCE_FIELDS = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'];

const source = strict({
  principals: values(pattern),
  notPrincipals: values(pattern),
  namespaces: values(pattern),
  notNamespaces: values(pattern),
  requestPrincipals: notSupported('requestPrincipals (JWT identities)'),
  notRequestPrincipals: notSupported('notRequestPrincipals (JWT identities)'),
  ipBlocks: notSupported('ipBlocks'),
  notIpBlocks: notSupported('notIpBlocks'),
  remoteIpBlocks: notSupported('remoteIpBlocks'),
  notRemoteIpBlocks: notSupported('notRemoteIpBlocks'),
  serviceAccounts: notSupported('serviceAccounts (use principals)'),
  notServiceAccounts: notSupported('notServiceAccounts (use notPrincipals)'),
}).superRefine(notEmpty(SOURCE_FIELDS));

const OPERATION_FIELDS = ['methods', 'notMethods', 'paths', 'notPaths', 'ports', 'notPorts'];

const method = oneOf(HTTP_METHODS);

const operation = strict({
  methods: values(method),
  notMethods: values(method),
  paths: values(path),
  notPaths: values(path),
  ports: values(port),
  notPorts: values(port),
  hosts: notSupported('hosts'),
  notHosts: notSupported('notHosts'),
}).superRefine(notEmpty(OPERATION_FIELDS));

const rule = strict({
  from: list(strict({ source }), { min: 1 }).optional(),
  to: list(strict({ operation }), { min: 1 }).optional(),
  when: notSupported('when (conditions)'),
});

export const authorizationPolicySpec: z.ZodType<AuthorizationPolicySpec> = strict({
  selector: strict({ matchLabels: record(labelValue, { key: (k) => qualifiedNameProblem(k, 'label key') }).optional() }).optional(),
  action: oneOf(['ALLOW', 'DENY', 'AUDIT']).optional(),
  rules: list(rule).optional(),
  targetRef: notSupported('targetRef (use selector)'),
  targetRefs: notSupported('targetRefs (use selector)'),
  provider: notSupported('provider (the CUSTOM action)'),
  // As in Kubernetes, an absent spec is an empty one: an ALLOW policy with no rules, which allows nothing.
}).default({});
