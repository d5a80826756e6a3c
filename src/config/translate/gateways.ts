//! Gateways and their listeners: which ones windrose serves, their certificates, conflicts and status.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Certificate } from '../model.js';
import { CONTROLLER_NAME, GATEWAY_GROUP, type Gateway, type Listener } from '../resources.js';
import { condition, type Condition, type ListenerStatus, type ResourceStatus } from '../status.js';
import { key, nsOf, referencePermitted, type ResourceIndex } from './index-resources.js';

/** A listener windrose will serve, with what routes need to attach to it. */
export interface ListenerInfo {
  readonly gateway: Gateway;
  readonly listener: Listener;
  /** "default/web/http" */
  readonly id: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly certificates: readonly Certificate[];
  /** False when the listener is conflicted or invalid: routes may not attach. */
  readonly usable: boolean;
  attachedRoutes: number;
}

export interface GatewayResult {
  readonly listeners: ListenerInfo[];
  readonly statuses: ResourceStatus[];
  readonly ownGateways: Set<Gateway>;
}

const HTTP_KINDS = [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }];

function decodeSecretValue(data: Readonly<Record<string, string>> | undefined, stringData: Readonly<Record<string, string>> | undefined, name: string): string | undefined {
  if (stringData?.[name] !== undefined) return stringData[name];
  const b64 = data?.[name];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

function loadCertificate(idx: ResourceIndex, gw: Gateway, ref: { group?: string; kind?: string; name: string; namespace?: string }):
  { ok: true; cert: Certificate } | { ok: false; reason: string; message: string } {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  const namespace = ref.namespace ?? nsOf(gw);
  const label = `Secret ${namespace}/${ref.name}`;
  if (group !== '' || kind !== 'Secret') return { ok: false, reason: 'InvalidCertificateRef', message: `certificateRef kind ${kind} (group "${group}") is not supported; only core Secret` };
  if (!referencePermitted(idx, { group: GATEWAY_GROUP, kind: 'Gateway', namespace: nsOf(gw) }, { group: '', kind: 'Secret', namespace, name: ref.name })) {
    return { ok: false, reason: 'RefNotPermitted', message: `${label} is in another namespace and no ReferenceGrant permits it` };
  }
  const secret = idx.secrets.get(key(namespace, ref.name));
  if (!secret) return { ok: false, reason: 'InvalidCertificateRef', message: `${label} not found` };
  if (secret.spec.type !== 'kubernetes.io/tls') return { ok: false, reason: 'InvalidCertificateRef', message: `${label} is not of type kubernetes.io/tls` };
  const certPem = decodeSecretValue(secret.spec.data, secret.spec.stringData, 'tls.crt');
  const keyPem = decodeSecretValue(secret.spec.data, secret.spec.stringData, 'tls.key');
  if (!certPem || !keyPem) return { ok: false, reason: 'InvalidCertificateRef', message: `${label} lacks tls.crt or tls.key` };
  try {
    const x509 = new X509Certificate(certPem);
    const privateKey = createPrivateKey(keyPem);
    if (!x509.checkPrivateKey(privateKey)) return { ok: false, reason: 'InvalidCertificateRef', message: `${label}: tls.key does not match tls.crt` };
    const dnsNames = (x509.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4).toLowerCase());
    return { ok: true, cert: { name: `${namespace}/${ref.name}`, certPem, keyPem, dnsNames, listenerHostnames: [] } };
  } catch (err) {
    return { ok: false, reason: 'InvalidCertificateRef', message: `${label} holds no valid PEM certificate and key: ${(err as Error).message}` };
  }
}

