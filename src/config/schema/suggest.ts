//! "Did you mean" for misspelled field names and enum values.

/** Edit distance counting an adjacent transposition as one edit ("paht" -> "path"). */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

/**
 * The candidate the user most plausibly meant, or undefined when none is close enough to help.
 * `maxDistance` tightens the match for vocabularies full of real near neighbours (kinds such as
 * TCPRoute and HTTPRoute), and disables matching by prefix.
 */
export function suggest<T extends string>(word: string, candidates: readonly T[], maxDistance?: number): T | undefined {
  const w = word.toLowerCase();
  // Short words tolerate one typo; longer ones about one per three characters.
  const limit = maxDistance ?? (w.length <= 3 ? 1 : Math.max(2, Math.floor(w.length / 3)));
  const byPrefix = maxDistance === undefined;
  let best: T | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (c === w) return candidate;
    // A truncated or extended name ("match" for "matches") counts as one typo, if neither is tiny.
    const prefix = byPrefix && Math.min(w.length, c.length) >= 4 && (c.startsWith(w) || w.startsWith(c));
    const d = prefix ? 1 : distance(w, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

export function unknownFieldMessage(field: string, known: readonly string[]): string {
  const near = suggest(field, known);
  return `unknown field ${JSON.stringify(field)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}`;
}
