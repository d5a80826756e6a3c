//! `windrose keys create|list|revoke`: issues API keys (shown once, kept only as hashes), lists them
//! and revokes them, directly in the store; every gateway process picks a change up within a second.

import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { apiKeyPrefix, isApiKeyPrefix } from '../dataplane/filters/security/api-key/format.js';
import type { ApiKeyRecord, ApiKeyRef } from '../store/api-keys.js';
import { consumerNameProblem } from '../store/consumers.js';
import type { Store } from '../store/open.js';
import { dataDirOption, storeLocation, storeOption, type StoreFlags } from './store-options.js';

type Output = 'text' | 'json';

const output = () => new Option('-o, --output <format>', 'text, or json for scripts').choices(['text', 'json']).default('text');

const RELATIVE_RE = /^([0-9]{1,6}(d|h|m|s))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `30d`, `12h`, `90s`, `1d12h` from now, or an ISO date (midnight UTC) or date-time with its zone. */
export function parseExpiry(text: string, now = Date.now()): number {
  let at: number;
  if (RELATIVE_RE.test(text)) {
    at = now;
    for (const m of text.matchAll(/([0-9]+)(d|h|m|s)/g)) at += Number(m[1]) * UNIT_MS[m[2]];
  } else if (DATE_RE.test(text) && !Number.isNaN(Date.parse(text))) {
    at = Date.parse(text);
  } else {
    throw new InvalidArgumentError(`expected a duration such as 30d, 12h or 90s, or a date such as 2030-01-31 or 2030-01-31T12:00:00Z, got "${text}"`);
  }
  if (at <= now) throw new InvalidArgumentError(`"${text}" is not in the future`);
  return at;
}

function parseConsumer(text: string): string {
  const problem = consumerNameProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return text;
}

function parseLabel(text: string): string {
  if (text.length === 0 || text.length > 128 || /\p{Cc}/u.test(text)) {
    throw new InvalidArgumentError('expected 1 to 128 characters without control characters');
  }
  return text;
}

/** A key id, a prefix (wrk_XXXXXXXX) or a whole key: whoever holds a leaked key can revoke it as is. */
export function parseKeyRef(text: string): ApiKeyRef {
  if (/^[1-9][0-9]{0,15}$/.test(text)) return { id: Number(text) };
  if (isApiKeyPrefix(text)) return { prefix: text };
  const prefix = apiKeyPrefix(text);
  if (prefix !== undefined) return { prefix };
  throw new InvalidArgumentError('expected a key id, a prefix such as wrk_AbCd1234, or a whole key');
}

const time = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

function statusOf(key: ApiKeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt !== undefined) return 'revoked';
  return key.expiresAt !== undefined && key.expiresAt <= now ? 'expired' : 'active';
}

