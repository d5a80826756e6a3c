//! ReferenceGrant spec (gateway.networking.k8s.io/v1beta1 and v1).

import type { z } from 'zod';
import type { ReferenceGrantSpec } from '../resources.js';
import { group, kind, namespace, objectName } from './formats.js';
import { list, strict } from './primitives.js';

export const referenceGrantSpec: z.ZodType<ReferenceGrantSpec> = strict({
  from: list(strict({ group, kind, namespace }), { min: 1, max: 16 }),
  to: list(strict({ group, kind, name: objectName.optional() }), { min: 1, max: 16 }),
});
