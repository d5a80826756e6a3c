//! Exponential backoff with full jitter: the wait before retry n is uniform in [0, min(max, base * 2^(n-1))),
//! so clients that failed together do not come back together.

export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
  return random() * ceiling;
}
