//! A load result as plain data, the shape in which it crosses from a worker thread or a child
//! process, and back: a resource's errors were located where it was parsed, so from here on it
//! only needs to point at its own start.

import type { LoadResult } from './load.js';
import type { Resource, SourcePosition } from './resources.js';

export type PlainLoaded = Omit<LoadResult, 'resources'> & { resources: (Omit<Resource, 'locate'>)[] };

export function toPlain(result: LoadResult): PlainLoaded {
  return {
    resources: result.resources.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec, source: r.source }) as Omit<Resource, 'locate'>),
    errors: result.errors,
    warnings: result.warnings,
    files: result.files,
  };
}

export function revive(plain: PlainLoaded): LoadResult {
  return { ...plain, resources: plain.resources.map((r) => ({ ...r, locate: (): SourcePosition => r.source }) as Resource) };
}
