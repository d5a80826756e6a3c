// The WAF measured: detection rate per attack class on test/fixtures/waf/attacks.txt and the false
// positive rate on the ordinary traffic of test/fixtures/waf/benign.txt, at each paranoia level,
// plus what the engine costs per request. The figures in docs/security.md come from this file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { HeaderList } from '../../../headers.js';
import type { ProxyRequest } from '../../filter.js';
import { type BodyKind, WafEngine } from './engine.js';
import type { Paranoia, RuleClass } from './rule.js';

const THRESHOLD = 5;
const fixture = (name: string) => readFileSync(new URL(`../../../../../test/fixtures/waf/${name}`, import.meta.url), 'utf8')
  .split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

interface Sample {
  readonly line: string;
  readonly req: ProxyRequest;
  readonly body?: { readonly kind: BodyKind; readonly bytes: Buffer };
}

function request(method: string, target: string, headers: [string, string][]): ProxyRequest {
  const q = target.indexOf('?');
  const raw: string[] = ['host', 'api.example.com'];
  const names = new Set(headers.map(([n]) => n));
  if (!names.has('accept')) raw.push('accept', 'application/json');
  if (!names.has('user-agent')) raw.push('user-agent', 'curl/8.5.0');
  for (const [n, v] of headers) raw.push(n, v);
  return {
    method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), authority: 'api.example.com',
    headers: new HeaderList(raw), scheme: 'https', clientAddress: '203.0.113.9', peer: undefined, port: 443, requestId: 'r',
    matchedPrefix: undefined, mirrors: undefined, identity: undefined,
  };
}

/** Escapes what may not appear raw where the value goes; '%' stays, so the payload's own escapes reach the gateway as written. */
function wire(s: string, extra: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c >= 0x7f || `"<>\`{}|\\^${extra}`.includes(ch)) out += [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    else out += ch;
  }
  return out;
}

