//! The translator's fixture tests, shared by translate.test.ts (gateways) and mesh.test.ts (sidecars):
//! YAML in, expected model out.
//!
//! Each <case>.yaml holds the resources of one scenario; <case>.expected.json holds what the
//! translation must make of them, as plain data:
//!   probes    requests sent to one port's route table, and the rule each must reach (or null);
//!             with the decision of the rule's AuthorizationPolicy filter for the probe's `peer`
//!   ports     per port: protocol, listeners, certificates and the number of route entries
//!   clusters  every cluster: name, endpoints and connection settings (balancer, health checks,
//!             outlier detection, breaker and retry budget included), as one line of text
//!   statuses  every status written: kind, namespace/name and each condition's type, status, reason
//! The route table is compared by behaviour (probes) rather than by structure, so the router may
//! change its internals without these files changing.
//!
//! After a deliberate change to the translator, `WINDROSE_UPDATE_FIXTURES=1 node --import tsx --test
//! src/config/translate/*.test.ts` rewrites the expected files (keeping each probe's request and
//! "why"); review the diff as you would a code change, since it is the specification.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyRequest } from '../../dataplane/filters/filter.js';
import type { RequestView } from '../../dataplane/router/table.js';
import { parseConfigText } from '../load.js';
import type { Cluster, ClusterSettings, PortConfig, RetryPolicy, RuleTarget, WeightedCluster } from '../model.js';
import { formatConfigError, type Resource } from '../resources.js';
import type { Condition, ResourceStatus, RouteParentStatus } from '../status.js';
import type { Translation } from './index.js';
import { DEFAULT_STREAM_IDLE_MS } from './policies.js';

const UPDATE = process.env.WINDROSE_UPDATE_FIXTURES === '1';

// ---- the fixture file format -----------------------------------------------------------

