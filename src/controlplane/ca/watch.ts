//! A running control plane follows its CA directory: after `windrose control ca rotate` or
//! `retire`, or an operator placing an intermediate, it reloads the CA and reports the change, so
//! the new trust bundle reaches every proxy without a restart.

import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { CaError, CertificateAuthority } from './authority.js';

/** rotate writes several files in a row; they are read once they have all landed. */
const SETTLE_MS = 100;

export class CaWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private current: CertificateAuthority,
    private readonly onChange: (ca: CertificateAuthority) => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    // Every event is read, not only those naming CA files: a mounted Kubernetes Secret changes by
    // swapping a "..data" link, and a reload that finds nothing new costs little.
    this.watcher = watch(this.dir, () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.reading = this.reading.then(() => this.reload());
      }, SETTLE_MS);
    });
  }

  private async reload(): Promise<void> {
    let next: CertificateAuthority;
    try {
      next = await CertificateAuthority.load(this.dir, { trustDomain: this.current.trustDomain });
    } catch (err) {
      // A half-written rotation reads as a key that does not match its certificate; the next event completes it.
      const message = err instanceof CaError ? err.message : (err as Error).message;
      this.log.warn({ dir: this.dir, err: message }, 'CA files changed but cannot be used; still signing with the previous ones');
      return;
    }
    if (next.sameAs(this.current)) return;
    this.current = next;
    this.log.info({ roots: next.roots().length }, 'CA reloaded');
    await this.onChange(next).catch((err: Error) => this.log.error({ err: err.message }, 'applying the reloaded CA failed'));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
  }
}
