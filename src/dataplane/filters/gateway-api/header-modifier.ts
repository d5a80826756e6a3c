//! RequestHeaderModifier and ResponseHeaderModifier: set, add and remove, with names lowercased at config time.

import type { HTTPHeaderFilter } from '../../../config/resources.js';
import type { HeaderList } from '../../headers.js';
import type { Filter } from '../filter.js';

interface CompiledHeaderFilter {
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

function compile(spec: HTTPHeaderFilter): CompiledHeaderFilter {
  return {
    set: (spec.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    add: (spec.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    remove: (spec.remove ?? []).map((n) => n.toLowerCase()),
  };
}

function apply(c: CompiledHeaderFilter, headers: HeaderList): void {
  for (const [name, value] of c.set) headers.set(name, value);
  for (const [name, value] of c.add) headers.add(name, value);
  for (const name of c.remove) headers.remove(name);
}

export function requestHeaderModifier(spec: HTTPHeaderFilter): Filter {
  const c = compile(spec);
  return { name: 'RequestHeaderModifier', onRequest: (req) => void apply(c, req.headers) };
}

export function responseHeaderModifier(spec: HTTPHeaderFilter): Filter {
  const c = compile(spec);
  return { name: 'ResponseHeaderModifier', onResponse: (res) => apply(c, res.headers) };
}
