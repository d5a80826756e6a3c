// docs/errors.md must list exactly the codes of the error catalogue, each with its HTTP status.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** Table rows whose first cell is a code in backticks: code -> the row's other cells. */
function documentedCodes(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    if (!line.trimStart().startsWith('|')) continue;
    const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    const code = /^`([A-Za-z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (code === undefined) continue;
    assert.ok(!rows.has(code), `docs/errors.md lists ${code} twice`);
    rows.set(code, cells.slice(1));
  }
  return rows;
}

const rows = documentedCodes(doc);

test('every catalogue code is in docs/errors.md with its status in the same row', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    const cells = rows.get(code);
    assert.ok(cells !== undefined, `docs/errors.md has no table row for ${code}`);
    assert.ok(cells.includes(String(spec.status)), `docs/errors.md row for ${code} does not give status ${spec.status}: | ${cells.join(' | ')} |`);
  }
});

test('docs/errors.md lists no code that is not in the catalogue', () => {
  const unknown = [...rows.keys()].filter((code) => !Object.hasOwn(ERRORS, code));
  assert.deepEqual(unknown, [], `docs/errors.md lists codes missing from src/errors.ts: ${unknown.join(', ')}`);
});

test('the status column holds the catalogue status, not another number', () => {
  for (const [code, cells] of rows) {
    if (!Object.hasOwn(ERRORS, code)) continue;
    const statuses = cells.filter((c) => /^\d{3}$/.test(c)).map(Number);
    assert.deepEqual(statuses, [ERRORS[code as keyof typeof ERRORS].status], `row for ${code}`);
  }
});
