//! SecurityPolicy `tls`: the TLS a listener terminates, in the spirit of Envoy Gateway's
//! ClientTrafficPolicy `tls`: versions, ciphers and key exchange groups, client certificate
//! validation (mutual TLS for partners), and the verified certificate passed upstream in a header.
//! It belongs to a Gateway or one of its listeners: an HTTPRoute is chosen after the handshake.

import { getCiphers } from 'node:tls';
import type { z } from 'zod';
import { GATEWAY_GROUP, type PolicyTargetReference } from '../../resources.js';
import { FRAMING_HEADERS, headerName, namespace, objectName } from '../formats.js';
import { bool, leaf, list, oneOf, show, strict, uniqueBy } from '../primitives.js';

/** A Secret (the default) or ConfigMap in the policy's namespace. */
export interface CertificateObjectRef {
  readonly group?: '';
  readonly kind?: 'Secret' | 'ConfigMap';
  readonly name: string;
  readonly namespace?: string;
}

export interface ClientValidationSpec {
  /** PEM CA bundles, each under the key `ca.crt`; a client certificate must chain to one of them. */
  readonly caCertificateRefs: readonly CertificateObjectRef[];
  /** Lets clients without a certificate through; a presented certificate that does not verify is still refused. */
  readonly optional?: boolean;
  /** PEM certificate revocation lists, each under the key `ca.crl`: one per CA that issues client certificates. */
  readonly crl?: { readonly refs: readonly CertificateObjectRef[] };
}

export interface TLSSpec {
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** TLS 1.2 ciphers by OpenSSL name and TLS 1.3 suites by IANA name; a version none of whose are named keeps its defaults. */
  readonly ciphers?: readonly string[];
  /** Key exchange groups, most preferred first. */
  readonly ecdhCurves?: readonly string[];
  readonly clientValidation?: ClientValidationSpec;
  /** The verified client certificate's hash, subject and SANs, sent upstream in `header`; any copy the client sent is removed. */
  readonly forwardClientCertificate?: { readonly header: string };
}

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** Named groups Node's OpenSSL offers for key exchange; the names are those OpenSSL accepts in a curve list. */
export const ECDH_CURVES = ['X25519', 'X448', 'P-256', 'P-384', 'P-521'] as const;

const KNOWN_CIPHERS = new Set(getCiphers().map((c) => c.toUpperCase()));

const cipher = leaf<string>((v) => {
  if (typeof v !== 'string') return `expected a cipher name, got ${show(v)}`;
  if (KNOWN_CIPHERS.has(v.toUpperCase())) return undefined;
  return `unknown cipher ${show(v)}: expected an OpenSSL TLS 1.2 cipher name such as "ECDHE-ECDSA-AES128-GCM-SHA256" or a TLS 1.3 suite such as "TLS_AES_128_GCM_SHA256" (one name per item, not an OpenSSL cipher string)`;
});

/** A header to carry the client certificate: any name but one that frames or routes the request. */
const forwardedHeader = leaf<string>((v) => {
  const problem = headerName.safeParse(v);
  if (!problem.success) return problem.error.issues[0]?.message ?? 'invalid header name';
  return FRAMING_HEADERS.has((v as string).toLowerCase()) ? `header ${show(v)} frames or routes the request and cannot carry the client certificate` : undefined;
});

const certificateObjectRef = strict({
  group: oneOf(['']).optional(),
  kind: oneOf(['Secret', 'ConfigMap']).optional(),
  name: objectName,
  namespace: namespace.optional(),
});

export const tlsSpec: z.ZodType<TLSSpec> = strict({
  minVersion: oneOf(TLS_VERSIONS).optional(),
  maxVersion: oneOf(TLS_VERSIONS).optional(),
  ciphers: list(cipher, { min: 1, max: 64 }).superRefine((cs, ctx) => uniqueBy(cs, (c) => c.toUpperCase(), ctx, (c, first) => `duplicate cipher ${show(c)} (also ciphers[${first}])`)).optional(),
  ecdhCurves: list(oneOf(ECDH_CURVES), { min: 1, max: 8 }).superRefine((cs, ctx) => uniqueBy(cs, (c) => c, ctx, (c, first) => `duplicate curve ${show(c)} (also ecdhCurves[${first}])`)).optional(),
  clientValidation: strict({
    caCertificateRefs: list(certificateObjectRef, { min: 1, max: 8 }),
    optional: bool.optional(),
    crl: strict({ refs: list(certificateObjectRef, { min: 1, max: 8 }) }).optional(),
  }).optional(),
  forwardClientCertificate: strict({ header: forwardedHeader }).optional(),
}).superRefine((t, ctx) => {
  if (t.minVersion === 'TLSv1.3' && t.maxVersion === 'TLSv1.2') {
    ctx.addIssue({ code: 'custom', message: 'maxVersion TLSv1.2 is below minVersion TLSv1.3', path: ['maxVersion'] });
  }
  if (t.forwardClientCertificate !== undefined && t.clientValidation === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs clientValidation: only a certificate the listener verified is forwarded', path: ['forwardClientCertificate'] });
  }
});

/**
 * A `tls` block applies to the handshake, before any route is known: the policy must target
 * Gateways or their listeners only.
 */
export function tlsTargetsGateways(spec: { readonly targetRefs: readonly PolicyTargetReference[]; readonly tls?: TLSSpec }, ctx: z.RefinementCtx): void {
  if (spec.tls === undefined) return;
  spec.targetRefs.forEach((ref, i) => {
    if (ref.group === GATEWAY_GROUP && ref.kind === 'Gateway') return;
    ctx.addIssue({
      code: 'custom',
      message: `a policy with tls may target only a Gateway or one of its listeners (sectionName), not ${ref.kind} ${show(ref.name)}: TLS is negotiated before a route is chosen`,
      path: ['targetRefs', i],
    });
  });
}