interface ProbeRequest {
  readonly host: string;
  /** The caller's SPIFFE ID, for the AuthorizationPolicy filter of a mesh inbound port. */
  readonly peer?: string;
  readonly method?: string;
  readonly path?: string;
  readonly query?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

interface BackendSummary {
  readonly weight: number;
  /** The cluster's label (see clusterLabels), or null when the backendRef did not resolve. */
  readonly cluster: string | null;
  readonly unresolved?: string;
  readonly filters?: readonly string[];
}

interface MatchSummary {
  readonly route: string;
  readonly rule: number;
  readonly listener: string;
  readonly backends: readonly BackendSummary[];
  readonly totalWeight: number;
  readonly filters?: readonly string[];
  /** Present when any timeout differs from the defaults. */
  readonly timeouts?: { readonly requestMs: number; readonly backendRequestMs: number; readonly streamIdleMs: number };
  /** The rule's retry policy as one line of text; absent when the rule does not retry. */
  readonly retry?: string;
  /** What the rule's AuthorizationPolicy filter decides for the probe; absent when it has none. */
  readonly authorization?: 'allow' | 'deny';
}

interface Probe {
  /** What the probe demonstrates; kept as documentation, never compared. */
  readonly why?: string;
  readonly port: number;
  readonly request: ProbeRequest;
  /** null: the port exists but no route answers (the data plane's 404). */
  readonly expect: MatchSummary | null | 'no such port';
}

interface ClusterSummary {
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly settings: string;
}

interface PortSummary {
  readonly port: number;
  readonly protocol: string;
  readonly mtlsMode?: string;
  readonly forwardProxy?: boolean;
  readonly bindHost?: string;
  readonly listeners: readonly string[];
  readonly certificates: readonly { readonly name: string; readonly dnsNames: readonly string[]; readonly listenerHostnames: readonly string[] }[];
  readonly routeEntries: number;
}

interface ParentSummary {
  readonly ref: string;
  readonly conditions: readonly string[];
}

interface StatusSummary {
  readonly kind: string;
  readonly name: string;
  readonly conditions?: readonly string[];
  readonly listeners?: readonly { readonly name: string; readonly attachedRoutes: number; readonly supportedKinds: readonly string[]; readonly conditions: readonly string[] }[];
  readonly parents?: readonly ParentSummary[];
  readonly ancestors?: readonly ParentSummary[];
}

interface Expected {
  readonly probes: readonly Probe[];
  readonly ports: readonly PortSummary[];
  readonly clusters: readonly ClusterSummary[];
  readonly statuses: readonly StatusSummary[];
}

// ---- summarising a translation ---------------------------------------------------------

/** "Accepted True Accepted", with "@3" when the condition carries an observedGeneration. */
const conditionText = (c: Condition): string =>
  `${c.type} ${c.status} ${c.reason}${c.observedGeneration !== undefined ? ` @${c.observedGeneration}` : ''}`;

function parentRefText(r: RouteParentStatus['parentRef']): string {
  const kind = r.kind && r.kind !== 'Gateway' ? `${r.kind} ` : '';
  return `${kind}${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.sectionName ? `#${r.sectionName}` : ''}${r.port ? `:${r.port}` : ''}`;
}

/** Conditions form a map keyed by type, so their order carries no meaning: they are compared sorted. */
const conditionsText = (list: readonly Condition[]): string[] => list.map(conditionText).sort();

/** Every condition list in a status, each named for assertion messages. */
function conditionLists(s: ResourceStatus): [string, readonly Condition[]][] {
  const name = `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
  return [
    ...(s.conditions ? [[name, s.conditions] as [string, readonly Condition[]]] : []),
    ...(s.listeners ?? []).map((l): [string, readonly Condition[]] => [`${name} listener ${l.name}`, l.conditions]),
    ...[...(s.parents ?? []), ...(s.ancestors ?? [])].map((p): [string, readonly Condition[]] => [`${name} parent ${parentRefText(p.parentRef)}`, p.conditions]),
  ];
}

function summariseStatus(s: ResourceStatus): StatusSummary {
  const parents = (list: readonly RouteParentStatus[]) => list.map((p) => ({ ref: parentRefText(p.parentRef), conditions: conditionsText(p.conditions) }));
  return {
    kind: s.kind,
    name: s.namespace ? `${s.namespace}/${s.name}` : s.name,
    ...(s.conditions ? { conditions: conditionsText(s.conditions) } : {}),
    ...(s.listeners
      ? {
          listeners: s.listeners.map((l) => ({
            name: l.name,
            attachedRoutes: l.attachedRoutes,
            supportedKinds: l.supportedKinds.map((k) => `${k.group}/${k.kind}`),
            conditions: conditionsText(l.conditions),
          })),
        }
      : {}),
    ...(s.parents ? { parents: parents(s.parents) } : {}),
    ...(s.ancestors ? { ancestors: parents(s.ancestors) } : {}),
  };
}

/**
 * Clusters are named after their backend, but one backend yields several clusters when policies
 * give it different settings; those get "#1", "#2"... in snapshot order so probes can tell them apart.
 */
function clusterLabels(clusters: readonly Cluster[]): Map<Cluster, string> {
  const counts = new Map<string, number>();
  for (const c of clusters) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  return new Map(
    clusters.map((c) => {
      const n = (seen.get(c.name) ?? 0) + 1;
      seen.set(c.name, n);
      return [c, counts.get(c.name) === 1 ? c.name : `${c.name} #${n}`];
    }),
  );
}

function hashText(lb: ClusterSettings['loadBalancer']): string {
  const h = lb.hashOn;
  if (h === undefined) return '';
  return h.kind === 'sourceIP' ? '(sourceIP)' : `(${h.kind} ${h.name})`;
}

function healthText(hc: NonNullable<ClusterSettings['healthCheck']>): string {
  const expect = hc.expectedStatuses.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(',');
  return `health=${hc.method} ${hc.path} every ${hc.intervalMs}ms timeout ${hc.timeoutMs}ms up ${hc.healthyThreshold} down ${hc.unhealthyThreshold} expect ${expect}`;
}

function outlierText(o: NonNullable<ClusterSettings['outlier']>): string {
  const sr = o.successRate ? ` successRate ${o.successRate.minimumHosts}/${o.successRate.requestVolume}/${o.successRate.stdevFactor}` : '';
  return `outlier=5xx ${o.consecutive5xx} gateway ${o.consecutiveGatewayErrors} every ${o.intervalMs}ms eject ${o.baseEjectionMs}-${o.maxEjectionMs}ms max ${o.maxEjectionPercent}%${sr}`;
}

