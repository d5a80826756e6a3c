//! HTTPRoute filters (gateway.networking.k8s.io/v1), shared by rules and backendRefs.

import { z } from 'zod';
import type { HTTPHeaderFilter, HTTPRouteFilter } from '../resources.js';
import { headerName, preciseHostname } from './formats.js';
import { AT_KEY, bool, int, list, oneOf, show, strict, string, uniqueBy } from './primitives.js';
import { backendObjectRef, localObjectRef, portNumber } from './refs.js';
// The HTTPRoute CORS filter runs the SecurityPolicy cors code, so it takes the origins that code can match.
import { origin } from './security/cors.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

// Upstream writes `^[!-~]+([\t ]?[!-~]+)*$`, which backtracks exponentially in JavaScript; this
// accepts the same strings with the separator made mandatory.
const HEADER_VALUE_RE = /^[!-~]+(?:[\t ][!-~]+)*$/;

// Upstream applies this pattern in the experimental channel only; a CR or LF here would let a
// route inject headers, so windrose enforces it everywhere.
const headerValue = string({
  min: 1,
  max: 4096,
  format: (v) => (HEADER_VALUE_RE.test(v) ? undefined : `invalid header value ${show(v)}: expected printable ASCII characters, with single spaces or tabs between words`),
});

const header = strict({ name: headerName, value: headerValue });

/** Upstream webhook rule: each header name (case-insensitively) gets at most one of add, set, remove. */
function oneActionPerHeader(f: HTTPHeaderFilter, ctx: z.RefinementCtx): void {
  const first = new Map<string, string>();
  const visit = (name: string, path: (string | number)[], where: string) => {
    const key = name.toLowerCase();
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, where);
    else ctx.addIssue({ code: 'custom', message: `header ${show(name)} is already modified by ${earlier}; only one action per header is allowed`, path });
  };
  f.add?.forEach((h, i) => visit(h.name, ['add', i, 'name'], `add[${i}]`));
  f.set?.forEach((h, i) => visit(h.name, ['set', i, 'name'], `set[${i}]`));
  f.remove?.forEach((name, i) => visit(name, ['remove', i], `remove[${i}]`));
}

const headerFilter: z.ZodType<HTTPHeaderFilter> = strict({
  set: list(header, { max: 16 }).optional(),
  add: list(header, { max: 16 }).optional(),
  remove: list(headerName, { max: 16 }).optional(),
}).superRefine(oneActionPerHeader);

const pathModifier = strict({
  type: oneOf(['ReplaceFullPath', 'ReplacePrefixMatch']),
  replaceFullPath: string({ max: 1024 }).optional(),
  replacePrefixMatch: string({ max: 1024 }).optional(),
}).superRefine((m, ctx) => {
  for (const [type, field] of [['ReplaceFullPath', 'replaceFullPath'], ['ReplacePrefixMatch', 'replacePrefixMatch']] as const) {
    if (m.type === type && m[field] === undefined) ctx.addIssue({ code: 'custom', message: `required when type is ${type}`, path: [field] });
    if (m.type !== type && m[field] !== undefined) {
      ctx.addIssue({ code: 'custom', message: `only allowed when type is ${type}, but type is ${m.type}`, path: [field], params: AT_KEY });
    }
  }
});

const requestRedirect = strict({
  scheme: oneOf(['http', 'https']).optional(),
  hostname: preciseHostname.optional(),
  path: pathModifier.optional(),
  port: portNumber.optional(),
  statusCode: oneOf([301, 302, 303, 307, 308]).optional(),
});

const urlRewrite = strict({ hostname: preciseHostname.optional(), path: pathModifier.optional() });

const fraction = strict({ numerator: int(0), denominator: int(1).optional() }).superRefine((f, ctx) => {
  const denominator = f.denominator ?? 100;
  if (f.numerator > denominator) {
    ctx.addIssue({ code: 'custom', message: `must be less than or equal to the denominator (${denominator}), got ${f.numerator}`, path: ['numerator'] });
  }
});