function describe(key: ApiKeyRecord): string {
  return `API key ${key.id} (${key.prefix}) of consumer "${key.consumer}"`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

/** Opens the store, runs `work`, closes it; a failure is one line on stderr and exit code 1. */
async function withStore(command: string, flags: StoreFlags, work: (store: Store) => Promise<void>): Promise<void> {
  const location = storeLocation(`keys ${command}`, flags);
  let store: Store | undefined;
  try {
    const { openStore } = await import('../store/open.js');
    store = await openStore(location);
    await work(store);
  } catch (err) {
    process.exitCode = 1;
    process.stderr.write(`windrose keys ${command}: ${(err as Error).message}\n`);
  } finally {
    await store?.close();
  }
}

function createCommand(): Command {
  return new Command('create')
    .description('issue an API key for a consumer (created if new); the key is printed once and only its hash is kept')
    .addOption(new Option('--consumer <name>', 'who the key belongs to, as rate limits, billing and upstream headers know it').makeOptionMandatory().argParser(parseConsumer))
    .addOption(new Option('--name <label>', 'a label to tell the consumer\'s keys apart, e.g. "ci" or "mobile app"').argParser(parseLabel))
    .addOption(new Option('--expires <when>', 'a duration from now (30d, 12h, 90s) or a date (2030-01-31, 2030-01-31T12:00:00Z); default: never').argParser((t: string) => parseExpiry(t)))
    .addOption(output())
    .addOption(dataDirOption())
    .addOption(storeOption())
    .action((o: StoreFlags & { consumer: string; name?: string; expires?: number; output: Output }) => withStore('create', o, async (store) => {
      const { issueApiKey } = await import('../dataplane/filters/security/api-key/format.js');
      const { isUniqueViolation } = await import('../store/database.js');
      // A prefix is 8 random characters (about 47 bits); should one repeat, the store refuses it and a new key is drawn.
      for (let attempt = 1; ; attempt++) {
        const issued = issueApiKey();
        try {
          const key = await store.apiKeys.create({
            consumer: o.consumer, prefix: issued.prefix, hash: issued.hash, name: o.name, createdAt: Date.now(), expiresAt: o.expires,
          });
          if (o.output === 'json') {
            process.stdout.write(`${JSON.stringify({
              id: key.id, key: issued.key, prefix: key.prefix, consumer: key.consumer, name: key.name ?? null,
              createdAt: time(key.createdAt), expiresAt: time(key.expiresAt) ?? null,
            })}\n`);
          } else {
            process.stdout.write(`${issued.key}\n`);
            process.stderr.write(`created ${describe(key)}${key.expiresAt === undefined ? '' : `, expires ${time(key.expiresAt)}`}\n`);
          }
          process.stderr.write('store the key now: windrose keeps only its hash and cannot show it again\n');
          return;
        } catch (err) {
          if (!isUniqueViolation(err) || attempt === 3) throw err;
        }
      }
    }));
}

function listCommand(): Command {
  return new Command('list')
    .description('list API keys (never the keys themselves): id, prefix, consumer, name, created, expires, status')
    .addOption(new Option('--consumer <name>', 'only this consumer\'s keys').argParser(parseConsumer))
    .addOption(output())
    .addOption(dataDirOption())
    .addOption(storeOption())
    .action((o: StoreFlags & { consumer?: string; output: Output }) => withStore('list', o, async (store) => {
      if (o.consumer !== undefined && (await store.consumers.find(o.consumer)) === undefined) throw new Error(`no consumer named "${o.consumer}"`);
      const keys = await store.apiKeys.list({ consumer: o.consumer });
      const now = Date.now();
      if (o.output === 'json') {
        const items = keys.map((k) => ({
          id: k.id, prefix: k.prefix, consumer: k.consumer, name: k.name ?? null, createdAt: time(k.createdAt),
          expiresAt: time(k.expiresAt) ?? null, revokedAt: time(k.revokedAt) ?? null, status: statusOf(k, now),
        }));
        process.stdout.write(`${JSON.stringify(items)}\n`);
        return;
      }
      const rows = keys.map((k) => [String(k.id), k.prefix, k.consumer, k.name ?? '-', time(k.createdAt)!, time(k.expiresAt) ?? '-', statusOf(k, now)]);
      process.stdout.write(`${table([['ID', 'PREFIX', 'CONSUMER', 'NAME', 'CREATED', 'EXPIRES', 'STATUS'], ...rows])}\n`);
    }));
}

function revokeCommand(): Command {
  return new Command('revoke')
    .description('revoke an API key by id, prefix or the whole key; every gateway refuses it within a second')
    .addArgument(new Argument('<key>', 'the key\'s id or prefix as "keys list" shows them, or the key itself').argParser(parseKeyRef))
    .addOption(dataDirOption())
    .addOption(storeOption())
    .action((ref: ApiKeyRef, o: StoreFlags) => withStore('revoke', o, async (store) => {
      const result = await store.apiKeys.revoke(ref, Date.now());
      if (result === undefined) throw new Error(`no API key with ${'id' in ref ? `id ${ref.id}` : `prefix ${ref.prefix}`}`);
      process.stdout.write(result.revokedNow
        ? `revoked ${describe(result.key)}; gateways refuse it within a second\n`
        : `${describe(result.key)} was already revoked at ${time(result.key.revokedAt)}\n`);
    }));
}

export function keysCommand(): Command {
  return new Command('keys')
    .description('issue, list and revoke the API keys that SecurityPolicy apiKeyAuth accepts')
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand());
}
