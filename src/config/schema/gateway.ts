//! GatewayClass and Gateway specs (gateway.networking.k8s.io/v1), with the CRD's CEL rules.

import { z } from 'zod';
import type { GatewayClassSpec, GatewaySpec, Listener } from '../resources.js';
import { group, hostname, ipAddress, kind, labelValue, namespace, objectName, qualifiedNameProblem, sectionName } from './formats.js';
import { AT_KEY, list, oneOf, pattern, record, show, strict, string, uniqueBy } from './primitives.js';
import { labelSelector, objectReference, portNumber, secretObjectRef } from './refs.js';

const CONTROLLER_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;

export const gatewayClassSpec: z.ZodType<GatewayClassSpec> = strict({
  controllerName: pattern(CONTROLLER_NAME_RE, 'controller name', 'expected a domain-prefixed path such as "example.net/gateway-controller"', { min: 1, max: 253 }),
  parametersRef: strict({ group, kind, name: string({ min: 1, max: 253 }), namespace: namespace.optional() }).optional(),
  description: string({ max: 64 }).optional(),
});

// The upstream protocol and address type patterns anchor only some of their alternatives; here
// every alternative must match the whole value.
const PROTOCOL_RE = /^(?:[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+)$/;
const protocol = pattern(PROTOCOL_RE, 'protocol', 'expected a core protocol such as "HTTP" or a domain-prefixed one such as "example.com/proto"', { min: 1, max: 255 });

const annotationKey = (k: string) => qualifiedNameProblem(k, 'key');
const options = record(string({ max: 4096 }), { maxEntries: 16, key: annotationKey });

/** The frontendValidation field of v1.2-v1.3 listeners (experimental channel). */
const frontendValidation = strict({ caCertificateRefs: list(objectReference, { min: 1, max: 8 }) });

const listenerTLS = strict({
  mode: oneOf(['Terminate', 'Passthrough']).optional(),
  certificateRefs: list(secretObjectRef, { max: 64 }).optional(),
  options: options.optional(),
  frontendValidation: frontendValidation.optional(),
});

const allowedRoutes = strict({
  namespaces: strict({ from: oneOf(['All', 'Selector', 'Same']).optional(), selector: labelSelector.optional() })
    .superRefine((n, ctx) => {
      if (n.from === 'Selector' && n.selector === undefined) ctx.addIssue({ code: 'custom', message: 'required when from is Selector', path: ['selector'] });
    })
    .optional(),
  kinds: list(strict({ group: group.optional(), kind }), { max: 8 }).optional(),
});

const listener = strict({
  name: sectionName,
  hostname: hostname.optional(),
  port: portNumber,
  protocol,
  tls: listenerTLS.optional(),
  allowedRoutes: allowedRoutes.optional(),
});

const is = (protocols: readonly string[], l: Listener) => protocols.includes(l.protocol.toUpperCase());

/** Per-listener rules that depend on the protocol (CEL on the listeners list upstream). */
function checkListener(l: Listener, i: number, ctx: z.RefinementCtx): void {
  const at = (...path: (string | number)[]) => [i, ...path];
  if (is(['HTTP', 'TCP', 'UDP'], l) && l.tls !== undefined) {
    ctx.addIssue({ code: 'custom', message: `not allowed for protocol ${l.protocol}`, path: at('tls'), params: AT_KEY });
  }
  if (is(['TCP', 'UDP'], l) && l.hostname !== undefined) {
    ctx.addIssue({ code: 'custom', message: `not allowed for protocol ${l.protocol}`, path: at('hostname'), params: AT_KEY });
  }
  if (!is(['HTTPS', 'TLS'], l)) return;
  if (l.tls === undefined) {
    ctx.addIssue({ code: 'custom', message: `required for protocol ${l.protocol}`, path: at('tls') });
    return;
  }
  const upper = l.protocol.toUpperCase();
  if (upper === 'TLS' && l.tls.mode === undefined) ctx.addIssue({ code: 'custom', message: 'required for protocol TLS', path: at('tls', 'mode') });
  if (upper === 'HTTPS' && l.tls.mode === 'Passthrough') {
    ctx.addIssue({ code: 'custom', message: 'must be Terminate for protocol HTTPS (use protocol TLS for passthrough)', path: at('tls', 'mode') });
  }
  // windrose terminates TLS only with certificates it is given, so options alone are not enough.
  if ((l.tls.mode ?? 'Terminate') === 'Terminate' && (l.tls.certificateRefs?.length ?? 0) === 0) {
    ctx.addIssue({ code: 'custom', message: 'at least one certificate reference is required when tls mode is Terminate', path: at('tls', 'certificateRefs') });
  }
}

const listeners = list(listener, { min: 1, max: 64 }).superRefine((ls, ctx) => {
  ls.forEach((l, i) => checkListener(l, i, ctx));
  uniqueBy(ls, (l) => l.name, ctx, (l, first) => `duplicate listener name ${show(l.name)} (also used by listeners[${first}])`, 'name');
  uniqueBy(
    ls,
    (l) => JSON.stringify([l.port, l.protocol, l.hostname ?? null]),
    ctx,
    (l, first) => {
      const host = l.hostname === undefined ? 'no hostname' : `hostname ${show(l.hostname)}`;
      return `conflicts with listeners[${first}]: both use port ${l.port}, protocol ${l.protocol} and ${host}`;
    },
  );
});

const ADDRESS_TYPE_RE = /^(?:Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+)$/;

const address = strict({
  type: pattern(ADDRESS_TYPE_RE, 'address type', 'expected IPAddress, Hostname or a domain-prefixed type', { min: 1, max: 253 }).optional(),
  // Optional upstream since v1.3 (the implementation picks one); windrose needs it given.
  value: string({ min: 1, max: 253 }),
}).superRefine((a, ctx) => {
  const type = a.type ?? 'IPAddress';
  const format = type === 'IPAddress' ? ipAddress : type === 'Hostname' ? hostname : undefined;
  const checked = format?.safeParse(a.value);
  if (checked?.success === false) ctx.addIssue({ code: 'custom', message: checked.error.issues[0].message, path: ['value'] });
});

const addresses = list(address, { max: 16 }).superRefine((as, ctx) => {
  uniqueBy(
    as,
    (a) => ((a.type ?? 'IPAddress') === 'IPAddress' || a.type === 'Hostname' ? `${a.type ?? 'IPAddress'}/${a.value}` : undefined),
    ctx,
    (a, first) => `duplicate address ${show(a.value)} (also at addresses[${first}])`,
    'value',
  );
});

const infrastructure = strict({
  labels: record(labelValue, { maxEntries: 8, key: (k) => qualifiedNameProblem(k, 'label key') }).optional(),
  annotations: record(string({ max: 4096 }), { maxEntries: 16, key: (k) => qualifiedNameProblem(k, 'annotation key') }).optional(),
  parametersRef: strict({ group, kind, name: string({ min: 1, max: 253 }) }).optional(),
});

const backendTLS = strict({ clientCertificateRef: secretObjectRef.optional() });

/** Gateway-wide TLS (v1.4+): client certificates towards backends and client validation per port. */
const tlsValidation = strict({
  validation: strict({
    caCertificateRefs: list(objectReference, { min: 1, max: 8 }),
    mode: oneOf(['AllowValidOnly', 'AllowInsecureFallback']).optional(),
  }).optional(),
});

const gatewayTLS = strict({
  backend: backendTLS.optional(),
  frontend: strict({
    default: tlsValidation,
    perPort: list(strict({ port: portNumber, tls: tlsValidation }), { max: 64 })
      .superRefine((ps, ctx) => uniqueBy(ps, (p) => String(p.port), ctx, (p, first) => `duplicate port ${p.port} (also at perPort[${first}])`, 'port'))
      .optional(),
  }).optional(),
});

const allowedListeners = strict({
  namespaces: strict({ from: oneOf(['All', 'Selector', 'Same', 'None']).optional(), selector: labelSelector.optional() }).optional(),
});

export const gatewaySpec: z.ZodType<GatewaySpec> = strict({
  gatewayClassName: objectName,
  listeners,
  addresses: addresses.optional(),
  infrastructure: infrastructure.optional(),
  backendTLS: backendTLS.optional(),
  tls: gatewayTLS.optional(),
  allowedListeners: allowedListeners.optional(),
});
