//! What a proxy says about itself: its name, the Services it serves, its labels and the address
//! other proxies reach it at. The control plane turns it into EndpointSlices every other proxy
//! reads, so it is checked as strictly as the EndpointSlice schema would check it, and normalised
//! (sorted) so that the same workload always yields the same documents. The sidecar checks its own
//! flags with the same function before it says hello, so a proxy the control plane would refuse
//! never starts.

import { isIP } from 'node:net';
import type { ProxyDescriptor } from './protocol.js';
import { isMapping } from '../mapping.js';

/** A Service name (RFC 1035 label), as Kubernetes requires it. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SERVICES = 64;
const MAX_LABELS = 64;

/** Why a descriptor is not acceptable, and which of its fields (none: the whole value) is at fault. */
export interface DescriptorProblem {
  readonly field?: keyof ProxyDescriptor;
  readonly reason: string;
}

export function isDescriptorProblem(d: ProxyDescriptor | DescriptorProblem): d is DescriptorProblem {
  return 'reason' in d;
}

/** A problem as one line: `proxy.<field>: <reason>`. */
export function describeProblem(p: DescriptorProblem): string {
  return `proxy${p.field === undefined ? '' : `.${p.field}`}: ${p.reason}`;
}

/** The descriptor, normalised, or why it is not acceptable. */
export function parseDescriptor(v: unknown): ProxyDescriptor | DescriptorProblem {
  if (!isMapping(v)) return { reason: 'expected an object' };
  const { id, services, labels, address, port, zone } = v;
  if (typeof id !== 'string' || id.length === 0 || id.length > 253 || /[\u0000-\u001f]/.test(id)) return { field: 'id', reason: 'expected a string of 1 to 253 printable characters' };
  if (!Array.isArray(services) || services.length > MAX_SERVICES) return { field: 'services', reason: `expected a list of at most ${MAX_SERVICES} Service names` };
  const bad = services.find((s) => typeof s !== 'string' || !SERVICE_NAME.test(s));
  if (bad !== undefined) return { field: 'services', reason: `${JSON.stringify(bad)} is not a Service name (a lowercase letter, then lowercase letters, digits and "-"; at most 63)` };
  if (!isMapping(labels) || Object.keys(labels).length > MAX_LABELS) return { field: 'labels', reason: `expected a map of at most ${MAX_LABELS} string labels` };
  const badLabel = Object.entries(labels).find(([k, value]) => typeof value !== 'string' || k.length === 0 || k.length > 317 || value.length > 63);
  if (badLabel !== undefined) return { field: 'labels', reason: `${JSON.stringify(badLabel[0])} is not a valid label (a key of 1 to 317 characters, a value of at most 63)` };
  if (typeof address !== 'string' || (isIP(address) === 0 && !DNS_SUBDOMAIN.test(address))) return { field: 'address', reason: `expected an IP address or a DNS name, got ${JSON.stringify(address)}` };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return { field: 'port', reason: 'expected a port number from 1 to 65535' };
  if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0 || zone.length > 253)) return { field: 'zone', reason: 'expected a non-empty string' };
  const sortedLabels = Object.fromEntries(Object.keys(labels).sort().map((k) => [k, labels[k] as string]));
  return {
    id,
    services: [...new Set(services as string[])].sort(),
    labels: sortedLabels,
    address,
    port,
    ...(zone === undefined ? {} : { zone: zone as string }),
  };
}
