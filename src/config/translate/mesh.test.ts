//! Fixture tests for the sidecar translator: testdata/mesh/<case>.yaml, with the workload the
//! sidecar serves in <case>.workload.json (fields over WORKLOAD below), and the expected
//! translation in <case>.expected.json. The file format is described in translation.fixture.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { translateMesh, type MeshWorkload } from './mesh.js';
import { fixtureNames, runFixture } from './translation.fixture.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'mesh');
const fixtures = fixtureNames(testdata);

const WORKLOAD: MeshWorkload = {
  namespace: 'default',
  labels: {},
  inbound: { port: 15006, mode: 'STRICT' },
  outbound: { port: 15001, host: '127.0.0.1' },
  appPort: 9080,
  clusterDomain: 'cluster.local',
};

function workload(name: string): MeshWorkload {
  return { ...WORKLOAD, ...(JSON.parse(readFileSync(join(testdata, `${name}.workload.json`), 'utf8')) as Partial<MeshWorkload>) };
}

describe('mesh translator fixtures', () => {
  test('there are fixtures to run', () => {
    assert.ok(fixtures.length > 0, `no fixtures in ${testdata}`);
  });
  for (const name of fixtures) {
    test(name, () => {
      const self = workload(name);
      runFixture(testdata, name, (resources) => translateMesh(resources, self));
    });
  }
});
