//! The order that decides between conflicting resources. Strings compare by code unit, never with
//! localeCompare: the outcome must not depend on the host's locale, and a proxy should not load
//! ICU's collation data (2.7 MB resident) to sort a few names.

import type { Resource } from '../resources.js';
import { key, nsOf } from './index-resources.js';

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Gateway API's conflict order: the oldest resource first, then by namespace/name. */
export function olderFirst(a: Resource, b: Resource): number {
  return compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
    compareStrings(key(nsOf(a), a.metadata.name), key(nsOf(b), b.metadata.name));
}
