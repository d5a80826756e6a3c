//! SecurityPolicy `waf`: request inspection against the attack classes of the OWASP Core Rule Set,
//! with anomaly scoring. `mode: Off` on a route's policy turns off a WAF its Gateway's policy sets.

import type { z } from 'zod';
import { parseSelector } from '../../../dataplane/filters/security/waf/exclusion.js';
import { RULE_IDS } from '../../../dataplane/filters/security/waf/rules/index.js';
import { quantityBytes } from '../../translate/durations.js';
import { int, leaf, list, oneOf, show, strict, string } from '../primitives.js';

export interface WAFExclusion {
  /** The rules excluded; unset: every rule. */
  readonly ruleIds?: readonly number[];
  /** Where they are excluded: `path`, `arg:NAME`, `cookie:NAME`, `header:NAME`, `method`, `body`, or a bare kind; unset: everywhere. */
  readonly target?: string;
}

export interface WAFSpec {
  readonly mode?: 'Block' | 'Detect' | 'Off';
  readonly paranoiaLevel?: 1 | 2 | 3 | 4;
  readonly anomalyThreshold?: number;
  readonly body?: {
    /** The most bytes of a JSON or form body inspected (a quantity such as "128Ki"). */
    readonly maxSize?: string | number;
    /** A longer body: refused with 413 (Reject), or inspected up to maxSize and sent whole (InspectPrefix). */
    readonly onOversize?: 'Reject' | 'InspectPrefix';
  };
  readonly exclusions?: readonly WAFExclusion[];
}

/** The largest body the WAF may be asked to hold in memory per request. */
export const WAF_MAX_BODY_BYTES = 16 * 1024 * 1024;

const bodySize = leaf<string | number>((v) => {
  const bytes = typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' ? quantityBytes(v) : undefined;
  if (bytes === undefined) return `expected a number of bytes or a quantity such as "128Ki" or "1Mi" (suffixes k, M, G, Ki, Mi, Gi), got ${show(v)}`;
  return bytes >= 1 && bytes <= WAF_MAX_BODY_BYTES ? undefined : `must be from 1 byte to 16Mi, got ${show(v)}`;
});

const ruleId = leaf<number>((v) => (typeof v === 'number' && RULE_IDS.has(v) ? undefined
  : `unknown WAF rule id ${show(v)}: the rules and their ids are listed in docs/security.md, section WAF`));

const target = string({
  min: 1, max: 300,
  format: (v) => (parseSelector(v) !== undefined ? undefined
    : `invalid exclusion target ${show(v)}: expected path, method, body, arg, cookie, header, or arg:NAME, cookie:NAME, header:NAME`),
});

export const wafSpec: z.ZodType<WAFSpec> = strict({
  mode: oneOf(['Block', 'Detect', 'Off']).optional(),
  paranoiaLevel: oneOf([1, 2, 3, 4]).optional(),
  anomalyThreshold: int(1, 1000).optional(),
  body: strict({
    maxSize: bodySize.optional(),
    onOversize: oneOf(['Reject', 'InspectPrefix']).optional(),
  }).optional(),
  exclusions: list(strict({
    ruleIds: list(ruleId, { min: 1, max: 256 }).optional(),
    target: target.optional(),
  }).superRefine((e, ctx) => {
    if (e.ruleIds === undefined && e.target === undefined) ctx.addIssue({ code: 'custom', message: 'an exclusion needs ruleIds, a target, or both', path: [] });
  }), { max: 256 }).optional(),
});
