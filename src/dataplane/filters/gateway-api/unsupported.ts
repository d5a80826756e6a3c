//! Stands in for a filter windrose cannot apply (ExtensionRef): the request gets a 500 rather than
//! being served as if the filter were not there.

import type { Filter } from '../filter.js';

export function unsupportedFilter(type: string): Filter {
  const answer = { status: 500, errorCode: 'filter_not_supported' as const, message: `this route uses the ${type} filter, which windrose does not support` };
  return { name: type, onRequest: () => answer };
}
