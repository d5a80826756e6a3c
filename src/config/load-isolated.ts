//! Loads the config in a short-lived worker thread. A long-running gateway thus never holds the YAML
//! parser and schemas (about 10 MB resident) between reloads; a reload costs a thread start instead.

import { Worker } from 'node:worker_threads';
import type { ConfigDocument } from '../mesh/protocol.js';
import type { LoadResult } from './load.js';
import type { Resource, SourcePosition } from './resources.js';

/** What the worker is asked to load: files under a path, or documents a mesh proxy received. */
export type LoadRequest = { readonly path: string } | { readonly documents: readonly ConfigDocument[] };

type PlainLoaded = Omit<LoadResult, 'resources'> & { resources: (Omit<Resource, 'locate'>)[] };

export function loadConfigIsolated(path: string): Promise<LoadResult> {
  return loadIsolated({ path });
}

export function parseDocumentsIsolated(documents: readonly ConfigDocument[]): Promise<LoadResult> {
  return loadIsolated({ documents });
}

function loadIsolated(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: request });
    let settled = false;
    worker.once('message', (plain: PlainLoaded) => {
      settled = true;
      // Errors were located inside the worker; a resource only needs to point at its own start from here on.
      const resources = plain.resources.map((r) => ({ ...r, locate: (): SourcePosition => r.source }) as Resource);
      resolve({ ...plain, resources });
      void worker.terminate();
    });
    worker.once('error', (err) => { settled = true; reject(err); });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`config loader exited with code ${code}`));
    });
  });
}
