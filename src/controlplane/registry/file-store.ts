//! `<data-dir>/registry.json`: the registered workloads, rewritten whole (temp file + rename, mode
//! 0600) on every change, so a restarted control plane serves their endpoints while proxies reconnect.

import fs from 'node:fs';
import { writeFileAtomic } from '../atomic-file.js';
import { parseWorkload } from './validate.js';
import type { RegistryStore, Workload } from './workloads.js';

const FORMAT = 1;

export class RegistryFile implements RegistryStore {
  /** Entries of the file that could not be read back, reported once after load. */
  skipped = 0;

  constructor(private readonly file: string) {}

  load(): Workload[] {
    if (!fs.existsSync(this.file)) return [];
    const data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { format?: unknown; workloads?: unknown };
    if (data.format !== FORMAT || !Array.isArray(data.workloads)) throw new Error(`${this.file}: not a windrose registry (format ${FORMAT})`);
    const workloads: Workload[] = [];
    for (const entry of data.workloads) {
      const w = parseWorkload(entry);
      if (typeof w === 'string') this.skipped++;
      else workloads.push(w);
    }
    return workloads;
  }

  save(workloads: readonly Workload[]): void {
    writeFileAtomic(this.file, `${JSON.stringify({ format: FORMAT, workloads }, null, 2)}\n`, 0o600);
  }
}
