//! Loads config away from the long-running process, so that it never holds the YAML parser and the
//! schemas (about 10 MB resident) between reloads. The gateway loads in a short-lived worker thread;
//! a mesh proxy, whose memory is counted per process, validates each config version in a
//! short-lived child process: a thread leaves 4-5 MB of code pages and allocator arenas behind in
//! its process, a child leaves nothing (a sidecar idles at 59 MB RSS rather than 63).

import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { ConfigDocument } from '../mesh/protocol.js';
import type { LoadResult } from './load.js';
import { revive, type PlainLoaded } from './load-plain.js';

export function loadConfigIsolated(path: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: path });
    let settled = false;
    worker.once('message', (plain: PlainLoaded) => {
      settled = true;
      resolve(revive(plain));
      void worker.terminate();
    });
    worker.once('error', (err) => { settled = true; reject(err); });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`config loader exited with code ${code}`));
    });
  });
}

const VALIDATION_DEADLINE_MS = 30_000;

export function parseDocumentsIsolated(documents: readonly ConfigDocument[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Structured clone over IPC: large documents cross without a JSON round trip.
    const child = fork(new URL('./load-child.js', import.meta.url), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let settled = false;
    // A child that hangs would hold every later config back; validation takes well under a second.
    const deadline = setTimeout(() => child.kill('SIGKILL'), VALIDATION_DEADLINE_MS);
    child.once('message', (plain: PlainLoaded) => {
      settled = true;
      clearTimeout(deadline);
      resolve(revive(plain));
    });
    child.once('error', (err) => { settled = true; clearTimeout(deadline); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      if (!settled) reject(new Error(`config validation exited with ${signal ?? `code ${code}`}`));
    });
    child.send(documents);
  });
}
