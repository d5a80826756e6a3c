//! Core (v1) and discovery (discovery.k8s.io/v1) kinds: Namespace, Service, EndpointSlice, Secret, ConfigMap.

import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import type { ConfigMapSpec, EndpointSliceSpec, NamespaceSpec, SecretSpec, ServicePort, ServiceSpec } from '../resources.js';
import { dnsLabel, dnsSubdomain } from './formats.js';
import { topLevelEnvelope, type Parsed, specDocument } from './meta.js';
import { bool, compact, ignored, leaf, list, oneOf, pattern, record, show, strict, string, uniqueBy } from './primitives.js';
import { portNumber } from './refs.js';

const protocol = oneOf(['TCP', 'UDP', 'SCTP']);

export const namespaceDocument = specDocument<NamespaceSpec>(strict({ finalizers: list(string()).optional() }).default({}), dnsLabel('name'));

const IANA_SVC_NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A Service targetPort: a number, or the name of a container port (IANA_SVC_NAME). */
const targetPort = leaf<number | string>((v) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return undefined;
  if (typeof v !== 'string') return `expected an integer from 1 to 65535 or a port name, got ${show(v)}`;
  const invalid = (why: string) => `invalid port name ${show(v)}: ${why}`;
  if (v.length > 15 || !IANA_SVC_NAME_RE.test(v) || v.includes('--')) {
    return invalid("expected at most 15 lowercase letters, digits and single '-', starting and ending with a letter or digit");
  }
  if (!/[a-z]/.test(v)) return invalid('must contain at least one letter (write a port number without quotes)');
  return undefined;
});

const servicePort: z.ZodType<ServicePort> = strict({
  name: dnsLabel('port name').optional(),
  protocol: protocol.optional(),
  appProtocol: string({ min: 1 }).optional(),
  port: portNumber,
  targetPort: targetPort.optional(),
  nodePort: portNumber.optional(),
});

/** Kubernetes Service validation: several ports need distinct names and distinct port/protocol pairs. */
function servicePorts(ports: readonly ServicePort[], ctx: z.RefinementCtx): void {
  if (ports.length > 1) {
    ports.forEach((p, i) => {
      if (p.name === undefined) ctx.addIssue({ code: 'custom', message: 'required when the Service has more than one port', path: [i, 'name'] });
    });
  }
  uniqueBy(ports, (p) => p.name, ctx, (p, first) => `duplicate port name ${show(p.name)} (also used by ports[${first}])`, 'name');
  uniqueBy(ports, (p) => `${p.port}/${p.protocol ?? 'TCP'}`, ctx, (p, first) => `duplicate port ${p.port}/${p.protocol ?? 'TCP'} (also used by ports[${first}])`, 'port');
}

// The Service spec has many fields windrose never reads; they are accepted as the API server
// would store them, and only what routing depends on is checked.
const serviceSpec: z.ZodType<ServiceSpec> = strict({
  ports: list(servicePort).superRefine(servicePorts).optional(),
  selector: record(string()).optional(),
  clusterIP: string().optional(),
  clusterIPs: list(string()).optional(),
  type: oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
  externalIPs: ignored,
  sessionAffinity: ignored,
  loadBalancerIP: ignored,
  loadBalancerSourceRanges: ignored,
  externalName: ignored,
  externalTrafficPolicy: ignored,
  healthCheckNodePort: ignored,
  publishNotReadyAddresses: ignored,
  sessionAffinityConfig: ignored,
  ipFamilies: ignored,
  ipFamilyPolicy: ignored,
  allocateLoadBalancerNodePorts: ignored,
  loadBalancerClass: ignored,
  internalTrafficPolicy: ignored,
  trafficDistribution: ignored,
});

/** Service names must be RFC 1035 labels: they become DNS names and environment variables. */
const serviceName = pattern(
  /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
  'name',
  "expected at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (RFC 1035 label)",
  { min: 1, max: 63 },
);

export const serviceDocument = specDocument(serviceSpec, serviceName);

