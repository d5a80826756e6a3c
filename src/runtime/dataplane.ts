//! One data-plane process: the ports it serves, its connection pools, and applying snapshots to them.

import type { Logger } from 'pino';
import type { Snapshot } from '../config/model.js';
import { logSecurityEvents } from '../dataplane/filters/security/events.js';
import { logWafEvents } from '../dataplane/filters/security/waf/events.js';
import { Ports } from '../dataplane/listeners/ports.js';
import { RequestHandler } from '../dataplane/proxy.js';
import { UpgradeHandler } from '../dataplane/upgrade.js';
import { UpstreamPools } from '../dataplane/upstream/pools.js';
import type { MeshCredentials } from '../mesh/credentials.js';

export class DataPlane {
  private readonly pools: UpstreamPools;
  private readonly ports: Ports;
  private applied = 0;

  constructor(bindHost: string, private readonly log: Logger, zone?: string, mesh?: MeshCredentials) {
    // A sidecar (the process with a mesh identity) is held to a tighter memory budget than a gateway.
    this.pools = new UpstreamPools({ zone, mesh, http1: mesh !== undefined ? 'node' : 'undici' });
    this.ports = new Ports(new RequestHandler(this.pools), new UpgradeHandler(this.pools), {
      host: bindHost,
      mesh,
      onError: (port, err) => log.error({ port, err: err.message }, `listener on port ${port} failed`),
    });
    logSecurityEvents(log);
    logWafEvents(log);
  }

  get appliedVersion(): number {
    return this.applied;
  }

  /** Serves `snapshot`; throws, after serving what it can, when a listener port could not be bound. */
  async apply(snapshot: Snapshot): Promise<void> {
    const failed = await this.ports.apply(snapshot);
    this.pools.retain(snapshot.clusters);
    if (failed.length > 0) throw new Error(failed.map((f) => `listener port ${f.port}: ${f.error}`).join('; '));
    this.applied = snapshot.version;
    this.log.debug({ version: snapshot.version, ports: this.ports.boundPorts }, 'snapshot applied');
  }

  /**
   * Stops accepting before it returns; then lets requests in flight finish within `graceMs`, cuts the
   * connections left after that, and closes upstream pools.
   */
  async drain(graceMs: number): Promise<void> {
    const connections = this.ports.connections;
    const closing = this.ports.close(graceMs);
    this.log.info({ graceMs, connections }, 'stopped accepting; draining connections');
    const cut = await closing;
    await this.pools.close();
    // Loaded here rather than at start: a process that never opened the store (a sidecar, a gateway without API keys) never loads it.
    await (await import('../store/shared.js')).closeSharedStore();
    this.log.info({ cut }, 'drained');
  }
}
