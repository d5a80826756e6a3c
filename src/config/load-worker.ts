//! Worker-thread entry: loads and validates the config, then posts plain data back.
//! Runs in its own isolate so that the parser and schema libraries leave the gateway's memory with it.

import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from './load.js';

const result = await loadConfig(workerData as string);
parentPort!.postMessage({
  resources: result.resources.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec, source: r.source })),
  errors: result.errors,
  warnings: result.warnings,
  files: result.files,
});
