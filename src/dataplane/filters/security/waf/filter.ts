//! SecurityPolicy `waf`: scores each request against the rules of its paranoia level — the head
//! first, then a JSON or form body through the body hook — and blocks it (403 request_blocked) or,
//! in Detect mode, only reports it once the score reaches the anomaly threshold. Rule ids never
//! reach the client; they go to the log line and the metric.

import { quantityBytes } from '../../../../config/translate/durations.js';
import type { WAFSpec } from '../../../../config/schema/security/waf.js';
import { wafSeries } from '../../../../telemetry/metrics.js';
import type { CounterSeries } from '../../../../telemetry/series.js';
import type { Filter, FilterOutcome, LocalResponse, ProxyRequest } from '../../filter.js';
import { type BodyKind, type Findings, WafEngine } from './engine.js';
import { type WafEvent, wafChannel } from './events.js';

/** ModSecurity's recommended configuration inspects 128 KB of a body without files; so does windrose by default. */
export const DEFAULT_BODY_BYTES = 128 * 1024;
/** The inbound anomaly threshold of the OWASP Core Rule Set: one critical match blocks. */
export const DEFAULT_THRESHOLD = 5;

const BLOCKED: LocalResponse = { status: 403, errorCode: 'request_blocked', message: 'the request was refused by a security rule' };
const MAX_PATH = 64;

/** The body the WAF reads, by media type: JSON (application/json, application/*+json) or a URL-encoded form. */
export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/x-www-form-urlencoded') return 'form';
  if (media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'))) return 'json';
  return undefined;
}

const identityEncoded = (encoding: string | undefined): boolean => encoding === undefined || encoding.trim().toLowerCase() === 'identity';

export function wafFilter(spec: WAFSpec, ctx: { readonly policy: string }): Filter {
  const mode = spec.mode ?? 'Block';
  // An explicit Off on a route's policy is how a route opts out of its Gateway's WAF.
  if (mode === 'Off') return { name: 'WAF' };
  const engine = new WafEngine({ paranoia: spec.paranoiaLevel ?? 1, exclusions: spec.exclusions });
  const threshold = spec.anomalyThreshold ?? DEFAULT_THRESHOLD;
  const size = spec.body?.maxSize;
  const maxBytes = size === undefined ? DEFAULT_BODY_BYTES : typeof size === 'number' ? size : quantityBytes(size)!;
  // Detect mode never changes what a request gets, so an oversized body is inspected as far as the bound instead.
  const tooLarge: LocalResponse | undefined = mode === 'Block' && (spec.body?.onOversize ?? 'Reject') === 'Reject'
    ? { status: 413, errorCode: 'payload_too_large', message: `the request body exceeds the ${maxBytes} bytes the security policy inspects` }
    : undefined;
  const action = mode === 'Block' ? 'blocked' : 'detected';
  let series: CounterSeries | undefined;
  /** Findings of heads that let their request go on (under the threshold, or reported in Detect mode), for the body to add to. */
  const pending = new WeakMap<ProxyRequest, Findings>();

  const reached = (req: ProxyRequest, f: Findings, phase: WafEvent['phase']): FilterOutcome => {
    (series ??= wafSeries(ctx.policy, action)).inc();
    if (wafChannel.hasSubscribers) {
      const path = req.path.length > MAX_PATH ? `${req.path.slice(0, MAX_PATH)}…` : req.path;
      const event: WafEvent = {
        policy: ctx.policy, requestId: req.requestId, route: req.route ?? '', action, phase, method: req.method, host: req.authority, path,
        score: f.score, threshold, rules: f.rules, matches: f.matches,
      };
      wafChannel.publish(event);
    }
    return mode === 'Block' ? BLOCKED : undefined;
  };

  return {
    name: 'WAF',
    onRequest(req) {
      const f = engine.inspectHead(req);
      if (f === undefined) return undefined;
      const outcome = f.score >= threshold ? reached(req, f, 'head') : undefined;
      if (outcome === undefined) pending.set(req, f);
      return outcome;
    },
    requestBody: {
      maxBytes,
      // A compressed body is not read: its bytes would only look malformed (see docs/security.md).
      wants: (req) => bodyKind(req.headers.get('content-type')) !== undefined && identityEncoded(req.headers.get('content-encoding')),
      inspect(req, body, truncated) {
        if (truncated && tooLarge !== undefined) return tooLarge;
        const head = pending.get(req);
        const before = head?.rules.length ?? 0;
        const f = engine.inspectBody(bodyKind(req.headers.get('content-type'))!, body, truncated, head);
        // A body that matched no rule the head had not already scored changes nothing.
        if (f === undefined || f.score < threshold || f.rules.length === before) return undefined;
        return reached(req, f, 'body');
      },
    },
  };
}
