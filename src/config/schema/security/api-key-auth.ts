//! SecurityPolicy `apiKeyAuth`: the request must carry a key windrose issued (`windrose keys create`),
//! in one of the headers or query parameters `extractFrom` names (default the `x-api-key` header).

import type { z } from 'zod';
import { FRAMING_HEADERS, headerName } from '../formats.js';
import { bool, list, pattern, show, strict, uniqueBy } from '../primitives.js';
import { DEFAULT_API_KEY_HEADER } from '../../../dataplane/filters/security/api-key/format.js';

/** One place a key may be: a header or a query parameter. */
export interface APIKeySource {
  readonly header?: string;
  readonly param?: string;
}

export interface APIKeyAuthSpec {
  /** Where the key is looked for, in order; the first place that has one is used. Default: the `x-api-key` header. */
  readonly extractFrom?: readonly APIKeySource[];
  /** Send the key on to the backend; by default every place it may be is removed from the upstream request. */
  readonly forwardCredentials?: boolean;
  /** A header the backend gets with the consumer's name; copies the client sent are removed. */
  readonly consumerHeader?: string;
}


/** Characters a query parameter name may have without percent-encoding (RFC 3986 unreserved). */
const paramName = pattern(/^[A-Za-z0-9._~-]+$/, 'query parameter name', "expected letters, digits, '.', '_', '~' or '-'", { min: 1, max: 256 });

/** Headers that frame or route the request: a consumer name written over one of them would break it. */
const source = strict({ header: headerName.optional(), param: paramName.optional() }).superRefine((s, ctx) => {
  if ((s.header === undefined) === (s.param === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'expected exactly one of "header" or "param"', path: [] });
  }
});

export const apiKeyAuthSpec: z.ZodType<APIKeyAuthSpec> = strict({
  extractFrom: list(source, { min: 1, max: 8 })
    .superRefine((sources, ctx) => uniqueBy(sources, (s) => (s.header !== undefined ? `header ${s.header.toLowerCase()}` : `param ${s.param}`), ctx,
      (s, first) => `duplicate ${s.header !== undefined ? `header ${show(s.header)}` : `param ${show(s.param)}`} (also at index ${first})`))
    .optional(),
  forwardCredentials: bool.optional(),
  consumerHeader: headerName.optional(),
}).superRefine((spec, ctx) => {
  const consumer = spec.consumerHeader?.toLowerCase();
  if (consumer === undefined) return;
  if (FRAMING_HEADERS.has(consumer)) {
    ctx.addIssue({ code: 'custom', message: `${show(spec.consumerHeader)} frames or routes the request; name a header of your own, such as "x-windrose-consumer"`, path: ['consumerHeader'] });
  }
  const keyHeaders = (spec.extractFrom ?? [{ header: DEFAULT_API_KEY_HEADER }]).map((s) => s.header?.toLowerCase());
  if (keyHeaders.includes(consumer)) {
    ctx.addIssue({ code: 'custom', message: `${show(spec.consumerHeader)} is where the key is read from; name another header`, path: ['consumerHeader'] });
  }
});
