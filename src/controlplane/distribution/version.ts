//! A snapshot's version is a hash of its content: the same documents and bundle give the same
//! version on every control plane and across restarts, so a proxy that reconnects sees at once
//! whether it already serves the current config, and a change elsewhere leaves its version alone.

import { createHash } from 'node:crypto';
import type { ConfigDocument } from '../../mesh/protocol.js';

/** 64 bits of SHA-256, in hex: short enough to read in logs, far from colliding among a mesh's versions. */
export function snapshotVersion(trustBundle: readonly string[], documents: readonly ConfigDocument[]): string {
  return createHash('sha256').update(JSON.stringify({ trustBundle, documents })).digest('hex').slice(0, 16);
}
