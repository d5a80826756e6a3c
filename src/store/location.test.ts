import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { defaultStoreLocation, describeStoreLocation, formatStoreLocation, parseStoreLocation } from './location.js';

test('sqlite:PATH resolves against the working directory; sqlite:///abs is the same as sqlite:/abs', () => {
  assert.deepEqual(parseStoreLocation('sqlite:data/w.db'), { kind: 'sqlite', file: path.resolve('data/w.db') });
  assert.deepEqual(parseStoreLocation('sqlite:///var/lib/w.db'), { kind: 'sqlite', file: '/var/lib/w.db' });
  assert.deepEqual(parseStoreLocation('sqlite:/var/lib/w.db'), { kind: 'sqlite', file: '/var/lib/w.db' });
  assert.deepEqual(defaultStoreLocation('windrose-data'), { kind: 'sqlite', file: path.resolve('windrose-data/windrose.db') });
});

test('a PostgreSQL URL keeps everything but windrose\'s schema parameter for the driver', () => {
  const loc = parseStoreLocation('postgres://app:s3cret@db.internal:5432/windrose?schema=edge&sslmode=require');
  assert.deepEqual(loc, { kind: 'postgres', url: 'postgres://app:s3cret@db.internal:5432/windrose?sslmode=require', schema: 'edge' });
  assert.deepEqual(parseStoreLocation(formatStoreLocation(loc)), loc);
  assert.equal(parseStoreLocation('postgresql://db/w').kind, 'postgres');
});

test('messages never show the password', () => {
  assert.equal(describeStoreLocation(parseStoreLocation('postgres://app:s3cret@db:5432/w')), 'postgres://app:***@db:5432/w');
  assert.throws(() => parseStoreLocation('mysql://app:s3cret@db/w'), (err: Error) => !err.message.includes('s3cret') && /expected sqlite:PATH or postgres:/.test(err.message));
});

test('bad locations are refused with what is expected', () => {
  assert.throws(() => parseStoreLocation('sqlite:'), /expected sqlite:PATH with a file path/);
  assert.throws(() => parseStoreLocation('postgres://db/w?schema=Bad-Name'), /invalid schema "Bad-Name"/);
  assert.throws(() => parseStoreLocation('windrose.db'), /expected sqlite:PATH or postgres:/);
});