function withBody(req: ProxyRequest, kind: BodyKind, text: string): Pick<Sample, 'req' | 'body'> {
  const bytes = Buffer.from(text);
  req.headers.add('content-type', kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
  req.headers.add('content-length', String(bytes.length));
  return { req, body: { kind, bytes } };
}

interface Attack extends Sample {
  readonly class: RuleClass;
}

function attack(line: string): Attack {
  const first = line.indexOf(' ');
  const second = line.indexOf(' ', first + 1);
  const cls = line.slice(0, first) as RuleClass;
  const where = line.slice(first + 1, second);
  const p = line.slice(second + 1);
  const sample = (s: Pick<Sample, 'req' | 'body'>): Attack => ({ line, class: cls, ...s });
  if (where === 'query') return sample({ req: request('GET', `/api/items?q=${wire(p, '&#')}&page=1`, []) });
  if (where === 'path') return sample({ req: request('GET', `/api/items/${wire(p, '#?')}`, []) });
  if (where === 'form') return sample(withBody(request('POST', '/api/items', []), 'form', `name=widget&comment=${wire(p, '&#')}`));
  if (where === 'json') return sample(withBody(request('POST', '/api/items', []), 'json', JSON.stringify({ name: 'widget', comment: p })));
  if (where === 'json-key') return sample(withBody(request('POST', '/api/items', []), 'json', JSON.stringify({ name: 'widget', [p]: 1 })));
  if (where === 'json-raw') return sample(withBody(request('POST', '/api/items', []), 'json', p));
  if (where === 'cookie') return sample({ req: request('GET', '/api/items', [['cookie', `theme=dark; session=${wire(p, ';,')}`]]) });
  if (where === 'method') return sample({ req: request(p, '/api/items', []) });
  if (where.startsWith('header:')) return sample({ req: request('GET', '/api/items', [[where.slice(7), p]]) });
  throw new Error(`attacks.txt: unknown place ${where} in ${line}`);
}

function benign(line: string): Sample {
  const [head, ...parts] = line.split(' ¦ ');
  const space = head.indexOf(' ');
  const headers: [string, string][] = [];
  let body: { kind: BodyKind; text: string } | undefined;
  for (const part of parts) {
    const at = part.indexOf(' ');
    const kind = part.slice(0, at);
    const rest = part.slice(at + 1);
    if (kind === 'json' || kind === 'form') body = { kind, text: rest };
    else if (kind === 'cookie') headers.push(['cookie', rest]);
    else if (kind === 'header') headers.push([rest.slice(0, rest.indexOf(':')).toLowerCase(), rest.slice(rest.indexOf(':') + 1).trim()]);
    else throw new Error(`benign.txt: unknown part ${kind} in ${line}`);
  }
  const req = request(head.slice(0, space), head.slice(space + 1), headers);
  if (body === undefined) return { line, req };
  const bytes = Buffer.from(body.text);
  if (!req.headers.has('content-type')) req.headers.add('content-type', body.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
  req.headers.add('content-length', String(bytes.length));
  return { line, req, body: { kind: body.kind, bytes } };
}

const ATTACKS = fixture('attacks.txt').map(attack);
const BENIGN = fixture('benign.txt').map(benign);
const CLASSES: RuleClass[] = ['sqli', 'xss', 'traversal', 'rfi', 'command', 'protocol'];

function score(engine: WafEngine, s: Sample): { score: number; rules: number[] } {
  const head = engine.inspectHead(s.req);
  const all = s.body === undefined ? head : engine.inspectBody(s.body.kind, s.body.bytes, false, head);
  return { score: all?.score ?? 0, rules: all?.rules ?? [] };
}

interface Measured {
  readonly detected: Record<RuleClass, number>;
  readonly total: Record<RuleClass, number>;
  readonly missed: string[];
  readonly falsePositives: string[];
}

function measure(paranoia: Paranoia): Measured {
  const engine = new WafEngine({ paranoia });
  const detected = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<RuleClass, number>;
  const total = { ...detected };
  const missed: string[] = [];
  for (const a of ATTACKS) {
    total[a.class]++;
    if (score(engine, a).score >= THRESHOLD) detected[a.class]++;
    else missed.push(a.line);
  }
  const falsePositives = BENIGN.flatMap((b) => {
    const r = score(engine, b);
    return r.score >= THRESHOLD ? [`${r.rules.join(',')}  ${b.line}`] : [];
  });
  return { detected, total, missed, falsePositives };
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)}%`;
const sum = (r: Record<RuleClass, number>) => CLASSES.reduce((a, c) => a + r[c], 0);

const measured = new Map<Paranoia, Measured>(([1, 2, 3, 4] as Paranoia[]).map((pl) => [pl, measure(pl)]));

test('the corpora are big enough to measure and cover every class', () => {
  assert.ok(ATTACKS.length >= 300, `${ATTACKS.length} attacks`);
  assert.ok(BENIGN.length >= 300, `${BENIGN.length} ordinary requests`);
  for (const c of CLASSES) assert.ok(ATTACKS.filter((a) => a.class === c).length >= 30, `too few ${c} payloads`);
});

test('detection and false-positive rates per paranoia level', (t) => {
  for (const [pl, m] of measured) {
    const perClass = CLASSES.map((c) => `${c} ${pct(m.detected[c], m.total[c])} (${m.detected[c]}/${m.total[c]})`).join(', ');
    t.diagnostic(`PL${pl}: detection ${pct(sum(m.detected), ATTACKS.length)} (${perClass}); false positives ${pct(m.falsePositives.length, BENIGN.length)} (${m.falsePositives.length}/${BENIGN.length})`);
    if (process.env.WAF_CORPUS_VERBOSE) for (const l of [...m.missed.map((x) => `  missed ${x}`), ...m.falsePositives.map((x) => `  false positive ${x}`)]) t.diagnostic(l);
  }
});

// The bounds sit a little below what was measured (docs/security.md has the figures), so a rule
// change that loses detection or adds false positives fails here. Level 1 is the default and must
// be usable as is: at most 1% of ordinary requests refused. Remote file inclusion is the weakest
// class at level 1 by design (a URL to a script on a named host is level 2), hence its own bound.
test('level 1 detects at least 95% of the attacks, 80% of each class, and refuses at most 1% of ordinary requests', () => {
  const m = measured.get(1)!;
  assert.ok(sum(m.detected) / ATTACKS.length >= 0.95, `detection ${pct(sum(m.detected), ATTACKS.length)}; missed:\n${m.missed.join('\n')}`);
  for (const c of CLASSES) assert.ok(m.detected[c] / m.total[c] >= 0.8, `${c}: ${pct(m.detected[c], m.total[c])}`);
  assert.ok(m.falsePositives.length / BENIGN.length <= 0.01, `false positives:\n${m.falsePositives.join('\n')}`);
});

test('level 2 detects at least 98% of the attacks and refuses at most 5% of ordinary requests', () => {
  const m = measured.get(2)!;
  assert.ok(sum(m.detected) / ATTACKS.length >= 0.98, `detection ${pct(sum(m.detected), ATTACKS.length)}; missed:\n${m.missed.join('\n')}`);
  assert.ok(m.falsePositives.length / BENIGN.length <= 0.05, `false positives:\n${m.falsePositives.join('\n')}`);
});

test('each level detects at least what the one below does, at the price of more false positives', () => {
  for (const pl of [2, 3, 4] as Paranoia[]) {
    const [lower, upper] = [measured.get((pl - 1) as Paranoia)!, measured.get(pl)!];
    assert.ok(sum(upper.detected) >= sum(lower.detected), `PL${pl} detects less than PL${pl - 1}`);
    assert.ok(upper.falsePositives.length >= lower.falsePositives.length, `PL${pl} has fewer false positives than PL${pl - 1}`);
  }
});

test('the engine costs little per request', (t) => {
  for (const pl of [1, 2] as Paranoia[]) {
    const engine = new WafEngine({ paranoia: pl });
    for (const [name, set] of [['ordinary', BENIGN], ['attack', ATTACKS]] as const) {
      for (let i = 0; i < 3; i++) for (const s of set) score(engine, s);
      const rounds = 20;
      const start = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) for (const s of set) score(engine, s);
      const us = Number(process.hrtime.bigint() - start) / 1000 / (rounds * set.length);
      t.diagnostic(`PL${pl}: ${us.toFixed(1)} µs per ${name} request`);
    }
  }
});
