//! URLRewrite: changes the host and path sent upstream; the client sees nothing of it.

import type { HTTPURLRewriteFilter } from '../../../config/resources.js';
import type { Filter } from '../filter.js';
import { compilePathModifier } from './path.js';

export function urlRewrite(spec: HTTPURLRewriteFilter): Filter {
  const replacePath = spec.path ? compilePathModifier(spec.path) : undefined;
  const hostname = spec.hostname;
  return {
    name: 'URLRewrite',
    onRequest(req) {
      if (hostname !== undefined) req.authority = hostname;
      if (replacePath) req.path = replacePath(req.path, req.matchedPrefix);
      return undefined;
    },
  };
}