/** "http1 connect=10000ms … lb=RoundRobin panic=50% breaker=1024/1024/1024/3", then what else is configured. */
function settingsText(c: Cluster): string {
  const s = c.settings;
  const { loadBalancer: lb, circuitBreaker: cb, retryBudget: rb } = s;
  return [
    `${s.protocol} connect=${s.connectTimeoutMs}ms idle=${s.idleTimeoutMs}ms h1conns=${s.http1MaxConnections} h2streams=${s.http2MaxConcurrentStreams}`,
    `lb=${lb.type}${hashText(lb)} panic=${lb.panicThresholdPercent}%`,
    `breaker=${cb.maxConnections}/${cb.maxPendingRequests}/${cb.maxRequests}/${cb.maxRetries}`,
    ...(s.healthCheck ? [healthText(s.healthCheck)] : []),
    ...(s.outlier ? [outlierText(s.outlier)] : []),
    ...(rb ? [`budget=${rb.ratio} min ${rb.minPerSecond}/s per ${rb.windowMs}ms`] : []),
  ].join(' ');
}

/** "2x on connect-failure,reset,retriable-status-codes codes 502,503,504 backoff 25-250ms body 65536 idempotent only". */
function retryText(r: RetryPolicy): string {
  return [
    `${r.retries}x on ${[...r.on].join(',')}`,
    ...(r.statusCodes.size > 0 ? [`codes ${[...r.statusCodes].join(',')}`] : []),
    `backoff ${r.backoffBaseMs}-${r.backoffMaxMs}ms body ${r.maxBodyBytes}`,
    r.nonIdempotent ? 'any method' : 'idempotent only',
  ].join(' ');
}

/** What an AuthorizationPolicy filter decides for a probe, found by running it. */
function authorization(filters: RuleTarget['filters'], p: ProbeRequest): MatchSummary['authorization'] {
  const filter = filters.find((f) => f.name === 'AuthorizationPolicy');
  if (filter === undefined) return undefined;
  const req = { method: p.method ?? 'GET', path: p.path ?? '/', peer: p.peer, requestId: 'fixture' } as ProxyRequest;
  return filter.onRequest?.(req) === undefined ? 'allow' : 'deny';
}

/** The port's own fields, those of a mesh port only when set. */
function portSummary(p: PortConfig): PortSummary {
  return {
    port: p.port,
    protocol: p.protocol,
    ...(p.mtlsMode !== undefined ? { mtlsMode: p.mtlsMode } : {}),
    ...(p.forwardProxy !== undefined ? { forwardProxy: p.forwardProxy } : {}),
    ...(p.bindHost !== undefined ? { bindHost: p.bindHost } : {}),
    listeners: [...p.listeners],
    certificates: p.certificates.map((c) => ({ name: c.name, dnsNames: [...c.dnsNames], listenerHostnames: [...c.listenerHostnames] })),
    routeEntries: p.routes.size,
  };
}

/** Which clusters a RequestMirror filter copies to, found by running it on a bare request. */
function mirroredTo(filter: RuleTarget['filters'][number]): Cluster[] {
  const req = { mirrors: undefined } as unknown as ProxyRequest;
  void filter.onRequest?.(req);
  return req.mirrors ?? [];
}

class Summariser {
  /** Every cluster a probed target referred to, to check it is one of the snapshot's. */
  readonly referenced = new Set<Cluster>();
  private readonly labels: Map<Cluster, string>;

  constructor(private readonly translation: Translation) {
    this.labels = clusterLabels(translation.clusters);
  }

  label(c: Cluster): string {
    this.referenced.add(c);
    return this.labels.get(c) ?? `unregistered ${c.name}`;
  }

  filters(list: RuleTarget['filters']): string[] {
    return list.map((f) => (f.name === 'RequestMirror' ? `RequestMirror -> ${mirroredTo(f).map((c) => this.label(c)).join(', ')}` : f.name));
  }

  backend(b: WeightedCluster): BackendSummary {
    return {
      weight: b.weight,
      cluster: b.cluster ? this.label(b.cluster) : null,
      ...(b.unresolvedReason !== undefined ? { unresolved: b.unresolvedReason } : {}),
      ...(b.filters.length > 0 ? { filters: this.filters(b.filters) } : {}),
    };
  }

