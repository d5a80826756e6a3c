//! Gateway API durations ("500ms", "1m30s") and Kubernetes quantities ("64Ki") to numbers.

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds; "0s" means no timeout. The schema has already checked the syntax. */
export function durationMs(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

const QUANTITY: Readonly<Record<string, number>> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** Bytes from a Kubernetes quantity such as "64Ki" or "10Mi"; undefined when malformed. */
export function quantityBytes(text: string): number | undefined {
  const m = /^(\d+)(|k|M|G|Ki|Mi|Gi)$/.exec(text.trim());
  return m ? Number(m[1]) * QUANTITY[m[2]] : undefined;
}