export function translateGateways(idx: ResourceIndex): GatewayResult {
  const statuses: ResourceStatus[] = [];
  const listeners: ListenerInfo[] = [];
  const ownGateways = new Set<Gateway>();

  for (const gc of idx.gatewayClasses.values()) {
    if (gc.spec.controllerName !== CONTROLLER_NAME) continue;
    statuses.push({ kind: 'GatewayClass', name: gc.metadata.name, conditions: [condition('Accepted', true, 'Accepted', 'handled by windrose', gc.metadata.generation)] });
  }

  // Port ownership across all Gateways: the first listener (oldest Gateway, then name) decides a port's protocol.
  const ordered = [...idx.gateways].sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || key(nsOf(a), a.metadata.name).localeCompare(key(nsOf(b), b.metadata.name)));
  const portProtocol = new Map<number, string>();
  const seenHostOnPort = new Set<string>();

  for (const gw of ordered) {
    const gen = gw.metadata.generation;
    const gc = idx.gatewayClasses.get(gw.spec.gatewayClassName);
    if (!gc || gc.spec.controllerName !== CONTROLLER_NAME) continue;
    ownGateways.add(gw);
    const listenerStatuses: ListenerStatus[] = [];
    const infos: ListenerInfo[] = [];
    for (const l of gw.spec.listeners) {
      const conds: Condition[] = [];
      let usable = true;
      let certificates: Certificate[] = [];
      const supported = l.protocol === 'HTTP' || l.protocol === 'HTTPS';
      if (!supported) {
        usable = false;
        conds.push(condition('Accepted', false, 'UnsupportedProtocol', `protocol ${l.protocol} is not supported; use HTTP or HTTPS`, gen));
      }
      if (supported && l.protocol === 'HTTPS') {
        if (l.tls?.mode === 'Passthrough') {
          usable = false;
          conds.push(condition('Accepted', false, 'UnsupportedProtocol', 'HTTPS with TLS mode Passthrough is not supported', gen));
        } else {
          const refErrors: { reason: string; message: string }[] = [];
          for (const ref of l.tls?.certificateRefs ?? []) {
            const res = loadCertificate(idx, gw, ref);
            if (res.ok) certificates.push({ ...res.cert, listenerHostnames: [l.hostname?.toLowerCase() ?? ''] });
            else refErrors.push(res);
          }
          if (refErrors.length > 0) conds.push(condition('ResolvedRefs', false, refErrors[0].reason, refErrors.map((e) => e.message).join('; '), gen));
          if (certificates.length === 0) usable = false;
        }
      }
      const kinds = l.allowedRoutes?.kinds;
      const invalidKinds = (kinds ?? []).filter((k) => (k.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || k.kind !== 'HTTPRoute');
      if (invalidKinds.length > 0) {
        conds.push(condition('ResolvedRefs', false, 'InvalidRouteKinds', `route kinds ${invalidKinds.map((k) => k.kind).join(', ')} are not supported on ${l.protocol}`, gen));
      }
      if (supported && usable) {
        const owner = portProtocol.get(l.port);
        const hostKey = `${l.port}|${l.hostname ?? ''}`;
        if (owner !== undefined && owner !== l.protocol) {
          usable = false;
          conds.push(condition('Conflicted', true, 'ProtocolConflict', `port ${l.port} already serves ${owner}`, gen));
        } else if (seenHostOnPort.has(hostKey)) {
          usable = false;
          conds.push(condition('Conflicted', true, 'HostnameConflict', `another listener on port ${l.port} has hostname "${l.hostname ?? ''}"`, gen));
        } else {
          portProtocol.set(l.port, l.protocol);
          seenHostOnPort.add(hostKey);
        }
      }
      if (!conds.some((c) => c.type === 'Accepted')) conds.push(condition('Accepted', usable, usable ? 'Accepted' : 'Invalid', usable ? 'listener accepted' : 'listener cannot be served', gen));
      if (!conds.some((c) => c.type === 'ResolvedRefs')) conds.push(condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', gen));
      if (!conds.some((c) => c.type === 'Conflicted')) conds.push(condition('Conflicted', false, 'NoConflicts', 'no conflicts', gen));
      conds.push(condition('Programmed', usable, usable ? 'Programmed' : 'Invalid', usable ? `serving on port ${l.port}` : 'not serving', gen));
      const info: ListenerInfo = {
        gateway: gw, listener: l, id: `${nsOf(gw)}/${gw.metadata.name}/${l.name}`,
        protocol: l.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP', certificates, usable, attachedRoutes: 0,
      };
      infos.push(info);
      listenerStatuses.push({ name: l.name, attachedRoutes: 0, supportedKinds: HTTP_KINDS, conditions: conds });
      certificates = [];
    }
    listeners.push(...infos);
    const anyUsable = infos.some((i) => i.usable);
    statuses.push({
      kind: 'Gateway', namespace: nsOf(gw), name: gw.metadata.name,
      conditions: [
        condition('Accepted', true, anyUsable ? 'Accepted' : 'ListenersNotValid', anyUsable ? 'gateway accepted' : 'no listener can be served', gen),
        condition('Programmed', anyUsable, anyUsable ? 'Programmed' : 'Invalid', anyUsable ? 'gateway serving' : 'no listener is serving', gen),
      ],
      listeners: listenerStatuses,
    });
  }
  return { listeners, statuses, ownGateways };
}

/** Listener statuses are written before routes attach; this fills in attachedRoutes afterwards. */
export function withAttachedRoutes(statuses: ResourceStatus[], listeners: readonly ListenerInfo[]): ResourceStatus[] {
  const counts = new Map(listeners.map((l) => [l.id, l.attachedRoutes]));
  return statuses.map((s) =>
    s.kind !== 'Gateway' || !s.listeners ? s : {
      ...s,
      listeners: s.listeners.map((l) => ({ ...l, attachedRoutes: counts.get(`${s.namespace}/${s.name}/${l.name}`) ?? 0 })),
    });
}
