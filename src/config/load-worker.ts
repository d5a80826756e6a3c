//! Worker-thread entry: loads and validates the config, then posts plain data back.
//! Runs in its own isolate so that the parser and schema libraries leave the gateway's memory with it.

import { parentPort, workerData } from 'node:worker_threads';
import type { LoadRequest } from './load-isolated.js';
import { loadConfig, parseDocuments } from './load.js';

const request = workerData as LoadRequest;
const result = 'path' in request ? await loadConfig(request.path) : parseDocuments(request.documents);
parentPort!.postMessage({
  resources: result.resources.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec, source: r.source })),
  errors: result.errors,
  warnings: result.warnings,
  files: result.files,
});
