//! Gateways and their listeners: which ones windrose serves, their certificates, conflicts and status.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Certificate } from '../model.js';
import { CONTROLLER_NAME, GATEWAY_GROUP, type Gateway, type Listener } from '../resources.js';
import { condition, type Condition, type ListenerStatus, type ResourceStatus } from '../status.js';
import { key, nsOf, referencePermitted, type ResourceIndex } from './index-resources.js';
import { olderFirst } from './order.js';

/** A listener windrose will serve, with what routes need to attach to it. */
export interface ListenerInfo {
  readonly gateway: Gateway;
  readonly listener: Listener;
  /** "default/web/http" */
  readonly id: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly certificates: readonly Certificate[];
  /** False when the listener is conflicted or invalid: it is not served. */
  readonly usable: boolean;
  /** Whether HTTPRoutes may attach (its protocol and allowedRoutes.kinds allow them), served or not. */
  readonly acceptsHTTPRoutes: boolean;
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

/** A listener checked on its own, before conflicts with other listeners are known. */
interface Draft {
  readonly listener: Listener;
  /** Upper-cased: core protocol names are case-insensitive. */
  readonly protocol: string;
  /** HTTP or HTTPS: the protocols windrose serves. */
  readonly supported: boolean;
  readonly certificates: Certificate[];
  readonly supportedKinds: { group: string; kind: string }[];
  /** Why the listener cannot be served on its own; undefined when it can. */
  notAccepted?: Condition;
  conflict?: Condition;
  readonly refProblems: { reason: string; message: string }[];
}

function draftListener(idx: ResourceIndex, gw: Gateway, l: Listener, gen: number | undefined): Draft {
  const protocol = l.protocol.toUpperCase();
  const supported = protocol === 'HTTP' || protocol === 'HTTPS';
  const kinds = l.allowedRoutes?.kinds;
  const isHTTPRoute = (k: { group?: string; kind: string }) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === 'HTTPRoute';
  // supportedKinds lists only what can attach here: nothing on a protocol windrose does not
  // serve, and only the valid ones of the kinds the listener asks for.
  const takesHTTPRoutes = supported && (kinds === undefined || kinds.length === 0 || kinds.some(isHTTPRoute));
  const d: Draft = {
    listener: l, protocol, supported, certificates: [], refProblems: [],
    supportedKinds: takesHTTPRoutes ? HTTP_KINDS.map((k) => ({ ...k })) : [],
  };
  if (!supported) d.notAccepted = condition('Accepted', false, 'UnsupportedProtocol', `protocol ${l.protocol} is not supported; use HTTP or HTTPS`, gen);
  if (protocol === 'HTTPS') {
    if (l.tls?.mode === 'Passthrough') {
      d.notAccepted = condition('Accepted', false, 'UnsupportedProtocol', 'HTTPS with TLS mode Passthrough is not supported', gen);
    } else {
      for (const ref of l.tls?.certificateRefs ?? []) {
        const res = loadCertificate(idx, gw, ref);
        if (res.ok) d.certificates.push({ ...res.cert, listenerHostnames: [l.hostname?.toLowerCase() ?? ''] });
        else d.refProblems.push(res);
      }
      if (d.certificates.length === 0) d.notAccepted = condition('Accepted', false, 'Invalid', 'no usable certificate', gen);
    }
  }
  const invalidKinds = (kinds ?? []).filter((k) => !supported || !isHTTPRoute(k));
  if (invalidKinds.length > 0) {
    d.refProblems.push({ reason: 'InvalidRouteKinds', message: `route kinds ${invalidKinds.map((k) => k.kind).join(', ')} are not supported on ${l.protocol}` });
  }
  return d;
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
  const ordered = [...idx.gateways].sort(olderFirst);
  const portProtocol = new Map<number, string>();
  const seenHostOnPort = new Set<string>();

  for (const gw of ordered) {
    const gen = gw.metadata.generation;
    const gc = idx.gatewayClasses.get(gw.spec.gatewayClassName);
    if (!gc || gc.spec.controllerName !== CONTROLLER_NAME) continue;
    ownGateways.add(gw);
    const drafts = gw.spec.listeners.map((l) => draftListener(idx, gw, l, gen));

    // Within one Gateway no listener wins a conflict: the spec requires all indistinct listeners
    // to be left out, so every listener on a port with two protocols, or sharing a hostname on a
    // port, is Conflicted.
    const served = drafts.filter((d) => d.supported);
    for (const d of served) {
      const l = d.listener;
      const samePort = served.filter((o) => o !== d && o.listener.port === l.port);
      const other = samePort.find((o) => o.protocol !== d.protocol);
      if (other) {
        d.conflict = condition('Conflicted', true, 'ProtocolConflict', `listener ${other.listener.name} uses port ${l.port} with protocol ${other.listener.protocol}`, gen);
      } else if (samePort.some((o) => (o.listener.hostname ?? '') === (l.hostname ?? ''))) {
        d.conflict = condition('Conflicted', true, 'HostnameConflict', `another listener on port ${l.port} has hostname "${l.hostname ?? ''}"`, gen);
      }
    }
    // Across Gateways, which share windrose's ports, the older Gateway keeps what it serves.
    for (const d of served) {
      if (d.conflict || d.notAccepted) continue;
      const l = d.listener;
      const owner = portProtocol.get(l.port);
      if (owner !== undefined && owner !== d.protocol) {
        d.conflict = condition('Conflicted', true, 'ProtocolConflict', `port ${l.port} already serves ${owner}`, gen);
      } else if (seenHostOnPort.has(`${l.port}|${l.hostname ?? ''}`)) {
        d.conflict = condition('Conflicted', true, 'HostnameConflict', `another listener on port ${l.port} has hostname "${l.hostname ?? ''}"`, gen);
      }
    }
    for (const d of served) {
      if (d.conflict || d.notAccepted) continue;
      portProtocol.set(d.listener.port, d.protocol);
      seenHostOnPort.add(`${d.listener.port}|${d.listener.hostname ?? ''}`);
    }

    const listenerStatuses: ListenerStatus[] = [];
    const infos: ListenerInfo[] = [];
    for (const d of drafts) {
      const l = d.listener;
      const usable = !d.notAccepted && !d.conflict;
      const conds: Condition[] = [
        d.notAccepted ?? condition('Accepted', usable, usable ? 'Accepted' : 'Invalid', usable ? 'listener accepted' : 'listener conflicts with another', gen),
        // One ResolvedRefs condition, however many references failed: conditions are keyed by type.
        d.refProblems.length > 0
          ? condition('ResolvedRefs', false, d.refProblems[0].reason, d.refProblems.map((e) => e.message).join('; '), gen)
          : condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', gen),
        d.conflict ?? condition('Conflicted', false, 'NoConflicts', 'no conflicts', gen),
        condition('Programmed', usable, usable ? 'Programmed' : 'Invalid', usable ? `serving on port ${l.port}` : 'not serving', gen),
      ];
      infos.push({
        gateway: gw, listener: l, id: `${nsOf(gw)}/${gw.metadata.name}/${l.name}`,
        protocol: d.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP', certificates: d.certificates, usable,
        acceptsHTTPRoutes: d.supportedKinds.length > 0, attachedRoutes: 0,
      });
      listenerStatuses.push({ name: l.name, attachedRoutes: 0, supportedKinds: d.supportedKinds, conditions: conds });
    }
    listeners.push(...infos);
    const anyUsable = infos.some((i) => i.usable);
    const allUsable = infos.every((i) => i.usable);
    // ListenersNotValid whenever a listener is left out: with Accepted True while others serve,
    // False when none does.
    statuses.push({
      kind: 'Gateway', namespace: nsOf(gw), name: gw.metadata.name,
      conditions: [
        condition('Accepted', anyUsable, allUsable ? 'Accepted' : 'ListenersNotValid', allUsable ? 'gateway accepted' : anyUsable ? 'some listeners cannot be served' : 'no listener can be served', gen),
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
