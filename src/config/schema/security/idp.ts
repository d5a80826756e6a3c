//! Field formats shared by the blocks that talk to an identity provider (introspection, oidc):
//! its URLs and the pages it sends browsers back to, and bounded durations.

import type { z } from 'zod';
import { duration } from '../formats.js';
import { durationMs } from '../../translate/durations.js';
import { show, string } from '../primitives.js';

function urlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `invalid URL ${show(v)}: expected an absolute http or https URL such as "https://idp.example/realms/shop"`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `invalid URL ${show(v)}: expected the http or https scheme`;
  if (u.username !== '' || u.password !== '') return `invalid URL ${show(v)}: credentials do not belong in the URL (use the client secret)`;
  if (u.hash !== '') return `invalid URL ${show(v)}: must not have a fragment`;
  return undefined;
}

/** An absolute http(s) URL without credentials or fragment. */
export const httpURL = string({ min: 1, max: 2048, format: urlProblem });

/** A Gateway API duration from `min` to `max` (themselves durations), such as a cache lifetime. */
export function durationWithin(min: string, max: string): z.ZodType<string> {
  const minMs = durationMs(min);
  const maxMs = durationMs(max);
  return duration.superRefine((v, ctx) => {
    const ms = durationMs(v);
    if (ms < minMs || ms > maxMs) ctx.addIssue({ code: 'custom', message: `must be from ${min} to ${max}, got ${show(v)}` });
  });
}
