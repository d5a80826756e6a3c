//! One Kubernetes object, as plain data, checked against the kind it names.

import type { ObjectMeta, ResourceKind } from '../resources.js';
import { fallbackError, type Problem, problemsFrom } from './issues.js';
import { isKnownKind, KIND_NAMES, KINDS, type SpecOf } from './kinds.js';
import { compact, show } from './primitives.js';
import { suggest } from './suggest.js';
import { isMapping } from '../../mapping.js';

export type ResourceData = {
  [K in ResourceKind]: { readonly apiVersion: string; readonly kind: K; readonly metadata: ObjectMeta; readonly spec: SpecOf<K> };
}[ResourceKind];

export type Outcome =
  | { readonly status: 'ok'; readonly label: string; readonly data: ResourceData; readonly warnings: readonly Problem[] }
  | { readonly status: 'invalid'; readonly label: string; readonly problems: readonly Problem[] }
  | { readonly status: 'skipped'; readonly warning: Problem };

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

const KNOWN_GROUPS = [...new Set(KIND_NAMES.flatMap((k) => KINDS[k].apiVersions.map(groupOf)))];

const quoted = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(' or ');

/** "HTTPRoute default/shop", or as much of it as the document gives. */
function labelOf(kind: unknown, metadata: unknown): string {
  if (typeof kind !== 'string') return '';
  const meta = isMapping(metadata) ? metadata : {};
  if (typeof meta.name !== 'string') return kind;
  if (isKnownKind(kind) && !KINDS[kind].namespaced) return `${kind} ${meta.name}`;
  const ns = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  return `${kind} ${ns}/${meta.name}`;
}

function skipped(kind: string, apiVersion: string): Outcome {
  return { status: 'skipped', warning: { path: [], message: `kind ${kind} (${apiVersion}) is not used by windrose; skipped` } };
}

/** Resolves apiVersion and kind to a known kind, or says why the document is an error or is skipped. */
function identify(doc: Record<string, unknown>, label: string): ResourceKind | Outcome {
  const problems: Problem[] = [];
  const { apiVersion, kind } = doc;
  for (const [field, value] of [['apiVersion', apiVersion], ['kind', kind]] as const) {
    if (value === undefined) problems.push({ path: [field], message: 'required' });
    else if (typeof value !== 'string' || value === '') problems.push({ path: [field], message: `expected a non-empty string, got ${show(value)}` });
  }
  if (problems.length > 0 || typeof apiVersion !== 'string' || typeof kind !== 'string') return { status: 'invalid', label, problems };

  if (!isKnownKind(kind)) {
    const group = groupOf(apiVersion);
    // A near miss of a kind in the same API group is a typo; anything else belongs to someone else.
    const near = suggest(kind, KIND_NAMES, 1);
    const ours = KIND_NAMES.filter((k) => KINDS[k].apiVersions.some((v) => groupOf(v) === group));
    if (near !== undefined && ours.includes(near)) {
      return { status: 'invalid', label, problems: [{ path: ['kind'], message: `unknown kind ${show(kind)} in ${apiVersion} (did you mean "${near}"?)` }] };
    }
    if (group === 'windrose.dev') {
      return { status: 'invalid', label, problems: [{ path: ['kind'], message: `unknown kind ${show(kind)} in ${apiVersion}; expected ${quoted(ours)}` }] };
    }
    return skipped(kind, apiVersion);
  }

  const accepted = KINDS[kind].apiVersions;
  if (accepted.includes(apiVersion)) return kind;
  const group = groupOf(apiVersion);
  // In a group windrose reads, or a misspelling of one, the kind cannot be another API's: a mistake.
  if (KNOWN_GROUPS.includes(group) || suggest(group, KNOWN_GROUPS) !== undefined) {
    const message = `unsupported apiVersion ${show(apiVersion)} for kind ${kind}; expected ${quoted(accepted)}`;
    return { status: 'invalid', label, problems: [{ path: ['apiVersion'], message }] };
  }
  return skipped(kind, apiVersion);
}

export function checkDocument(doc: unknown): Outcome {
  if (!isMapping(doc)) {
    const message = `expected a Kubernetes object (a mapping with apiVersion, kind and metadata), got ${show(doc)}`;
    return { status: 'invalid', label: '', problems: [{ path: [], message }] };
  }
  const label = labelOf(doc.kind, doc.metadata);
  const kind = identify(doc, label);
  if (typeof kind !== 'string') return kind;

  const def = KINDS[kind];
  const parsed = def.document.safeParse(doc, { error: fallbackError });
  if (!parsed.success) return { status: 'invalid', label, problems: problemsFrom(parsed.error) };

  const warnings: Problem[] = [];
  let metadata = parsed.data.metadata;
  if (def.namespaced) {
    metadata = { ...metadata, namespace: metadata.namespace ?? 'default' };
  } else if (metadata.namespace !== undefined) {
    warnings.push({ path: ['metadata', 'namespace'], message: `ignored: ${kind} is cluster-scoped` });
    metadata = compact({ ...metadata, namespace: undefined });
  }
  const data = { apiVersion: doc.apiVersion as string, kind, metadata, spec: parsed.data.spec } as ResourceData;
  return { status: 'ok', label, data, warnings };
}
