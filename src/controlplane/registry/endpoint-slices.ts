//! Registered workloads become the EndpointSlices a proxy resolves Services with, as Kubernetes'
//! EndpointSlice controller would write them: one per (Service, proxy), labelled with the Service
//! name, its ports named as the Service names them and all pointing at the proxy's inbound port,
//! annotated with the SPIFFE ID callers must find on the proxy's certificate.

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { stringify } from 'yaml';
import { SPIFFE_ID_ANNOTATION, type ConfigDocument } from '../../mesh/protocol.js';
import type { PortInfo } from '../config/documents.js';
import { workloadKey, type Workload } from './workloads.js';

/** The `file` of every registry document: proxies name it in their errors. */
const REGISTRY_FILE = 'registry';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const MANAGER = 'windrose-control';

/** What the config says of a Service that registry slices need to know. */
export interface ServiceInfo {
  readonly ports: readonly PortInfo[];
  /** The service accounts allowed to serve it (SERVICE_ACCOUNTS_ANNOTATION); undefined = any in its namespace. */
  readonly serviceAccounts?: readonly string[];
}

/** A Service of the config, or undefined when the config has no such Service. */
export type ServiceLookup = (namespace: string, name: string) => ServiceInfo | undefined;

/** Whether a workload may be an endpoint of a Service: a Service that names service accounts admits only those. */
export function mayServe(w: Workload, service: ServiceInfo | undefined): boolean {
  return service?.serviceAccounts === undefined || service.serviceAccounts.includes(w.serviceAccount);
}

/** Code-unit order, the same whatever the locale. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const addressType = (address: string) => (isIPv4(address) ? 'IPv4' : isIPv6(address) ? 'IPv6' : 'FQDN');

/** Stable across restarts and reconnects: the same proxy always gets the same slice name. */
const sliceName = (service: string, w: Workload) => `${service}-${createHash('sha256').update(workloadKey(w)).digest('hex').slice(0, 10)}`;

function slicePorts(w: Workload, ports: readonly PortInfo[] | undefined) {
  // Without the Service in the config, one unnamed port: it matches the single unnamed port the Service will have.
  const mirrored = ports === undefined || ports.length === 0 ? [{}] : ports;
  return mirrored.map((p) => ({
    ...(p.name === undefined ? {} : { name: p.name }),
    port: w.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol === undefined ? {} : { appProtocol: p.appProtocol }),
  }));
}

export function registryDocuments(workloads: readonly Workload[], services: ServiceLookup): ConfigDocument[] {
  const slices = workloads.flatMap((w) => w.services
    .filter((service) => mayServe(w, services(w.namespace, service)))
    .map((service) => ({ service, w, name: sliceName(service, w) })));
  slices.sort((a, b) => compare(a.w.namespace, b.w.namespace) || compare(a.name, b.name));
  return slices.map(({ service, w, name }) => ({
    file: REGISTRY_FILE,
    line: 1,
    text: stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace: w.namespace,
        labels: { [SERVICE_NAME_LABEL]: service, [MANAGED_BY_LABEL]: MANAGER },
        annotations: { [SPIFFE_ID_ANNOTATION]: w.spiffeId },
      },
      addressType: addressType(w.address),
      ports: slicePorts(w, services(w.namespace, service)?.ports),
      endpoints: [{ addresses: [w.address], conditions: { ready: true }, ...(w.zone === undefined ? {} : { zone: w.zone }) }],
    }),
  }));
}
