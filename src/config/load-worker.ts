//! Worker-thread entry: loads and validates the config, then posts plain data back.
//! Runs in its own isolate so that the parser and schema libraries leave the gateway's memory with it.

import { parentPort, workerData } from 'node:worker_threads';
import { toPlain } from './load-plain.js';
import { loadConfig } from './load.js';

parentPort!.postMessage(toPlain(await loadConfig(workerData as string)));
