//! RequestMirror: marks the request for a fire-and-forget copy to another cluster; the proxy sends it
//! and ignores its answer. Sampling by percent or fraction is decided here.

import type { Cluster } from '../../../config/model.js';
import type { Filter } from '../filter.js';

export function requestMirror(cluster: Cluster, fraction: number): Filter {
  return {
    name: 'RequestMirror',
    onRequest(req) {
      if (fraction >= 1 || Math.random() < fraction) (req.mirrors ??= []).push(cluster);
      return undefined;
    },
  };
}
