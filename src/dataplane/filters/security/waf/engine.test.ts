import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { HeaderList } from '../../../headers.js';
import type { ProxyRequest } from '../../filter.js';
import { WafEngine, type Exclusion } from './engine.js';
import type { Paranoia, RuleClass } from './rule.js';
import { RULES } from './rules/index.js';

function request(target: string, headers: [string, string][] = [], method = 'GET'): ProxyRequest {
  const q = target.indexOf('?');
  return {
    method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), authority: 'api.example.com',
    headers: new HeaderList(['host', 'api.example.com', 'user-agent', 'curl/8.5.0', 'accept', '*/*', ...headers.flat()]),
    scheme: 'https', clientAddress: '203.0.113.9', peer: undefined, port: 443, requestId: 'r', matchedPrefix: undefined, mirrors: undefined, identity: undefined,
  };
}

const engine = (paranoia: Paranoia = 1, exclusions?: Exclusion[]) => new WafEngine({ paranoia, exclusions });
const q = (value: string) => request(`/items?q=${encodeURIComponent(value)}`);
const head = (e: WafEngine, req: ProxyRequest) => e.inspectHead(req);
const json = (e: WafEngine, value: unknown, truncated = false) => e.inspectBody('json', Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), truncated);

describe('the rule catalogue', () => {
  const CLASS_DIGIT: Record<RuleClass, number> = { protocol: 1, sqli: 2, xss: 3, traversal: 4, rfi: 5, command: 6 };

  test('ids are unique and read as class, paranoia level, sequence', () => {
    assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
    for (const r of RULES) {
      assert.equal(Math.floor(r.id / 1000), CLASS_DIGIT[r.class], `${r.id} is ${r.class}`);
      assert.equal(Math.floor(r.id / 100) % 10, r.paranoia, `${r.id} is level ${r.paranoia}`);
    }
  });

  test('patterns keep no state between values (no g or y flag)', () => {
    for (const r of RULES) if ('pattern' in r && r.pattern !== undefined) assert.doesNotMatch(r.pattern.flags, /[gy]/, String(r.id));
  });

  test('docs/security.md lists every rule with its level and severity, and no other', () => {
    const doc = readFileSync(new URL('../../../../../docs/security.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('\n## WAF\n'), doc.indexOf('\n## ', doc.indexOf('\n## WAF\n') + 1));
    const rows = new Map([...section.matchAll(/^\| (\d{4}) \| (\d) \| (\w+) \|/gm)].map((m) => [Number(m[1]), `${m[2]} ${m[3]}`]));
    assert.deepEqual([...rows.keys()].sort(), RULES.map((r) => r.id).sort());
    for (const r of RULES) assert.equal(rows.get(r.id), `${r.paranoia} ${r.severity}`, String(r.id));
  });

  test('every level compiles', () => {
    for (const pl of [1, 2, 3, 4] as Paranoia[]) assert.ok(engine(pl));
  });
});

describe('detection at paranoia level 1', () => {
  const cases: [string, number][] = [
    ["' or '1'='1", 2102], ['admin\'--', 2103], ['1 UNION/**/SELECT password FROM users', 2101], ['1; DROP TABLE users', 2105],
    ['1 and sleep(5)', 2106], ['1 and extractvalue(1,concat(0x7e,version()))', 2107], ['1 or 1=1', 2109], ['1/*!50000union*/', 2111],
    ['<script>alert(1)</script>', 3101], ['<img src=x onerror=alert(1)>', 3102], ['" autofocus onfocus="x', 3103], ['java\tscript:alert(1)', 3104],
    ['<iframe src=//evil>', 3105], ['x";alert(document.cookie);//', 3106], ['{{constructor.constructor(1)}}', 3108],
    ['../../etc/passwd', 4101], ['/proc/self/environ', 4102], ['file:///etc/passwd', 4103], ['c:\\windows\\win.ini', 4104],
    ['php://filter/resource=index.php', 5101], ['http://169.254.169.254/latest/meta-data/', 5102], ['http://evil.example/x.txt?', 5103],
    ['; whoami', 6101], ["; c'a't /etc/passwd", 6102], ['|/bin/sh', 6103], ['${jndi:ldap://evil/x}', 6106], ["system('id')", 6107],
  ];
  for (const [payload, rule] of cases) {
    test(`${rule}: ${payload}`, () => {
      const f = head(engine(), q(payload));
      assert.ok(f !== undefined && f.rules.includes(rule), `matched ${JSON.stringify(f?.rules)}`);
      assert.ok(f.score >= 5);
      assert.ok(f.matches.some((m) => m.id === rule && m.target === 'arg:q'));
    });
  }

  test('encodings are undone before matching: double URL, entities, JS escapes, %u, full width', () => {
    for (const raw of ['%253Cscript%253E', '%26lt%3Bscript%26gt%3B', '%5Cu003cscript%5Cu003e', '%u003Cscript%u003E', '%EF%BC%9Cscript%EF%BC%9E']) {
      assert.ok(head(engine(), request(`/items?q=${raw}`))?.rules.includes(3101), raw);
    }
  });

  test('protocol anomalies: NUL, malformed escapes, CR/LF in the query, TRACE, scanners', () => {
    assert.ok(head(engine(), request('/items?q=a%00b'))?.rules.includes(1101));
    assert.ok(head(engine(), request('/items?q=100%'))?.rules.includes(1102));
    assert.ok(head(engine(), request('/items?q=x%0d%0aSet-Cookie:%20a=b'))?.rules.includes(1105));
    assert.ok(head(engine(), request('/items', [], 'TRACE'))?.rules.includes(1108));
    assert.ok(head(engine(), request('/items', [['user-agent', 'sqlmap/1.7']]))?.rules.includes(1109));
  });
});

describe('ordinary values that look close to attacks pass at level 1', () => {
  for (const value of [
    "Conan O'Brien", 'select a plan', 'union station', "Choose 'red' or 'blue'", 'Try again; ping me later', 'JavaScript: The Good Parts',
    "I'd rather not; it's late", 'await sleep(1000)', 'Please confirm (by Friday)', 'set "online=true" to enable', 'x < y and y > z',
    'Wait... what?!', '50% off', 'https://news.example.com/index.php?id=42', 'C:\\Users\\jane\\notes.txt', 'Tom & Jerry; more later',
    'Type 2 diabetes; type 1 is rarer', 'The pipe (|) sends output on; && runs the next command', 'Run `npm test` first', 'data:image/png;base64,iVBORw0KGgo=',
  ]) {
    test(value, () => {
      const f = json(engine(), { text: value });
      assert.ok(f === undefined || f.score < 5, `matched ${JSON.stringify(f?.matches)}`);
    });
  }
});

describe('paranoia levels', () => {
  test('markup is level 2; a lone tag passes level 1', () => {
    assert.equal(head(engine(1), q('<img src="https://cdn.example.com/a.png">')), undefined);
    assert.ok(head(engine(2), q('<img src="https://cdn.example.com/a.png">'))?.rules.includes(3201));
  });

  test('URLs to scripts on a named host are level 2', () => {
    assert.equal(head(engine(1), q('http://evil.example/shell.php')), undefined);
    assert.ok(head(engine(2), q('http://evil.example/shell.php'))?.rules.includes(5201));
  });
});

describe('scoring', () => {
  test('a rule scores once per request however many values it matches; every match is listed', () => {
    const f = head(engine(), request('/items?a=%3Cscript%3E&b=%3Cscript%3E'))!;
    assert.equal(f.score, 5);
    assert.deepEqual(f.matches.map((m) => m.target), ['arg:a', 'arg:b']);
  });

  test('matched text is cut to 40 characters', () => {
    const f = head(engine(), q(`<script>${'a'.repeat(100)}`))!;
    assert.ok(f.matches.every((m) => m.value.length <= 41));
  });

  test('decoding flags log no text: the value may be a secret', () => {
    const f = head(engine(), request('/items', [['cookie', 'session=s3cr3t%zz']]))!;
    assert.deepEqual(f.matches, [{ id: 1102, target: 'cookie:session', value: '' }]);
  });
});

describe('targets', () => {
  test('the path, argument names, cookies (every field, quoted values) and custom headers are inspected', () => {
    assert.ok(head(engine(), request('/items/..%2f..%2fetc/passwd'))?.matches.some((m) => m.target === 'path'));
    assert.ok(head(engine(), request('/items?%3Cscript%3E=1'))?.matches.some((m) => m.target === 'argname:<script>'));
    assert.ok(head(engine(), request('/items', [['cookie', 'a=1'], ['cookie', 'b="<script>"']]))?.matches.some((m) => m.target === 'cookie:b'));
    assert.ok(head(engine(), request('/items', [['x-tenant', "1' or '1'='1"]]))?.matches.some((m) => m.target === 'header:x-tenant'));
  });

  test('credentials and browser-generated headers are not inspected', () => {
    assert.equal(head(engine(), request('/items', [['authorization', "Bearer ' or '1'='1"], ['sec-ch-ua', '<script>']])), undefined);
  });

  test('JSON keys and string values are named by their dotted path without array indexes', () => {
    const f = json(engine(), { order: { items: [{ note: 'ok' }, { note: '<script>' }] }, '<svg onload=x>': 1 })!;
    assert.deepEqual(f.matches.map((m) => m.target).sort(), ['arg:order.items.note', 'argname:<svg onload=x>'].sort());
  });

  test('a JSON body that does not parse matches 1110 and its strings are still inspected; one cut short here does not', () => {
    const broken = json(engine(), '{"a": "<script>", ')!;
    assert.ok(broken.rules.includes(1110) && broken.rules.includes(3101));
    const cut = json(engine(), '{"a": "<script>", "b": "x', true)!;
    assert.deepEqual(cut.rules, [3101]);
    assert.equal(cut.matches[0].target, 'arg:(body)');
    assert.equal(json(engine(), '   '), undefined);
  });

  test('form bodies are read as URL-encoded arguments', () => {
    const f = engine().inspectBody('form', Buffer.from('name=a&comment=%3Cscript%3E'), false)!;
    assert.equal(f.matches[0].target, 'arg:comment');
  });

  test('a body adds to the findings of its head', () => {
    const e = engine();
    const h = head(e, request('/items', [['range', 'bytes=0-1']]));
    assert.equal(h, undefined);
    const partial = head(e, request('/items?q=%0a'));
    assert.ok(partial !== undefined);
    const total = e.inspectBody('json', Buffer.from('{"x": "<script>"}'), false, partial)!;
    assert.equal(total, partial);
    assert.deepEqual(total.rules, [1105, 3101]);
  });
});

describe('exclusions', () => {
  const attack = request(`/items?q=${encodeURIComponent('<script>')}&r=${encodeURIComponent('<script>')}`, [['referer', '<script>']]);

  test('ruleIds alone turns rules off everywhere', () => {
    assert.equal(head(engine(1, [{ ruleIds: [3101] }]), attack), undefined);
  });

  test('ruleIds with a target turns them off for that target only', () => {
    const f = head(engine(1, [{ ruleIds: [3101], target: 'arg:q' }]), attack)!;
    assert.deepEqual(f.matches.map((m) => m.target), ['arg:r', 'header:referer']);
    const h = head(engine(1, [{ ruleIds: [3101], target: 'header:Referer' }]), attack)!;
    assert.deepEqual(h.matches.map((m) => m.target), ['arg:q', 'arg:r'], 'header names are case-insensitive');
  });

  test('a target alone is left out by every rule; an argument covers its name too', () => {
    assert.deepEqual(head(engine(1, [{ target: 'arg' }]), attack)!.matches.map((m) => m.target), ['header:referer']);
    assert.equal(head(engine(1, [{ target: 'arg:<script>' }]), request('/items?%3Cscript%3E=1')), undefined);
    assert.equal(head(engine(1, [{ ruleIds: [1108], target: 'method' }]), request('/items', [], 'TRACE')), undefined);
  });
});

test('no rule backtracks badly on long hostile input', () => {
  const e = engine(4);
  const n = 64 * 1024;
  const inputs = [
    ...`'"\`;()<>=-#/\\.:|&\${}*,@%[]!?+_ \n~^`.split('').flatMap((c) => [c.repeat(n), `${c}a`.repeat(n / 2), `${c} `.repeat(n / 2)]),
    `http://x${'?'.repeat(n)}x`, `<a${' '.repeat(n)}`, `' ${'or '.repeat(n / 3)}`, `{{${'a'.repeat(n)}`, `\${${'a'.repeat(n)}`, `/${'../'.repeat(n / 3)}`,
    `<a ${'onx'.repeat(n / 3)}`, `"${'a '.repeat(n / 2)}`, `; ${'cat '.repeat(n / 4)}`, `(${' '.repeat(n)}`, `'${')'.repeat(n)}`,
  ];
  for (const input of inputs) {
    const started = performance.now();
    e.inspectBody('json', Buffer.from(JSON.stringify({ v: input })), false);
    const ms = performance.now() - started;
    assert.ok(ms < 500, `${ms.toFixed(0)}ms on ${JSON.stringify(input.slice(0, 12))}…`);
  }
});
