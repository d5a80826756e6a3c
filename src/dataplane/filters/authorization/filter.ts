//! The AuthorizationPolicy filter of a mesh proxy's inbound route: DENY policies first, then ALLOW
//! policies (when there are any, one must match), as Istio decides. AUDIT policies decide nothing;
//! their matches are counted and published on the audit channel.

import { authorizationAuditSeries, authorizationDecisionSeries } from '../../../telemetry/metrics.js';
import type { CounterSeries } from '../../../telemetry/series.js';
import type { Filter, LocalResponse, ProxyRequest } from '../filter.js';
import { publishAudit } from './audit.js';
import { compileAuthorization, type CompiledPolicy, type NamedPolicy, peerNamespace, policyMatches } from './compile.js';

/** Envoy's RBAC filter answers with this text; Istio users and their scripts know it. */
const DENIED: LocalResponse = { status: 403, errorCode: 'access_denied', message: 'RBAC: access denied' };

/** A policy with the series it counts into, bound on its first match so unused policies export nothing. */
class Counted {
  private series: CounterSeries | undefined;

  constructor(readonly policy: CompiledPolicy, private readonly bind: (name: string) => CounterSeries) {}

  count(): void {
    (this.series ??= this.bind(this.policy.name)).inc();
  }
}

const counted = (policies: readonly CompiledPolicy[], bind: (name: string) => CounterSeries) => policies.map((p) => new Counted(p, bind));

/**
 * `policies`: those that apply to the workload; `port`: the workload port the requests are for.
 * With no ALLOW policy, requests no DENY policy matches are allowed by default (policy "").
 */
export function authorizationFilter(policies: readonly NamedPolicy[], port: number): Filter {
  const compiled = compileAuthorization(policies, port);
  const deny = counted(compiled.deny, (name) => authorizationDecisionSeries('deny', name));
  const allow = counted(compiled.allow, (name) => authorizationDecisionSeries('allow', name));
  const audit = counted(compiled.audit, authorizationAuditSeries);
  const byDefault = new Counted({ name: '', rules: [] }, (name) => authorizationDecisionSeries(allow.length > 0 ? 'deny' : 'allow', name));
  return {
    name: 'AuthorizationPolicy',
    onRequest(req: ProxyRequest) {
      const namespace = compiled.readsNamespace ? peerNamespace(req.peer) : undefined;
      for (let i = 0; i < audit.length; i++) {
        if (!policyMatches(audit[i].policy, req, namespace)) continue;
        audit[i].count();
        publishAudit(audit[i].policy.name, req);
      }
      for (let i = 0; i < deny.length; i++) {
        if (!policyMatches(deny[i].policy, req, namespace)) continue;
        deny[i].count();
        return DENIED;
      }
      for (let i = 0; i < allow.length; i++) {
        if (!policyMatches(allow[i].policy, req, namespace)) continue;
        allow[i].count();
        return undefined;
      }
      byDefault.count();
      return allow.length > 0 ? DENIED : undefined;
    },
  };
}
