//! Object references and label selectors shared by the Gateway API kinds.

import { z } from 'zod';
import type { LabelSelector, ParentReference } from '../resources.js';
import { GATEWAY_GROUP } from '../resources.js';
import { group, kind, namespace, objectName, sectionName } from './formats.js';
import { int, list, oneOf, record, strict, string } from './primitives.js';

export const portNumber = int(1, 65535);

export const backendObjectRefShape = {
  group: group.optional(),
  kind: kind.optional(),
  name: objectName,
  namespace: namespace.optional(),
  port: portNumber.optional(),
};

/** Upstream CEL: a reference to a core Service (the default group and kind) must name a port. */
export function requireServicePort(ref: { group?: string; kind?: string; port?: number }, ctx: z.RefinementCtx): void {
  if ((ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service' && ref.port === undefined) {
    ctx.addIssue({ code: 'custom', message: 'required when referencing a Service', path: ['port'] });
  }
}

export const backendObjectRef = strict(backendObjectRefShape).superRefine(requireServicePort);

export const secretObjectRef = strict({
  group: group.optional(),
  kind: kind.optional(),
  name: objectName,
  namespace: namespace.optional(),
});

/** Upstream made `group` optional in later releases; absent means the core group. */
export const localObjectRef = strict({ group: group.optional(), kind, name: objectName }).transform((r) => ({ ...r, group: r.group ?? '' }));

export const objectReference = strict({ group, kind, name: objectName, namespace: namespace.optional() });

export const labelSelector: z.ZodType<LabelSelector> = strict({
  matchLabels: record(string()).optional(),
  matchExpressions: list(
    strict({
      key: string({ min: 1 }),
      operator: oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist']),
      values: list(string()).optional(),
    }).superRefine((e, ctx) => {
      const hasValues = (e.values?.length ?? 0) > 0;
      if ((e.operator === 'In' || e.operator === 'NotIn') && !hasValues) {
        ctx.addIssue({ code: 'custom', message: `must not be empty for operator ${e.operator}`, path: ['values'] });
      } else if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && hasValues) {
        ctx.addIssue({ code: 'custom', message: `must be empty for operator ${e.operator}`, path: ['values'] });
      }
    }),
  ).optional(),
});

export const parentRef: z.ZodType<ParentReference> = strict({
  group: group.optional(),
  kind: kind.optional(),
  namespace: namespace.optional(),
  name: objectName,
  sectionName: sectionName.optional(),
  port: portNumber.optional(),
});

/**
 * Upstream CEL: references to the same parent must each set the same optional fields
 * (sectionName, port) and differ in them, so every reference selects something distinct.
 */
function distinctParents(refs: readonly ParentReference[], ctx: z.RefinementCtx): void {
  const byParent = new Map<string, number[]>();
  refs.forEach((r, i) => {
    const key = JSON.stringify([r.group ?? GATEWAY_GROUP, r.kind ?? 'Gateway', r.namespace ?? '', r.name]);
    const indexes = byParent.get(key);
    if (indexes === undefined) byParent.set(key, [i]);
    else indexes.push(i);
  });
  for (const indexes of byParent.values()) {
    const seen = new Map<string, number>();
    const shape = (r: ParentReference) => `${r.sectionName ? 's' : ''}${r.port ? 'p' : ''}`;
    const firstShape = shape(refs[indexes[0]]);
    for (const i of indexes) {
      const r = refs[i];
      if (shape(r) !== firstShape) {
        ctx.addIssue({
          code: 'custom',
          message: `references to the same parent must all set the same fields among sectionName and port (see parentRefs[${indexes[0]}])`,
          path: [i],
        });
        continue;
      }
      const selection = JSON.stringify([r.sectionName ?? '', r.port ?? 0]);
      const first = seen.get(selection);
      if (first === undefined) seen.set(selection, i);
      else ctx.addIssue({ code: 'custom', message: `duplicate reference to the same parent as parentRefs[${first}]; set a different sectionName or port`, path: [i] });
    }
  }
}

export const parentRefs = list(parentRef, { max: 32 }).superRefine(distinctParents);
