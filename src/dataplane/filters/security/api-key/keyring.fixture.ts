//! Test doubles for the keyring: a key source held in memory, and a logger that keeps its lines.

import type { Logger } from 'pino';
import type { SyncedApiKey } from '../../../../store/api-keys.js';
import type { KeySource } from './keyring.js';

export interface LogEntry { level: string; fields: Record<string, unknown>; msg: string }

/** A logger that keeps what it is given. */
export function recordingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => { entries.push({ level, fields, msg }); };
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: () => true };
  return { log: log as unknown as Logger, entries };
}

/** The api_keys table as a list; `failing` makes it unreachable. Each call is announced, so a test can wait for the sync after a change. */
export class FakeSource implements KeySource {
  readonly rows: SyncedApiKey[] = [];
  failing = false;
  calls = 0;
  private waiters: { n: number; resolve: () => void }[] = [];

  add(prefix: string, fields: Partial<SyncedApiKey> = {}): SyncedApiKey {
    const row: SyncedApiKey = {
      id: this.rows.length + 1, prefix, consumer: 'acme', name: undefined, createdAt: 0, expiresAt: undefined, revokedAt: undefined,
      hash: '00'.repeat(32), changeSeq: this.seq() + 1, ...fields,
    };
    this.rows.push(row);
    return row;
  }

  revoke(prefix: string): void {
    const i = this.rows.findIndex((r) => r.prefix === prefix);
    const [row] = this.rows.splice(i, 1);
    this.rows.push({ ...row, revokedAt: 1, changeSeq: this.seq() + 1 });
  }

  async changedSince(seq: number, limit: number): Promise<SyncedApiKey[]> {
    this.calls++;
    for (const w of this.waiters.filter((x) => x.n <= this.calls)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
    if (this.failing) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    return this.rows.filter((r) => r.changeSeq > seq).sort((a, b) => a.changeSeq - b.changeSeq).slice(0, limit);
  }

  /** Resolves when a later sync has started, so every sync before it has been applied. */
  nextSync(): Promise<void> {
    // The keyring's timer does not hold the process open; the test's wait must.
    const alive = setInterval(() => undefined, 1000);
    return new Promise<void>((resolve) => this.waiters.push({ n: this.calls + 1, resolve })).finally(() => clearInterval(alive));
  }

  private seq(): number {
    return Math.max(0, ...this.rows.map((r) => r.changeSeq));
  }
}