const requestMirror = strict({
  backendRef: backendObjectRef,
  percent: int(0, 100).optional(),
  fraction: fraction.optional(),
}).superRefine((m, ctx) => {
  if (m.percent !== undefined && m.fraction !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'cannot be combined with percent; set only one of them', path: ['fraction'], params: AT_KEY });
  }
});

/** Upstream CEL on CORS lists: "*" means everything, so it must stand alone. */
function wildcardAlone(items: readonly string[], ctx: z.RefinementCtx): void {
  const star = items.indexOf('*');
  if (star !== -1 && items.length > 1) ctx.addIssue({ code: 'custom', message: '"*" cannot be combined with other values', path: [star] });
}

/** listType=set upstream: the API server rejects repeated values. */
function noRepeats(items: readonly (string | number)[], ctx: z.RefinementCtx): void {
  uniqueBy(items, String, ctx, (item, first) => `duplicate value ${show(item)} (also at index ${first})`);
}

const cors = strict({
  allowOrigins: list(origin, { max: 64 }).superRefine(wildcardAlone).superRefine(noRepeats).optional(),
  allowCredentials: bool.optional(),
  allowMethods: list(oneOf([...HTTP_METHODS, '*']), { max: 9 }).superRefine(wildcardAlone).superRefine(noRepeats).optional(),
  allowHeaders: list(headerName, { max: 64 }).superRefine(wildcardAlone).superRefine(noRepeats).optional(),
  exposeHeaders: list(headerName, { max: 64 }).superRefine(noRepeats).optional(),
  maxAge: int(1).optional(),
});

/** Each filter type and the one field that must accompany it. */
const FILTER_FIELD = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
} as const;

type FilterType = keyof typeof FILTER_FIELD;
const FILTER_TYPES = Object.keys(FILTER_FIELD) as FilterType[];

const filter: z.ZodType<HTTPRouteFilter> = strict({
  type: oneOf(FILTER_TYPES),
  requestHeaderModifier: headerFilter.optional(),
  responseHeaderModifier: headerFilter.optional(),
  requestRedirect: requestRedirect.optional(),
  urlRewrite: urlRewrite.optional(),
  requestMirror: requestMirror.optional(),
  extensionRef: localObjectRef.optional(),
  cors: cors.optional(),
}).superRefine((f, ctx) => {
  const wanted = FILTER_FIELD[f.type];
  if (f[wanted] === undefined) ctx.addIssue({ code: 'custom', message: `required for filter type ${f.type}`, path: [wanted] });
  for (const field of Object.values(FILTER_FIELD)) {
    if (field !== wanted && f[field] !== undefined) {
      ctx.addIssue({ code: 'custom', message: `not allowed with filter type ${f.type} (which uses "${wanted}")`, path: [field], params: AT_KEY });
    }
  }
});

/** Types that may appear more than once in one list; all others are unique (upstream CEL). */
const REPEATABLE: ReadonlySet<FilterType> = new Set(['RequestMirror', 'ExtensionRef']);

function filterCombination(filters: readonly HTTPRouteFilter[], ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  filters.forEach((f, i) => {
    const earlier = first.get(f.type);
    if (earlier !== undefined && !REPEATABLE.has(f.type)) {
      ctx.addIssue({ code: 'custom', message: `${f.type} filter cannot be repeated (already at filters[${earlier}])`, path: [i, 'type'] });
    }
    if (earlier === undefined) first.set(f.type, i);
    const conflicting = f.type === 'URLRewrite' ? 'RequestRedirect' : f.type === 'RequestRedirect' ? 'URLRewrite' : undefined;
    const other = conflicting === undefined ? undefined : first.get(conflicting);
    if (other !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${f.type} filter cannot be combined with the ${conflicting} filter at filters[${other}]`, path: [i, 'type'] });
    }
  });
}

export const filters = list(filter, { max: 16 }).superRefine(filterCombination);
