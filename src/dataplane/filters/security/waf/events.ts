//! What the WAF found leaves the request path through a diagnostics channel: publishing costs
//! nothing while no one listens, and the process that owns the logger writes one warn line per
//! request that reached the threshold (DataPlane subscribes logWafEvents).

import { channel } from 'node:diagnostics_channel';
import type { Logger } from 'pino';
import type { Match } from './engine.js';

export interface WafEvent {
  /** namespace/name of the SecurityPolicy. */
  readonly policy: string;
  readonly requestId: string;
  /** namespace/name of the HTTPRoute. */
  readonly route: string;
  /** blocked (Block mode) or detected (Detect mode: the request went on). */
  readonly action: 'blocked' | 'detected';
  /** Whether the head alone reached the threshold, or the body added what did. */
  readonly phase: 'head' | 'body';
  readonly method: string;
  readonly host: string;
  /** The request path, cut short: it may carry the attack. */
  readonly path: string;
  readonly score: number;
  readonly threshold: number;
  /** Ids of the rules that matched. */
  readonly rules: readonly number[];
  /** Where each matched, with the matched text cut short. */
  readonly matches: readonly Match[];
}

export const wafChannel = channel('windrose:waf');

/** Writes one warn line per event in this thread; returns the function that stops it. */
export function logWafEvents(log: Pick<Logger, 'warn'>): () => void {
  const write = (message: unknown) => {
    const e = message as WafEvent;
    log.warn({
      requestId: e.requestId, route: e.route, policy: e.policy, action: e.action, phase: e.phase, method: e.method, host: e.host, path: e.path,
      score: e.score, threshold: e.threshold, rules: e.rules, targets: [...new Set(e.matches.map((m) => m.target))], matches: e.matches,
    }, e.action === 'blocked' ? 'waf blocked a request' : 'waf detected an attack');
  };
  wafChannel.subscribe(write);
  return () => wafChannel.unsubscribe(write);
}
