//! The proxy's side of the stream, one JSON object a line, checked before anything acts on it.

import type { ProxyMessage } from '../../mesh/protocol.js';
import { describeProblem, isDescriptorProblem, parseDescriptor } from '../../mesh/descriptor.js';

const VERSION = /^[0-9a-f]{1,64}$/;
const MAX_ERROR = 16 * 1024;

/** The message on `line`, null for a type this control plane does not know (a newer proxy's), or why the line is not acceptable. */
export function parseProxyMessage(line: string): ProxyMessage | null | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not a JSON object';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'hello': {
      const proxy = parseDescriptor(m.proxy);
      if (isDescriptorProblem(proxy)) return `hello: ${describeProblem(proxy)}`;
      if (m.version !== undefined && (typeof m.version !== 'string' || !VERSION.test(m.version))) return 'hello: version must be a snapshot version';
      return m.version === undefined ? { type: 'hello', proxy } : { type: 'hello', proxy, version: m.version as string };
    }
    case 'ack':
      if (typeof m.version !== 'string' || !VERSION.test(m.version)) return 'ack: version must be a snapshot version';
      return { type: 'ack', version: m.version };
    case 'nack':
      if (typeof m.version !== 'string' || !VERSION.test(m.version)) return 'nack: version must be a snapshot version';
      if (typeof m.error !== 'string') return 'nack: error must be a string';
      return { type: 'nack', version: m.version, error: m.error.slice(0, MAX_ERROR) };
    case 'heartbeat':
      return { type: 'heartbeat' };
    default:
      return typeof m.type === 'string' ? null : 'type: expected a string';
  }
}
