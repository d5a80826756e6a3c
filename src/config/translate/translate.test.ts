//! Fixture tests for the gateway translator: testdata/<case>.yaml in, testdata/<case>.expected.json
//! out. The file format, and how to rewrite the expected files, are in translation.fixture.ts.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { translate } from './index.js';
import { fixtureNames, runFixture } from './translation.fixture.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const fixtures = fixtureNames(testdata);

describe('translator fixtures', () => {
  test('there are fixtures to run', () => {
    assert.ok(fixtures.length > 0, `no fixtures in ${testdata}`);
  });
  for (const name of fixtures) test(name, () => runFixture(testdata, name, (resources) => translate(resources)));
});
