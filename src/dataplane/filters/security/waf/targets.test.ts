import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonLiterals, urlArgs } from './targets.js';

const collect = (run: (sink: { value(slot: string, name: string, raw: string): void }) => void): string[] => {
  const out: string[] = [];
  run({ value: (slot, name, raw) => out.push(`${slot} ${name}=${raw}`) });
  return out;
};

test('string literals of broken JSON: escapes kept, a literal open at a line break or at the end dropped, the scan going on after it', () => {
  const got = collect((sink) => jsonLiterals('{"a":"x\\"y", "b": "open\n "c":"d"} "tail', sink));
  assert.deepEqual(got, ['json (body)=a', 'json (body)=x"y', 'json (body)=b', 'json (body)=c', 'json (body)=d']);
});

test('a body of nothing but escaped quotes yields no literal (and is read in one pass)', () => {
  assert.deepEqual(collect((sink) => jsonLiterals('"' + '\\"'.repeat(40_000), sink)), []);
});

test('form arguments: names without values, empty segments, and "=" inside a value', () => {
  const got = collect((sink) => urlArgs('a&b=1&&c&d=x=y', sink, 'form', 'form-name'));
  assert.deepEqual(got, ['form-name a=a', 'form-name b=b', 'form b=1', 'form-name c=c', 'form-name d=d', 'form d=x=y']);
});
