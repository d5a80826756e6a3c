//! Listener limits when no flag sets them: Envoy's 60 KiB and 100 fields of request headers, 10 MiB of body, 60 s idle.

import type { ListenerLimits } from './model.js';

export const DEFAULT_LIMITS: ListenerLimits = {
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 100,
  maxBodyBytes: 10 * 1024 * 1024,
  idleTimeoutMs: 60_000,
};
