//! The file provider: reads a file or directory of YAML/JSON resources and watches it, reporting
//! each change that actually alters the resources.

import { createHash } from 'node:crypto';
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfigIsolated } from '../config/load-isolated.js';
import type { LoadResult } from '../config/load.js';
import type { Resource } from '../config/resources.js';

/** Editors write a file in several steps (truncate, write, rename); changes within this window are read once. */
const SETTLE_MS = 75;

export function fingerprint(resources: readonly Resource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(JSON.stringify([r.apiVersion, r.kind, r.metadata, r.spec]));
  return h.digest('hex');
}

export class FileProvider {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private reading: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly onChange: (result: LoadResult) => void,
  ) {}

  async load(): Promise<LoadResult> {
    const result = await loadConfigIsolated(this.path);
    if (result.errors.length === 0) this.last = fingerprint(result.resources);
    return result;
  }

  watch(): void {
    const abs = resolve(this.path);
    const isDir = statSync(abs).isDirectory();
    const dir = isDir ? abs : dirname(abs);
    const only = isDir ? undefined : basename(abs);
    this.watcher = watch(dir, { recursive: isDir }, (_event, name) => {
      if (only !== undefined && name !== null && basename(String(name)) !== only) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.reading = this.reading.then(() => this.reload());
      }, SETTLE_MS);
    });
  }

  private async reload(): Promise<void> {
    const result = await loadConfigIsolated(this.path);
    if (result.errors.length === 0) {
      const print = fingerprint(result.resources);
      if (print === this.last) return;
      this.last = print;
    } else {
      // A fix that restores the last good resources is still a change after a rejected one: report it.
      this.last = '';
    }
    this.onChange(result);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
  }
}
