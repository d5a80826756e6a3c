//! HTTPRoute spec (gateway.networking.k8s.io/v1), with the CRD's CEL rules and the upstream webhook checks.

import { z } from 'zod';
import type { HTTPRouteFilter, HTTPRouteMatch, HTTPRouteSpec } from '../resources.js';
import { duration, headerName, hostname, regexProblem, sectionName } from './formats.js';
import { durationMs } from '../translate/durations.js';
import { filters, HTTP_METHODS } from './httpfilters.js';
import { int, list, oneOf, show, strict, string, uniqueBy } from './primitives.js';
import { backendObjectRefShape, parentRefs, requireServicePort } from './refs.js';

const PATH_CHARS_RE = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;

function pathProblem(v: string): string | undefined {
  const invalid = (why: string) => `invalid path ${show(v)}: ${why}`;
  if (!v.startsWith('/')) return invalid('must start with "/"');
  for (const seq of ['//', '/./', '/../', '%2f', '%2F', '#']) if (v.includes(seq)) return invalid(`must not contain ${JSON.stringify(seq)}`);
  for (const end of ['/..', '/.']) if (v.endsWith(end)) return invalid(`must not end with ${JSON.stringify(end)}`);
  if (!PATH_CHARS_RE.test(v)) return invalid("expected URL path characters: letters, digits, /-._~!$&'()*+,;=:@ and %XX escapes");
  return undefined;
}

const pathMatch = strict({
  type: oneOf(['Exact', 'PathPrefix', 'RegularExpression']).optional(),
  value: string({ max: 1024 }).optional(),
}).superRefine((m, ctx) => {
  // Both fields default upstream (PathPrefix, "/"), so only a given value can be wrong.
  if (m.value === undefined) return;
  const problem = m.type === 'RegularExpression' ? regexProblem(m.value) : pathProblem(m.value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
});

/** A name/value matcher whose value is a regular expression when its type says so. */
function valueMatch(maxValue: number) {
  return strict({
    type: oneOf(['Exact', 'RegularExpression']).optional(),
    name: headerName,
    value: string({ min: 1, max: maxValue }),
  }).superRefine((m, ctx) => {
    const problem = m.type === 'RegularExpression' ? regexProblem(m.value) : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
  });
}

const match: z.ZodType<HTTPRouteMatch> = strict({
  path: pathMatch.optional(),
  // Header names are case-insensitive, query parameter names are not (upstream webhook).
  headers: list(valueMatch(4096), { max: 16 })
    .superRefine((hs, ctx) => uniqueBy(hs, (h) => h.name.toLowerCase(), ctx, (h, first) => `header ${show(h.name)} is already matched by headers[${first}]`, 'name'))
    .optional(),
  queryParams: list(valueMatch(1024), { max: 16 })
    .superRefine((qs, ctx) => uniqueBy(qs, (q) => q.name, ctx, (q, first) => `query parameter ${show(q.name)} is already matched by queryParams[${first}]`, 'name'))
    .optional(),
  method: oneOf(HTTP_METHODS).optional(),
});

const backendRef = strict({ ...backendObjectRefShape, weight: int(0, 1_000_000).optional(), filters: filters.optional() }).superRefine(requireServicePort);

const timeouts = strict({ request: duration.optional(), backendRequest: duration.optional() }).superRefine((t, ctx) => {
  if (t.request === undefined || t.backendRequest === undefined) return;
  const request = durationMs(t.request);
  // A zero request timeout means "no timeout", which any backendRequest timeout fits in.
  if (request !== 0 && durationMs(t.backendRequest) > request) {
    ctx.addIssue({ code: 'custom', message: `must not be longer than the request timeout (${t.request}), got ${t.backendRequest}`, path: ['backendRequest'] });
  }
});

const retry = strict({
  codes: list(int(400, 599))
    .superRefine((codes, ctx) => uniqueBy(codes, String, ctx, (code, first) => `duplicate status code ${code} (also at index ${first})`))
    .optional(),
  attempts: int(0).optional(),
  backoff: duration.optional(),
});

const sessionPersistence = strict({
  sessionName: string({ max: 128 }).optional(),
  absoluteTimeout: duration.optional(),
  idleTimeout: duration.optional(),
  type: oneOf(['Cookie', 'Header']).optional(),
  cookieConfig: strict({ lifetimeType: oneOf(['Permanent', 'Session']).optional() }).optional(),
}).superRefine((s, ctx) => {
  if (s.cookieConfig?.lifetimeType === 'Permanent' && s.absoluteTimeout === undefined) {
    ctx.addIssue({ code: 'custom', message: 'required when cookieConfig.lifetimeType is Permanent', path: ['absoluteTimeout'] });
  }
});

/** Why a ReplacePrefixMatch modifier cannot apply to these matches, or undefined when it can. */
function prefixReplaceProblem(matches: readonly HTTPRouteMatch[] | undefined): string | undefined {
  // Absent matches default to a single PathPrefix "/" match, and an absent path type to PathPrefix.
  if (matches === undefined) return undefined;
  if (matches.length !== 1) return `ReplacePrefixMatch requires the rule to have exactly one match, got ${matches.length}`;
  const type = matches[0].path?.type ?? 'PathPrefix';
  return type === 'PathPrefix' ? undefined : `ReplacePrefixMatch requires a PathPrefix match, but matches[0] is of type ${type}`;
}

function checkPrefixReplacements(
  fs: readonly HTTPRouteFilter[] | undefined,
  matches: readonly HTTPRouteMatch[] | undefined,
  at: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  fs?.forEach((f, i) => {
    for (const field of ['requestRedirect', 'urlRewrite'] as const) {
      const path = f[field]?.path;
      if (path?.type !== 'ReplacePrefixMatch' || path.replacePrefixMatch === undefined) continue;
      const problem = prefixReplaceProblem(matches);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: [...at, i, field, 'path', 'type'] });
    }
  });
}

const rule = strict({
  name: sectionName.optional(),
  matches: list(match, { max: 64 }).optional(),
  filters: filters.optional(),
  backendRefs: list(backendRef, { max: 16 }).optional(),
  timeouts: timeouts.optional(),
  retry: retry.optional(),
  sessionPersistence: sessionPersistence.optional(),
}).superRefine((r, ctx) => {
  if ((r.backendRefs?.length ?? 0) > 0) {
    r.filters?.forEach((f, i) => {
      if (f.type === 'RequestRedirect') {
        ctx.addIssue({ code: 'custom', message: 'a RequestRedirect filter cannot be used together with backendRefs', path: ['filters', i, 'type'] });
      }
    });
  }
  checkPrefixReplacements(r.filters, r.matches, ['filters'], ctx);
  r.backendRefs?.forEach((b, j) => checkPrefixReplacements(b.filters, r.matches, ['backendRefs', j, 'filters'], ctx));
});

const MAX_TOTAL_MATCHES = 128;

export const httpRouteSpec: z.ZodType<HTTPRouteSpec> = strict({
  parentRefs: parentRefs.optional(),
  hostnames: list(hostname, { max: 16 }).optional(),
  rules: list(rule, { min: 1, max: 16 })
    .superRefine((rules, ctx) => {
      uniqueBy(rules, (r) => r.name, ctx, (r, first) => `duplicate rule name ${show(r.name)} (also used by rules[${first}])`, 'name');
      const total = rules.reduce((n, r) => n + (r.matches?.length ?? 1), 0);
      if (total > MAX_TOTAL_MATCHES) {
        ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_TOTAL_MATCHES} matches across all rules, got ${total}`, path: [] });
      }
    })
    .optional(),
});
