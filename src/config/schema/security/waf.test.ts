import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wafSpec } from './waf.js';

function problems(spec: unknown): string[] {
  const r = wafSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a full waf block is accepted, and so is an empty one', () => {
  assert.deepEqual(problems({}), []);
  assert.deepEqual(problems({
    mode: 'Detect', paranoiaLevel: 2, anomalyThreshold: 10, body: { maxSize: '64Ki', onOversize: 'InspectPrefix' },
    exclusions: [{ ruleIds: [2101, 3201] }, { ruleIds: [4101], target: 'arg:path' }, { target: 'header:x-raw' }, { target: 'cookie' }],
  }), []);
});

test('modes and levels are named values', () => {
  assert.match(problems({ mode: 'block' })[0], /^mode: expected one of "Block", "Detect", "Off", got "block" \(did you mean "Block"\?\)$/);
  assert.match(problems({ paranoiaLevel: 5 })[0], /^paranoiaLevel: expected one of 1, 2, 3, 4, got 5$/);
  assert.match(problems({ anomalyThreshold: 0 })[0], /^anomalyThreshold: expected an integer from 1 to 1000/);
});

test('the body bound is a size from 1 byte to 16Mi', () => {
  assert.match(problems({ body: { maxSize: '64KB' } })[0], /^body\.maxSize: expected a number of bytes or a quantity/);
  assert.match(problems({ body: { maxSize: '1Gi' } })[0], /^body\.maxSize: must be from 1 byte to 16Mi/);
  assert.match(problems({ body: { onOversize: 'Drop' } })[0], /^body\.onOversize: expected one of "Reject", "InspectPrefix"/);
});

test('exclusions name rules that exist and targets the WAF knows', () => {
  assert.match(problems({ exclusions: [{ ruleIds: [2999] }] })[0], /^exclusions\.0\.ruleIds\.0: unknown WAF rule id 2999/);
  assert.match(problems({ exclusions: [{ target: 'query:q' }] })[0], /^exclusions\.0\.target: invalid exclusion target "query:q"/);
  assert.match(problems({ exclusions: [{ target: 'path:x' }] })[0], /invalid exclusion target/);
  assert.deepEqual(problems({ exclusions: [{}] }), ['exclusions.0: an exclusion needs ruleIds, a target, or both']);
});
