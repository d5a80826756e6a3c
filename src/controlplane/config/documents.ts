//! The control plane distributes config documents as they are written, not as it understood them:
//! each YAML document keeps its exact text, file and first line, so a proxy that validates it with
//! its own (maybe newer or older) schema reports errors at the operator's file and line. Only what
//! decides who needs a document is read here, leniently: a document the control plane's own schema
//! rejects is still sent, and the proxies NACK what they cannot apply.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { ConfigDocument } from '../../mesh/protocol.js';
import { isMapping } from '../../mapping.js';

export interface ObjectRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** A Service port, as far as an EndpointSlice mirrors it. */
export interface PortInfo {
  readonly name?: string;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

/** The fields of one object that selection looks at; anything missing or of the wrong type is left out. */
export interface ObjectInfo {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** metadata.namespace, or "default" when absent. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** spec.selector.matchLabels; undefined when the object has no spec.selector. */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly parentRefs: readonly ObjectRef[];
  readonly targetRefs: readonly ObjectRef[];
  /** spec.ports, which registry EndpointSlices of a Service mirror. */
  readonly ports: readonly PortInfo[];
}

export interface MeshDocument {
  readonly document: ConfigDocument;
  /** The object, or every item of a `kind: List` (or HTTPRouteList, …). */
  readonly objects: readonly ObjectInfo[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringMap(v: unknown): Record<string, string> {
  if (!isMapping(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function refs(v: unknown): ObjectRef[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isMapping).map((r) => ({ group: str(r.group), kind: str(r.kind), name: str(r.name), namespace: str(r.namespace) }));
}

function ports(v: unknown): PortInfo[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isMapping).map((p) => ({ name: str(p.name), protocol: str(p.protocol), appProtocol: str(p.appProtocol) }));
}

function objectInfo(v: unknown): ObjectInfo | undefined {
  if (!isMapping(v)) return undefined;
  const apiVersion = str(v.apiVersion);
  const kind = str(v.kind);
  if (apiVersion === undefined || kind === undefined) return undefined;
  const metadata = isMapping(v.metadata) ? v.metadata : {};
  const spec = isMapping(v.spec) ? v.spec : {};
  return {
    apiVersion,
    kind,
    name: str(metadata.name) ?? '',
    namespace: str(metadata.namespace) ?? 'default',
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    selector: isMapping(spec.selector) ? stringMap(spec.selector.matchLabels) : undefined,
    parentRefs: refs(spec.parentRefs),
    targetRefs: refs(spec.targetRefs),
    ports: ports(spec.ports),
  };
}

/** The objects of a document: itself, or a list's items, which a typed list lets omit apiVersion and kind. */
function objectsOf(value: unknown): ObjectInfo[] {
  if (isMapping(value) && Array.isArray(value.items) && typeof value.kind === 'string' && value.kind.endsWith('List')) {
    const itemKind = value.kind === 'List' ? undefined : value.kind.slice(0, -'List'.length);
    return value.items.flatMap((item) => {
      const filled = itemKind !== undefined && isMapping(item) ? { apiVersion: value.apiVersion, kind: itemKind, ...item } : item;
      return objectInfo(filled) ?? [];
    });
  }
  const info = objectInfo(value);
  return info ? [info] : [];
}

/** Splits one file's text into its documents; `file` is the name proxies will report. */
export function splitDocuments(text: string, file: string): MeshDocument[] {
  const lines = new LineCounter();
  const source = text.replace(/^\uFEFF/, '');
  const out: MeshDocument[] = [];
  for (const doc of parseAllDocuments(source, { lineCounter: lines, merge: true })) {
    const range = doc.contents?.range;
    if (range === undefined) continue;
    let value: unknown;
    try {
      value = doc.toJS();
    } catch {
      // An alias bomb or a broken document: it is still sent when its kind can be told, and here it cannot.
      continue;
    }
    out.push({
      document: { file, line: lines.linePos(range[0]).line, text: source.slice(range[0], range[2]) },
      objects: objectsOf(value),
    });
  }
  return out;
}

/** Reads the files the loader read, naming each relative to --config (a single file by its base name). */
export async function readDocuments(configPath: string, isDirectory: boolean, files: readonly string[]): Promise<MeshDocument[]> {
  const out: MeshDocument[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // Removed since the loader read it; the watch reports that change next.
      continue;
    }
    const name = isDirectory ? path.relative(configPath, file).split(path.sep).join('/') : path.basename(file);
    out.push(...splitDocuments(text, name));
  }
  return out;
}
