//! AUDIT matches leave the request path through a diagnostics channel: publishing costs nothing
//! while no one listens, and the process that owns the logger decides whether to write them.

import { channel } from 'node:diagnostics_channel';
import type { Logger } from 'pino';
import type { ProxyRequest } from '../filter.js';

export interface AuditEvent {
  /** namespace/name of the AUDIT policy that matched. */
  readonly policy: string;
  readonly requestId: string;
  /** The caller's SPIFFE ID; undefined for a plaintext caller. */
  readonly peer: string | undefined;
  readonly method: string;
  readonly path: string;
}

export const auditChannel = channel('windrose:authorization:audit');

export function publishAudit(policy: string, req: ProxyRequest): void {
  if (!auditChannel.hasSubscribers) return;
  const event: AuditEvent = { policy, requestId: req.requestId, peer: req.peer, method: req.method, path: req.path };
  auditChannel.publish(event);
}

/** Writes one info line per AUDIT match in this thread; returns the function that stops it. */
export function logAudits(log: Pick<Logger, 'info'>): () => void {
  const write = (message: unknown) => {
    const e = message as AuditEvent;
    log.info({ policy: e.policy, requestId: e.requestId, peer: e.peer ?? null, method: e.method, path: e.path }, 'authorization audit');
  };
  auditChannel.subscribe(write);
  return () => auditChannel.unsubscribe(write);
}
