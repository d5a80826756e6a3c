//! BackendTLSPolicy (gateway.networking.k8s.io/v1, as in Gateway API v1.4; v1alpha3 has the same
//! shape): how the gateway reaches a Service, or a windrose Backend, over TLS.

import type { z } from 'zod';
import type { BackendTLSPolicySpec } from '../resources.js';
import { group, hostname, kind, objectName, preciseHostname, sectionName } from './formats.js';
import { list, oneOf, pattern, record, show, strict, string, uniqueBy } from './primitives.js';
import { localObjectRef } from './refs.js';

const absoluteURI = pattern(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/, 'URI', 'expected an absolute URI with a scheme, such as "spiffe://cluster.local/ns/shop/sa/orders"', { min: 1, max: 253 });

const subjectAltName = strict({
  type: oneOf(['Hostname', 'URI']),
  hostname: hostname.optional(),
  uri: absoluteURI.optional(),
}).superRefine((s, ctx) => {
  // Upstream CEL: exactly the field the type names.
  const wanted = s.type === 'Hostname' ? 'hostname' : 'uri';
  const other = s.type === 'Hostname' ? 'uri' : 'hostname';
  if (s[wanted] === undefined) ctx.addIssue({ code: 'custom', message: `required when type is ${s.type}`, path: [wanted] });
  if (s[other] !== undefined) ctx.addIssue({ code: 'custom', message: `must not be set when type is ${s.type}`, path: [other] });
});

export const backendTLSPolicySpec: z.ZodType<BackendTLSPolicySpec> = strict({
  targetRefs: list(strict({ group, kind, name: objectName, sectionName: sectionName.optional() }), { min: 1, max: 16 })
    .superRefine((refs, ctx) => uniqueBy(refs, (r) => JSON.stringify([r.group, r.kind, r.name, r.sectionName ?? '']), ctx,
      (r, first) => `duplicate target ${r.kind} ${show(r.name)}${r.sectionName ? ` section ${show(r.sectionName)}` : ''} (also targetRefs[${first}])`)),
  validation: strict({
    caCertificateRefs: list(localObjectRef, { max: 8 }).optional(),
    wellKnownCACertificates: oneOf(['System']).optional(),
    hostname: preciseHostname,
    subjectAltNames: list(subjectAltName, { min: 1, max: 5 }).optional(),
  }).superRefine((v, ctx) => {
    const refs = (v.caCertificateRefs?.length ?? 0) > 0;
    if (refs && v.wellKnownCACertificates !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'must not be set together with caCertificateRefs', path: ['wellKnownCACertificates'] });
    } else if (!refs && v.wellKnownCACertificates === undefined) {
      ctx.addIssue({ code: 'custom', message: 'set caCertificateRefs, or wellKnownCACertificates: System to trust the system CAs', path: ['caCertificateRefs'] });
    }
  }),
  options: record(string({ max: 4096 }), { maxEntries: 16 }).optional(),
});
