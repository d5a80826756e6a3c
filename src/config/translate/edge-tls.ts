//! SecurityPolicy `tls` in translation: a policy's block resolved once into a listener's TLS
//! settings (its filter carries them), and the settings of the listeners sharing a port folded
//! into the one handshake that port negotiates.

import { createHash } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import type { Filter } from '../../dataplane/filters/filter.js';
import { clientCertificateFilter } from '../../dataplane/filters/security/tls.js';
import type { Certificate, ClientValidation, PortTLS, TLSVersion } from '../model.js';
import type { CertificateObjectRef, TLSSpec } from '../schema/security/tls.js';
import { PolicyProblem } from './attachment.js';
import { pemCertificates } from './pem.js';
import type { SecurityContext } from './security.js';

/** What one listener's policy asks of TLS; unset fields leave the defaults. */
export interface ListenerTLS {
  readonly minVersion?: TLSVersion;
  readonly maxVersion?: TLSVersion;
  /** Upper-case names. */
  readonly ciphers?: readonly string[];
  readonly ecdhCurves?: readonly string[];
  readonly clientValidation?: ClientValidation;
}

/** The `tls` block's filter, which carries the listener settings the port is built from. */
export interface TLSFilter extends Filter {
  readonly tls: ListenerTLS;
}

const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

function read(ctx: SecurityContext, ref: CertificateObjectRef, field: string): string {
  if ((ref.kind ?? 'Secret') === 'ConfigMap') return ctx.configMap(ref, field).toString('utf8');
  return ctx.secret({ name: ref.name, ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}) }, field).toString('utf8');
}

const label = (ref: CertificateObjectRef, namespace: string) => `${ref.kind ?? 'Secret'} ${ref.namespace ?? namespace}/${ref.name}`;

function caBundle(ctx: SecurityContext, refs: readonly CertificateObjectRef[]): string {
  const certs: string[] = [];
  for (const ref of refs) {
    const found = pemCertificates(read(ctx, ref, 'ca.crt'));
    if (found === undefined) throw new PolicyProblem('InvalidCACertificateRef', `${label(ref, ctx.namespace)} key "ca.crt" holds no valid PEM certificate`);
    certs.push(...found);
  }
  return `${certs.join('\n')}\n`;
}

function revocationLists(ctx: SecurityContext, refs: readonly CertificateObjectRef[]): string[] {
  const crls: string[] = [];
  for (const ref of refs) {
    const found = read(ctx, ref, 'ca.crl').match(PEM_CRL) ?? [];
    if (found.length === 0) throw new PolicyProblem('InvalidCRLRef', `${label(ref, ctx.namespace)} key "ca.crl" holds no PEM CRL`);
    crls.push(...found);
  }
  // Parsed here as the listener will parse them, so a bad list is this policy's problem, not a failed port.
  try {
    createSecureContext({ crl: crls });
  } catch {
    throw new PolicyProblem('InvalidCRLRef', 'a CRL does not parse');
  }
  return crls;
}

function clientValidationOf(spec: NonNullable<TLSSpec['clientValidation']>, ctx: SecurityContext): ClientValidation {
  const caPem = caBundle(ctx, spec.caCertificateRefs);
  const crls = spec.crl === undefined ? undefined : revocationLists(ctx, spec.crl.refs);
  // Named after where the check reads from, not what it read: a renewed CRL or CA bundle changes
  // the next handshakes, and connections verified before the reload stay accepted after it.
  const sources = [spec.caCertificateRefs, spec.crl?.refs ?? []].map((refs) => refs.map((r) => label(r, ctx.namespace)).sort());
  const id = createHash('sha256').update(JSON.stringify(sources)).digest('hex').slice(0, 32);
  return { id, caPem, ...(crls ? { crls } : {}), optional: spec.optional === true };
}

/** The COMPILERS entry of the `tls` block. */
export function tlsFilter(spec: TLSSpec, ctx: SecurityContext): TLSFilter {
  const clientValidation = spec.clientValidation === undefined ? undefined : clientValidationOf(spec.clientValidation, ctx);
  const tls: ListenerTLS = {
    ...(spec.minVersion ? { minVersion: spec.minVersion } : {}),
    ...(spec.maxVersion ? { maxVersion: spec.maxVersion } : {}),
    ...(spec.ciphers ? { ciphers: spec.ciphers.map((c) => c.toUpperCase()) } : {}),
    ...(spec.ecdhCurves ? { ecdhCurves: spec.ecdhCurves } : {}),
    ...(clientValidation ? { clientValidation } : {}),
  };
  return { ...clientCertificateFilter(clientValidation, spec.forwardClientCertificate?.header), tls };
}

/** The listener settings a compiled `tls` block carries; undefined for a refusing (invalid policy) filter. */
export function listenerTLSOf(filter: Filter | undefined): ListenerTLS | undefined {
  return (filter as Partial<TLSFilter> | undefined)?.tls;
}

const DEFAULT_SUITES = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
const DEFAULT_TLS12 = DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'));

/** TLS 1.3 suites and TLS 1.2 ciphers as one OpenSSL string; a version none of whose are named keeps Node's defaults. */
export function cipherString(names: readonly string[]): string {
  const suites = names.filter((c) => c.startsWith('TLS_'));
  const tls12 = names.filter((c) => !c.startsWith('TLS_'));
  return [...(suites.length > 0 ? suites : DEFAULT_SUITES), ...(tls12.length > 0 ? tls12 : DEFAULT_TLS12)].join(':');
}

/** What every list names, in the first list's order; when they share nothing, the first list. */
function shared(lists: readonly (readonly string[] | undefined)[]): readonly string[] | undefined {
  const named = lists.filter((l): l is readonly string[] => l !== undefined);
  if (named.length === 0) return undefined;
  const common = named[0].filter((x) => named.every((l) => l.includes(x)));
  return common.length > 0 ? common : named[0];
}

/**
 * The handshake of a port, from the settings of its listeners in port order (undefined for a
 * listener no policy sets TLS for). TLS settles version and cipher before the server name picks a
 * listener, so the port takes the strictest: the highest minimum, the lowest maximum, the ciphers
 * and curves every listener that names some names.
 */
export function portTLS(listeners: readonly (ListenerTLS | undefined)[]): PortTLS | undefined {
  const set = listeners.filter((l): l is ListenerTLS => l !== undefined);
  if (set.length === 0) return undefined;
  const minVersion: TLSVersion = set.some((l) => l.minVersion === 'TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2';
  const maxVersion: TLSVersion = minVersion === 'TLSv1.2' && set.some((l) => l.maxVersion === 'TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3';
  const ciphers = shared(set.map((l) => l.ciphers));
  const curves = shared(set.map((l) => l.ecdhCurves));
  return {
    minVersion,
    maxVersion,
    ...(ciphers ? { ciphers: cipherString(ciphers) } : {}),
    ...(curves ? { ecdhCurve: curves.join(':') } : {}),
    requestCert: listeners.some((l) => l?.clientValidation !== undefined),
    requireCert: listeners.every((l) => l?.clientValidation !== undefined && !l.clientValidation.optional),
  };
}

/** A listener's certificates, each with the client validation its handshake uses. */
export function withClientValidation(certificates: readonly Certificate[], tls: ListenerTLS | undefined): readonly Certificate[] {
  const v = tls?.clientValidation;
  return v === undefined ? certificates : certificates.map((c) => ({ ...c, clientValidation: v }));
}
