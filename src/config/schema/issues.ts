//! zod issues to located problems: a path, a message, and whether it concerns a key or a value.

import type { z } from 'zod';
import type { UnknownFieldParams } from './primitives.js';
import { unknownFieldMessage } from './suggest.js';

export type Path = readonly (string | number)[];

export interface Problem {
  readonly path: Path;
  readonly message: string;
  /** Locate at the mapping key rather than its value (unknown or disallowed fields). */
  readonly atKey?: boolean;
}

/** Every leaf writes its own message; this only covers a missing value in zod's own schemas. */
export const fallbackError = (iss: { input?: unknown }): string | undefined => (iss.input === undefined ? 'required' : undefined);

const isUnknownField = (params: unknown): params is UnknownFieldParams =>
  typeof params === 'object' && params !== null && Array.isArray((params as UnknownFieldParams).unknownField);

export function problemsFrom(error: z.ZodError): Problem[] {
  return error.issues.map((issue): Problem => {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    const params = issue.code === 'custom' ? issue.params : undefined;
    if (isUnknownField(params)) return { path, message: unknownFieldMessage(String(path.at(-1)), params.unknownField), atKey: true };
    return { path, message: issue.message, ...(params?.atKey === true ? { atKey: true } : {}) };
  });
}
