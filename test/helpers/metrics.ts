//! Reading windrose's /metrics in tests, and waiting for a condition with a deadline rather than a sleep.

import { request } from 'undici';
import type { Windrose } from './windrose.js';

/** The sum of every sample of `name` whose labels include all of `labels` (0 when there is none). */
export async function metric(gw: Windrose, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await request(`${gw.admin}/metrics`)).body.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined, and returns that;
 * throws `what` once `deadlineMs` has passed.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, deadlineMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${deadlineMs}ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Waits until `metric(gw, name, labels)` satisfies `ok`, and returns that value. */
export function waitForMetric(gw: Windrose, name: string, labels: Record<string, string>, ok: (value: number) => boolean): Promise<number> {
  return until(`${name}${JSON.stringify(labels)} to satisfy ${ok.toString()}`, async () => {
    const value = await metric(gw, name, labels);
    return ok(value) ? value : undefined;
  });
}
