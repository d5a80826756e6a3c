//! The workloads proxies registered over their streams, and when each was last heard from. A
//! workload stays until its proxy has been silent for the heartbeat timeout, whether or not its
//! stream is open, so a reconnect or a control-plane restart does not flap its endpoints.

import type { ProxyDescriptor } from '../../mesh/protocol.js';

/** What a proxy described of itself, under the identity its client certificate proved. */
export interface Workload extends ProxyDescriptor {
  /** From the proxy's client certificate, never from what it says. */
  readonly spiffeId: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Two proxies may not take over each other's registration by choosing the same id: the identity is part of the key. */
export const workloadKey = (w: Pick<Workload, 'spiffeId' | 'id'>) => `${w.spiffeId} ${w.id}`;

/** Where the registry is kept between restarts. */
export interface RegistryStore {
  load(): Workload[];
  save(workloads: readonly Workload[]): void;
}

const sameWorkload = (a: Workload, b: Workload) => JSON.stringify(a) === JSON.stringify(b);

export class WorkloadRegistry {
  private readonly entries = new Map<string, { workload: Workload; lastSeen: number }>();

  /** Workloads kept from before a restart count as just seen: their proxies get a full timeout to reconnect. */
  constructor(
    private readonly store: RegistryStore,
    private readonly now: () => number = Date.now,
  ) {
    const at = now();
    for (const workload of store.load()) this.entries.set(workloadKey(workload), { workload, lastSeen: at });
  }

  /** Adds or updates a workload; true when what it registered changed (its endpoints must be pushed). */
  register(workload: Workload): boolean {
    const key = workloadKey(workload);
    const had = this.entries.get(key);
    this.entries.set(key, { workload, lastSeen: this.now() });
    if (had !== undefined && sameWorkload(had.workload, workload)) return false;
    this.save();
    return true;
  }

  /** Its proxy said something: a heartbeat, an ack, anything. */
  touch(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.lastSeen = this.now();
  }

  /** Removes the workloads whose proxies have been silent for longer than `timeoutMs`, and returns them. */
  expire(timeoutMs: number): Workload[] {
    const now = this.now();
    const gone: Workload[] = [];
    for (const [key, entry] of this.entries) {
      if (now - entry.lastSeen > timeoutMs) {
        this.entries.delete(key);
        gone.push(entry.workload);
      }
    }
    if (gone.length > 0) this.save();
    return gone;
  }

  get(key: string): { readonly workload: Workload; readonly lastSeen: number } | undefined {
    return this.entries.get(key);
  }

  /** Sorted by key, so what is built from them comes out in the same order every time. */
  list(): Workload[] {
    return [...this.entries.keys()].sort().map((k) => this.entries.get(k)!.workload);
  }

  get size(): number {
    return this.entries.size;
  }

  private save(): void {
    this.store.save(this.list());
  }
}
