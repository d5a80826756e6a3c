//! Messages between the gateway primary and its workers, over the cluster IPC channel.

import type { ListenerLimits } from '../config/model.js';
import type { Resource } from '../config/resources.js';
import type { MetricData } from '../telemetry/series.js';

/** A resource as it crosses IPC: plain data, without source positions. */
export type PlainResource = Pick<Resource, 'apiVersion' | 'kind' | 'metadata' | 'spec'>;

export type ToWorker =
  | { readonly type: 'windrose:config'; readonly version: number; readonly resources: readonly PlainResource[]; readonly limits: ListenerLimits }
  | { readonly type: 'windrose:drain'; readonly graceMs: number }
  | { readonly type: 'windrose:metrics?'; readonly id: number };

export type ToPrimary =
  | { readonly type: 'windrose:hello' }
  | { readonly type: 'windrose:applied'; readonly version: number }
  | { readonly type: 'windrose:failed'; readonly version: number; readonly message: string }
  /** Sent once the worker has stopped accepting, whoever asked it to drain. */
  | { readonly type: 'windrose:draining' }
  | { readonly type: 'windrose:metrics'; readonly id: number; readonly metrics: MetricData[] };

export function toPlain(resources: readonly Resource[]): PlainResource[] {
  return resources.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec }) as PlainResource);
}

/** Rebuilds resources on the worker side; positions are only needed for errors, which the primary already reported. */
export function fromPlain(plain: readonly PlainResource[]): Resource[] {
  const nowhere = { file: '', line: 0, column: 0 };
  return plain.map((p) => ({ ...p, source: nowhere, locate: () => nowhere }) as Resource);
}

export function isWindroseMessage(m: unknown): m is ToWorker | ToPrimary {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('windrose:');
}
