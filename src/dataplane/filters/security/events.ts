//! Problems a security filter meets that the client must not hear about (an identity provider that
//! does not answer, say) leave the request path through a diagnostics channel; the process that owns
//! the logger writes them, at most one line per policy and problem every few seconds.

import { channel } from 'node:diagnostics_channel';
import type { Logger } from 'pino';

export interface SecurityEvent {
  /** namespace/name of the SecurityPolicy. */
  readonly policy: string;
  /** The block: "introspection", "oidc", … */
  readonly mechanism: string;
  readonly requestId: string;
  /** What went wrong, for operators; never a token, a secret or a key. */
  readonly message: string;
}

const securityChannel = channel('windrose:security');

export function publishSecurityEvent(event: SecurityEvent): void {
  if (securityChannel.hasSubscribers) securityChannel.publish(event);
}

const QUIET_MS = 5000;

/** Writes a warning per event, collapsing repeats of one policy's problem within 5s into the next line's count; returns the function that stops it. */
export function logSecurityEvents(log: Pick<Logger, 'warn'>, now: () => number = Date.now): () => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  const write = (message: unknown) => {
    const e = message as SecurityEvent;
    const key = `${e.policy}\n${e.mechanism}\n${e.message}`;
    const seen = last.get(key);
    const t = now();
    if (seen !== undefined && t - seen.at < QUIET_MS) {
      seen.suppressed += 1;
      return;
    }
    if (last.size > 1000) last.clear();
    last.set(key, { at: t, suppressed: 0 });
    log.warn({ policy: e.policy, mechanism: e.mechanism, requestId: e.requestId, ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) }, e.message);
  };
  securityChannel.subscribe(write);
  return () => securityChannel.unsubscribe(write);
}
