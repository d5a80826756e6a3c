//! A parsed JSON or YAML value that is a mapping (an object, not an array or null): the first check
//! every reader of untyped documents and messages makes.

export type Mapping = Record<string, unknown>;

export function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