const endpoint = strict({
  addresses: list(string({ min: 1 }), { min: 1, max: 100 }),
  conditions: strict({ ready: bool.optional(), serving: bool.optional(), terminating: bool.optional() }).optional(),
  hostname: dnsLabel('hostname').optional(),
  targetRef: strict({
    kind: string().optional(),
    namespace: string().optional(),
    name: string().optional(),
    uid: string().optional(),
    apiVersion: string().optional(),
    resourceVersion: string().optional(),
    fieldPath: string().optional(),
  }).optional(),
  nodeName: string().optional(),
  zone: string().optional(),
  hints: strict({
    forZones: list(strict({ name: string() })).optional(),
    forNodes: list(strict({ name: string() })).optional(),
  }).optional(),
  deprecatedTopology: record(string()).optional(),
});

const fqdn = dnsSubdomain('address');

const ADDRESS_CHECK: Readonly<Record<EndpointSliceSpec['addressType'], (a: string) => boolean>> = {
  IPv4: isIPv4,
  IPv6: isIPv6,
  FQDN: (a) => fqdn.safeParse(a).success,
};

const endpointSlicePort = strict({
  name: string({ max: 63 }).optional(),
  protocol: protocol.optional(),
  port: portNumber.optional(),
  appProtocol: string({ min: 1 }).optional(),
});

export const endpointSliceDocument: z.ZodType<Parsed<EndpointSliceSpec>> = strict({
  ...topLevelEnvelope,
  addressType: oneOf(['IPv4', 'IPv6', 'FQDN']),
  // An EndpointSlice without endpoints is printed as `endpoints: null`, which reads as absent.
  endpoints: list(endpoint, { max: 1000 }).optional(),
  ports: list(endpointSlicePort, { max: 100 }).optional(),
})
  .superRefine((s, ctx) => {
    const valid = ADDRESS_CHECK[s.addressType];
    s.endpoints?.forEach((e, i) =>
      e.addresses.forEach((a, j) => {
        if (!valid(a)) ctx.addIssue({ code: 'custom', message: `invalid ${s.addressType} address ${show(a)}`, path: ['endpoints', i, 'addresses', j] });
      }),
    );
  })
  .transform((s) => ({ metadata: s.metadata, spec: compact({ addressType: s.addressType, endpoints: s.endpoints ?? [], ports: s.ports }) }));

// Go's base64 decoder skips line breaks, so wrapped values are valid too.
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = string({ format: (v) => (BASE64_RE.test(v.replace(/[\r\n]/g, '')) ? undefined : 'invalid base64 value') });

const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const secretKey = (k: string) =>
  k.length <= 253 && SECRET_KEY_RE.test(k) ? undefined : `invalid key ${show(k)}: expected at most 253 letters, digits, '-', '_' or '.'`;

const TLS_KEYS = ['tls.crt', 'tls.key'] as const;

export const secretDocument: z.ZodType<Parsed<SecretSpec>> = strict({
  ...topLevelEnvelope,
  type: string({ min: 1 }).optional(),
  data: record(base64, { key: secretKey }).optional(),
  stringData: record(string(), { key: secretKey }).optional(),
  immutable: bool.optional(),
})
  .superRefine((s, ctx) => {
    if (s.type !== 'kubernetes.io/tls') return;
    for (const key of TLS_KEYS) {
      if (s.data?.[key] === undefined && s.stringData?.[key] === undefined) {
        ctx.addIssue({ code: 'custom', message: `missing key ${JSON.stringify(key)}, required for type kubernetes.io/tls`, path: ['data'] });
      }
    }
  })
  .transform((s) => ({
    metadata: s.metadata,
    spec: compact({ type: s.type, data: s.data, stringData: s.stringData }),
  }));

/** ConfigMap keys follow the Secret key rules; a key may hold text (`data`) or base64 (`binaryData`), not both. */
export const configMapDocument: z.ZodType<Parsed<ConfigMapSpec>> = strict({
  ...topLevelEnvelope,
  data: record(string(), { key: secretKey }).optional(),
  binaryData: record(base64, { key: secretKey }).optional(),
  immutable: bool.optional(),
})
  .superRefine((c, ctx) => {
    for (const key of Object.keys(c.binaryData ?? {})) {
      if (c.data?.[key] !== undefined) ctx.addIssue({ code: 'custom', message: `duplicate key ${JSON.stringify(key)}: also in data`, path: ['binaryData', key] });
    }
  })
  .transform((c) => ({ metadata: c.metadata, spec: compact({ data: c.data, binaryData: c.binaryData }) }));
