//! The control plane's config: the gateway's file provider (load in a worker, watch, hot reload)
//! validates every change with the full loader, whose errors are logged and counted as the
//! gateway's are; then the files are split into documents, which are distributed whatever the
//! verdict, since each proxy validates them again with its own schema.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { LoadResult } from '../../config/load.js';
import { formatConfigError } from '../../config/resources.js';
import { FileProvider } from '../../providers/file.js';
import { recordReload } from '../../telemetry/metrics.js';
import { readDocuments, type MeshDocument } from './documents.js';

export class ConfigSourceError extends Error {}

export class ConfigSource {
  private readonly provider: FileProvider;
  private applying: Promise<void> = Promise.resolve();
  private isDirectory = false;

  constructor(
    private readonly configPath: string,
    private readonly log: Logger,
    private readonly onChange: (documents: MeshDocument[]) => void,
  ) {
    this.provider = new FileProvider(configPath, (result) => {
      if (result.files.length === 0 && result.errors.length > 0) {
        // The whole path is gone (a volume remounting, a directory replaced): distributing nothing
        // would wipe every proxy's config, so the last documents stay until it is back.
        recordReload(false);
        this.log.error({ errors: result.errors.map(formatConfigError) }, 'config unreadable; proxies keep the last documents');
        return;
      }
      this.applying = this.applying.then(() => this.documents(result, 'config change')).then(
        (docs) => this.onChange(docs),
        (err: Error) => this.log.error({ err: err.message }, 'reading the config documents failed'),
      );
    });
  }

  /** Loads the config once; rejects when the path cannot be read at all. */
  async load(): Promise<MeshDocument[]> {
    try {
      this.isDirectory = (await stat(this.configPath)).isDirectory();
    } catch (err) {
      throw new ConfigSourceError(`${this.configPath}: cannot read: ${(err as Error).message}`);
    }
    return this.documents(await this.provider.load(), 'config loaded');
  }

  watch(): void {
    this.provider.watch();
  }

  private async documents(result: LoadResult, what: string): Promise<MeshDocument[]> {
    for (const w of result.warnings) this.log.warn(formatConfigError(w));
    recordReload(result.errors.length === 0);
    if (result.errors.length > 0) {
      const lines = result.errors.map(formatConfigError);
      this.log.error(
        { errors: lines },
        `${what}: ${lines.length} error(s) in ${result.files.length} file(s); distributing the documents as written, proxies NACK what they cannot apply`,
      );
    }
    const docs = await readDocuments(path.resolve(this.configPath), this.isDirectory, result.files.map((f) => path.resolve(f)));
    this.log.info({ documents: docs.length, files: result.files.length, errors: result.errors.length }, what);
    return docs;
  }

  close(): void {
    this.provider.close();
  }
}
