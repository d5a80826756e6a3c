//! ObjectMeta and the document envelope (apiVersion, kind, metadata, spec, status) every kind shares.

import { z } from 'zod';
import type { ObjectMeta } from '../resources.js';
import { dnsSubdomain, labelValue, namespace, qualifiedNameProblem } from './formats.js';
import { compact, ignored, record, strict, string } from './primitives.js';

/** What a kind's document schema yields: metadata plus the spec, wherever the kind keeps it. */
export interface Parsed<S> {
  readonly metadata: ObjectMeta;
  readonly spec: S;
}

/** Most kinds are named by a DNS subdomain; Namespace and Service use stricter label rules. */
const subdomainName = dnsSubdomain('name');

const optionalString = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function metadata(name: z.ZodType<string>) {
  return strict({
    name,
    namespace: namespace.optional(),
    labels: record(labelValue, { key: (k) => qualifiedNameProblem(k, 'label key') }).optional(),
    annotations: record(string(), { key: (k) => qualifiedNameProblem(k, 'annotation key') }).optional(),
    // Written by the API server and present in `kubectl get -o yaml` output; accepted unchecked.
    uid: ignored,
    resourceVersion: ignored,
    generation: ignored,
    creationTimestamp: ignored,
    managedFields: ignored,
    selfLink: ignored,
    deletionTimestamp: ignored,
    deletionGracePeriodSeconds: ignored,
    ownerReferences: ignored,
    finalizers: ignored,
    generateName: ignored,
  }).transform(
    (m): ObjectMeta =>
      compact({
        name: m.name,
        namespace: m.namespace,
        labels: m.labels,
        annotations: m.annotations,
        // Route precedence compares generations and creation timestamps, so keep them when present.
        generation: typeof m.generation === 'number' && Number.isInteger(m.generation) ? m.generation : undefined,
        creationTimestamp: optionalString(m.creationTimestamp),
        uid: optionalString(m.uid),
        resourceVersion: optionalString(m.resourceVersion),
      }),
  );
}

/** A kind whose document has a `spec`; `status` is the server's and is ignored. */
export function specDocument<S>(spec: z.ZodType<S>, name: z.ZodType<string> = subdomainName): z.ZodType<Parsed<S>> {
  return strict({ apiVersion: z.unknown(), kind: z.unknown(), metadata: metadata(name), spec, status: ignored }).transform((d) => ({
    metadata: d.metadata,
    spec: d.spec,
  }));
}

/** The envelope fields of a kind that keeps its data at the top level (EndpointSlice, Secret). */
export const topLevelEnvelope = {
  apiVersion: z.unknown(),
  kind: z.unknown(),
  metadata: metadata(subdomainName),
  status: ignored,
};
