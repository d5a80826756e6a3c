//! SecurityPolicy (windrose.dev/v1alpha1): who may reach a Gateway, one of its listeners, or an
//! HTTPRoute, in the spirit of Envoy Gateway's SecurityPolicy. Each block is one mechanism; its
//! schema lives in the file named after it, and its filter under src/dataplane/filters/security/.

import type { z } from 'zod';
import type { SecurityPolicySpec } from '../../resources.js';
import { group, kind, objectName, sectionName } from '../formats.js';
import { list, strict } from '../primitives.js';
import { apiKeyAuthSpec } from './api-key-auth.js';
import { authorizationSpec } from './authorization.js';
import { corsSpec } from './cors.js';
import { extAuthSpec } from './ext-auth.js';
import { introspectionSpec } from './introspection.js';
import { jwtSpec } from './jwt.js';
import { oidcSpec } from './oidc.js';
import { tlsSpec, tlsTargetsGateways } from './tls.js';
import { wafSpec } from './waf.js';

export const securityPolicySpec: z.ZodType<SecurityPolicySpec> = strict({
  targetRefs: list(strict({ group, kind, name: objectName, sectionName: sectionName.optional() }), { min: 1, max: 16 }),
  tls: tlsSpec.optional(),
  cors: corsSpec.optional(),
  waf: wafSpec.optional(),
  apiKeyAuth: apiKeyAuthSpec.optional(),
  jwt: jwtSpec.optional(),
  introspection: introspectionSpec.optional(),
  oidc: oidcSpec.optional(),
  extAuth: extAuthSpec.optional(),
  authorization: authorizationSpec.optional(),
}).superRefine(tlsTargetsGateways);
