//! `windrose sidecar`: a mesh proxy beside one workload. It gets its SVID from the control plane,
//! subscribes to its config stream, and serves two ports from each version it accepts: inbound (mutual
//! TLS from other proxies, authorization, then the application on localhost) and outbound (the
//! application's calls to other services, routed, balanced and retried, with mutual TLS to the peer).

import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { startAdmin } from '../admin/server.js';
import type { ListenerLimits, MtlsMode } from '../config/model.js';
import { parseDocumentsIsolated } from '../config/load-isolated.js';
import { formatConfigError, type Resource } from '../config/resources.js';
import type { Active } from '../config/snapshot.js';
import { translateMesh, type MeshWorkload } from '../config/translate/mesh.js';
import { logAudits } from '../dataplane/filters/authorization/audit.js';
import { ControlClient } from '../mesh/control-client.js';
import { MeshCredentials } from '../mesh/credentials.js';
import { Identity } from '../mesh/identity.js';
import { meshRegistry, recordConfigUpdate } from '../mesh/metrics.js';
import type { SnapshotMessage } from '../mesh/protocol.js';
import { configRegistry, dataPlaneRegistry } from '../telemetry/metrics.js';
import { CONTENT_TYPE, renderText } from '../telemetry/series.js';
import { DataPlane } from './dataplane.js';

export interface SidecarOptions {
  readonly control: string;
  readonly controlCa: string;
  readonly joinToken: string;
  readonly id: string;
  readonly services: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly appPort: number;
  readonly inbound: { readonly host: string; readonly port: number };
  readonly outbound: { readonly host: string; readonly port: number };
  /** The address other proxies reach the inbound port at. */
  readonly advertise: string;
  readonly mode: MtlsMode;
  readonly admin: { readonly host: string; readonly port: number };
  readonly zone?: string;
  readonly clusterDomain: string;
  readonly heartbeatMs: number;
  readonly limits: ListenerLimits;
  readonly drainMs: number;
  readonly log: Logger;
}

export class SidecarStartError extends Error {}

const SPIFFE_PATH = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;
/** A NACK names the first problems; the control plane's log has the whole story from its own validation. */
const ERRORS_IN_NACK = 5;

function describeErrors(lines: readonly string[]): string {
  const shown = lines.slice(0, ERRORS_IN_NACK).join('; ');
  return lines.length > ERRORS_IN_NACK ? `${shown}; and ${lines.length - ERRORS_IN_NACK} more` : shown;
}

/** A bundle is refused when any block is not a certificate: half a bundle would cut the proxy off from some peers. */
function checkBundle(bundle: readonly string[]): string | undefined {
  if (bundle.length === 0) return 'the trust bundle is empty';
  for (const [i, pem] of bundle.entries()) {
    try {
      new X509Certificate(pem);
    } catch {
      return `trust bundle entry ${i} is not a PEM certificate`;
    }
  }
  return undefined;
}

/** Starts the sidecar; resolves once it has its certificate and is subscribed. The returned function drains and stops it. */
export async function runSidecar(opts: SidecarOptions): Promise<() => Promise<void>> {
  const { log } = opts;
  const credentials = new MeshCredentials();
  const control = new ControlClient({ url: opts.control, controlCa: opts.controlCa, credentials, log });
  const identity = new Identity(control, credentials, log);
  let active: Active | undefined;
  let meshVersion: string | undefined;
  let version = 0;
  let plane: DataPlane | undefined;
  let draining = false;

  const admin = await startAdmin(opts.admin.host, opts.admin.port, {
    ready: () => !draining && plane !== undefined && plane.appliedVersion > 0,
    active: () => active,
    workers: () => [{ id: 0, pid: process.pid, version: plane?.appliedVersion ?? 0, state: draining ? 'draining' : plane?.appliedVersion ? 'serving' : 'starting' }],
    metrics: async () => ({
      contentType: CONTENT_TYPE,
      body: renderText([...dataPlaneRegistry.collect(), ...configRegistry.collect(), ...meshRegistry.collect()]),
    }),
  }).catch((err: Error) => {
    throw new SidecarStartError(`admin ${opts.admin.host}:${opts.admin.port}: ${err.message}`);
  });

  let svid;
  try {
    svid = await identity.bootstrap(opts.joinToken);
  } catch (err) {
    admin.close();
    throw new SidecarStartError(`the control plane refused a certificate: ${(err as Error).message}`);
  }
  const id = SPIFFE_PATH.exec(svid.spiffeId);
  if (id === null) throw new SidecarStartError(`the issued SPIFFE ID ${svid.spiffeId} is not of the form spiffe://<trust-domain>/ns/<ns>/sa/<sa>`);
  const workload: MeshWorkload = {
    namespace: id[1], labels: opts.labels,
    inbound: { port: opts.inbound.port, mode: opts.mode }, outbound: opts.outbound,
    appPort: opts.appPort, clusterDomain: opts.clusterDomain,
  };
  const dataPlane = new DataPlane(opts.inbound.host, log, opts.zone, credentials);
  plane = dataPlane;
  const stopAuditLog = logAudits(log);

  const apply = async (snapshot: SnapshotMessage): Promise<string | undefined> => {
    if (snapshot.version === meshVersion) return undefined;
    const rejected = (reason: string) => {
      recordConfigUpdate(false);
      log.error({ version: snapshot.version, serving: meshVersion ?? null, reason }, 'config version rejected; still serving the previous one');
      return reason;
    };
    let loaded;
    try {
      loaded = await parseDocumentsIsolated(snapshot.documents);
    } catch (err) {
      // The validating child could not run (spawn failure, crash): this version is not applied, the previous one keeps serving.
      return rejected(`the config could not be validated: ${(err as Error).message}`);
    }
    for (const w of loaded.warnings) log.warn(formatConfigError(w));
    if (loaded.errors.length > 0) return rejected(describeErrors(loaded.errors.map(formatConfigError)));
    const bundleProblem = checkBundle(snapshot.trustBundle);
    if (bundleProblem !== undefined) return rejected(bundleProblem);
    let translation;
    try {
      translation = translateMesh(loaded.resources as readonly Resource[], workload, opts.limits);
    } catch (err) {
      return rejected(`translation failed: ${(err as Error).message}`);
    }
    const current = credentials.credentials;
    if (current !== undefined && current.trustBundle.join('') !== snapshot.trustBundle.join('')) {
      credentials.update({ svid: current.svid, trustBundle: snapshot.trustBundle });
    }
    const next = { ...translation, version: version + 1, createdAt: new Date().toISOString() };
    try {
      await dataPlane.apply(next);
    } catch (err) {
      return rejected((err as Error).message);
    }
    version = next.version;
    active = { snapshot: next, resources: loaded.resources };
    meshVersion = snapshot.version;
    recordConfigUpdate(true);
    log.info({ version: snapshot.version, clusters: next.clusters.length }, 'config applied');
    return undefined;
  };

  control.subscribe({
    descriptor: { id: opts.id, services: opts.services, labels: opts.labels, address: opts.advertise, port: opts.inbound.port, ...(opts.zone ? { zone: opts.zone } : {}) },
    heartbeatMs: opts.heartbeatMs,
    version: () => meshVersion,
    apply,
  });

  return async () => {
    draining = true;
    identity.stop();
    control.close();
    stopAuditLog();
    await dataPlane.drain(opts.drainMs);
    admin.close();
  };
}