  probe(p: Probe): Probe['expect'] {
    const port = this.translation.ports.find((x) => x.port === p.port);
    if (!port) return 'no such port';
    const headers = new Map(Object.entries(p.request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const view: RequestView = {
      host: p.request.host,
      method: p.request.method ?? 'GET',
      path: p.request.path ?? '/',
      query: p.request.query ?? '',
      header: (name) => headers.get(name),
    };
    const got = port.routes.match(view);
    if (!got) return null;
    const t = got.target;
    const decision = authorization(t.filters, p.request);
    return {
      route: t.routeName,
      rule: t.ruleIndex,
      listener: t.listenerName,
      backends: t.backends.map((b) => this.backend(b)),
      totalWeight: t.totalWeight,
      ...(t.filters.length > 0 ? { filters: this.filters(t.filters) } : {}),
      ...(t.timeouts.requestMs !== 0 || t.timeouts.backendRequestMs !== 0 || t.timeouts.streamIdleMs !== DEFAULT_STREAM_IDLE_MS
        ? { timeouts: { ...t.timeouts } }
        : {}),
      ...(t.retry ? { retry: retryText(t.retry) } : {}),
      ...(decision !== undefined ? { authorization: decision } : {}),
    };
  }

  summary(probes: readonly Probe[]): Expected {
    const tr = this.translation;
    return {
      probes: probes.map((p) => ({ ...(p.why !== undefined ? { why: p.why } : {}), port: p.port, request: p.request, expect: this.probe(p) })),
      ports: tr.ports.map(portSummary),
      clusters: tr.clusters.map((c) => ({
        name: this.labels.get(c) ?? c.name,
        endpoints: c.endpoints.map((e) =>
          `${e.host}:${e.port}${e.zone ? ` zone=${e.zone}` : ''}${e.weight !== undefined ? ` weight=${e.weight}` : ''}${e.identity ? ` identity=${e.identity}` : ''}`),
        settings: settingsText(c),
      })),
      statuses: tr.statuses.map(summariseStatus),
    };
  }
}

/** JSON with every array or object that fits on one line written on one, so the files read easily. */
function formatJson(value: unknown, indent: string): string {
  const flat = JSON.stringify(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= 110) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  const fields = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`);
  return `{\n${fields.join(',\n')}\n${indent}}`;
}

// ---- running the fixtures --------------------------------------------------------------

/** The cases in a directory: the names of its .yaml files, sorted. */
export function fixtureNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** Checks one case of `dir` against its expected file, or rewrites that file when updating. */
export function runFixture(dir: string, name: string, translate: (resources: readonly Resource[]) => Translation): void {
  const yamlFile = join(dir, `${name}.yaml`);
  const expectedFile = join(dir, `${name}.expected.json`);
  const loaded = parseConfigText(readFileSync(yamlFile, 'utf8'), `${name}.yaml`);
  // A fixture that does not load cleanly would test the loader's recovery, not the translator.
  assert.deepEqual(loaded.errors.map(formatConfigError), [], 'fixture has config errors');
  assert.deepEqual(loaded.warnings.map(formatConfigError), [], 'fixture has config warnings');

  const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as Expected;
  const translation = translate(loaded.resources);
  const summariser = new Summariser(translation);
  const actual = summariser.summary(expected.probes);

  // Invariants that hold for every scenario, whatever the expected file says.
  const keys = translation.clusters.map((c) => c.key);
  assert.equal(new Set(keys).size, keys.length, 'cluster keys are unique: equal endpoints and settings share one cluster');
  for (const status of translation.statuses) {
    for (const [where, list] of conditionLists(status)) {
      // Kubernetes keeps one condition per type; a second one of the same type would be lost.
      const types = list.map((c) => c.type);
      assert.equal(new Set(types).size, types.length, `${where} has one condition per type: ${types.join(', ')}`);
    }
  }
  for (const c of summariser.referenced) assert.ok(translation.clusters.includes(c), `route targets use the snapshot's own cluster objects (${c.name})`);
  // translate() is a pure function: the same resources give the same result again (nothing
  // such as attachedRoutes counters leaks from one call into the next).
  assert.deepEqual(new Summariser(translate(loaded.resources)).summary(expected.probes), actual, 'a second translation of the same resources differs');

  if (UPDATE) {
    writeFileSync(expectedFile, `${formatJson(actual, '')}\n`);
    return;
  }
  // Compared part by part so a failure names the part that differs.
  expected.probes.forEach((p, i) => {
    assert.deepEqual(actual.probes[i].expect, p.expect, `probe ${i} (${p.request.method ?? 'GET'} ${p.request.host}${p.request.path ?? '/'} on port ${p.port})${p.why ? `: ${p.why}` : ''}`);
  });
  assert.deepEqual(actual.ports, expected.ports, 'ports');
  assert.deepEqual(actual.clusters, expected.clusters, 'clusters');
  assert.deepEqual(actual.statuses, expected.statuses, 'statuses');
}
