//! The WAF engine: the rules a policy's paranoia level and exclusions leave, compiled once into a
//! list per slot, and the scan that scores a request against them. A rule adds its score once per
//! request, however many values it matches; every match is kept (up to a bound) for the log.

import type { ProxyRequest } from '../../filter.js';
import { coveredByAny, parseSelector, type Selector } from './exclusion.js';
import { SCORE, type Paranoia, type Rule, type RequestRule, type ValueRule } from './rule.js';
import { BODY_UNPARSABLE, REQUEST_RULES, VALUE_RULES } from './rules/index.js';
import { KIND_OF_SLOT, maskOf, Subject, type Slot, type TargetKind } from './subject.js';
import { cookies, headerValues, jsonLiterals, jsonValues, parseJson, urlArgs, type ValueSink } from './targets.js';

export interface Exclusion {
  /** Unset: every rule. */
  readonly ruleIds?: readonly number[];
  /** A target as parseSelector reads it; unset: everywhere. */
  readonly target?: string;
}

export interface EngineSettings {
  readonly paranoia: Paranoia;
  readonly exclusions?: readonly Exclusion[];
}

export interface Match {
  readonly id: number;
  /** `arg:q`, `header:user-agent`, `path`, … */
  readonly target: string;
  /** The text the rule matched, cut to MAX_VALUE characters. */
  readonly value: string;
}

const MAX_MATCHES = 16;
const MAX_VALUE = 40;

export class Findings {
  score = 0;
  /** Ids of the rules that matched, in the order they first did. */
  readonly rules: number[] = [];
  readonly matches: Match[] = [];

  add(rule: Rule, target: string, value: string): void {
    if (!this.rules.includes(rule.id)) {
      this.rules.push(rule.id);
      this.score += SCORE[rule.severity];
    }
    if (this.matches.length < MAX_MATCHES) this.matches.push({ id: rule.id, target, value: value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value });
  }
}

interface Compiled<R> {
  readonly rule: R;
  /** Targets this rule leaves alone; undefined when none. */
  readonly skip: readonly Selector[] | undefined;
}

interface CompiledValueRule extends Compiled<ValueRule> {
  /** Mask bits one of which a value must hold, 0 for none. */
  readonly need: number;
  readonly test: (s: Subject) => string | undefined;
}

function tester(rule: ValueRule): (s: Subject) => string | undefined {
  if (rule.check !== undefined) return rule.check;
  const re = rule.pattern!;
  switch (rule.form ?? 'text') {
    case 'sql': return (s) => re.exec(s.sql)?.[0];
    case 'shell': return (s) => re.exec(s.shell)?.[0];
    default: return (s) => re.exec(s.text)?.[0];
  }
}

const SLOTS = Object.keys(KIND_OF_SLOT) as Slot[];

/** How a request rule's target reads as a kind and a name, for exclusions. */
function requestTarget(rule: RequestRule): [TargetKind, string] {
  return rule.target === 'method' ? ['method', ''] : ['header', rule.target.slice('header:'.length)];
}

export type BodyKind = 'json' | 'form';

export class WafEngine {
  private readonly bySlot: Readonly<Record<Slot, readonly CompiledValueRule[]>>;
  private readonly requestRules: readonly Compiled<RequestRule>[];
  private readonly bodyRule: Compiled<typeof BODY_UNPARSABLE> | undefined;
  /** Targets no rule inspects. */
  readonly skipEverywhere: readonly Selector[];

  constructor(settings: EngineSettings) {
    const exclusions = settings.exclusions ?? [];
    const removed = new Set<number>();
    const skipByRule = new Map<number, Selector[]>();
    const everywhere: Selector[] = [];
    for (const e of exclusions) {
      const sel = e.target === undefined ? undefined : parseSelector(e.target);
      if (e.target !== undefined && sel === undefined) throw new Error(`invalid WAF exclusion target ${JSON.stringify(e.target)}`);
      if (e.ruleIds === undefined) {
        if (sel !== undefined) everywhere.push(sel);
        continue;
      }
      for (const id of e.ruleIds) {
        if (sel === undefined) removed.add(id);
        else skipByRule.set(id, [...(skipByRule.get(id) ?? []), sel]);
      }
    }
    const active = (r: Rule) => r.paranoia <= settings.paranoia && !removed.has(r.id);
    const skip = (r: Rule) => skipByRule.get(r.id);
    const values = VALUE_RULES.filter(active).map((rule): CompiledValueRule => ({ rule, skip: skip(rule), need: rule.needs === '' ? 0 : maskOf(rule.needs), test: tester(rule) }));
    this.bySlot = Object.fromEntries(SLOTS.map((slot) => [slot, values.filter((c) => c.rule.slots.includes(slot))])) as Record<Slot, CompiledValueRule[]>;
    this.requestRules = REQUEST_RULES.filter(active).map((rule) => ({ rule, skip: skip(rule) }));
    this.bodyRule = active(BODY_UNPARSABLE) ? { rule: BODY_UNPARSABLE, skip: skip(BODY_UNPARSABLE) } : undefined;
    this.skipEverywhere = everywhere;
  }

  /** Scores the request head: request rules, the path, query arguments, cookies and headers. */
  inspectHead(req: ProxyRequest): Findings | undefined {
    const scan = new Scan(this, undefined);
    for (const c of this.requestRules) {
      const hit = c.rule.check(req);
      if (hit === undefined) continue;
      const [kind, name] = requestTarget(c.rule);
      if (c.skip !== undefined && coveredByAny(c.skip, kind, name)) continue;
      if (coveredByAny(this.skipEverywhere, kind, name)) continue;
      scan.found(c.rule, c.rule.target, hit);
    }
    scan.value('path', '', req.path);
    urlArgs(req.query, scan, 'query', 'query-name');
    cookies(req.headers, scan);
    headerValues(req.headers, scan);
    return scan.findings;
  }

  /**
   * Scores a JSON or form body (or its first bytes, when `truncated`), adding to `findings` from the
   * head when given. A JSON body that does not parse matches BODY_UNPARSABLE, unless it was cut
   * short here; either way its string literals are inspected.
   */
  inspectBody(kind: BodyKind, body: Buffer, truncated: boolean, findings?: Findings): Findings | undefined {
    const scan = new Scan(this, findings);
    // A UTF-8 byte order mark is not JSON, but every JSON reader a backend uses skips it.
    const decoded = body.toString('utf8');
    const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
    if (kind === 'form') {
      urlArgs(text, scan, 'form', 'form-name');
      return scan.findings;
    }
    if (text.trim() === '') return scan.findings;
    const parsed = truncated ? undefined : parseJson(text);
    if (parsed?.ok === true) {
      jsonValues(parsed.value, scan);
      return scan.findings;
    }
    const b = this.bodyRule;
    if (parsed !== undefined && b !== undefined && !(b.skip !== undefined && coveredByAny(b.skip, 'body', '')) && !coveredByAny(this.skipEverywhere, 'body', '')) {
      scan.found(b.rule, 'body', '');
    }
    jsonLiterals(text, scan);
    return scan.findings;
  }

  rulesFor(slot: Slot): readonly CompiledValueRule[] {
    return this.bySlot[slot];
  }
}

/** One request's pass over its values; allocates findings only on the first match. */
class Scan implements ValueSink {
  constructor(private readonly engine: WafEngine, public findings: Findings | undefined) {}

  found(rule: Rule, target: string, value: string): void {
    (this.findings ??= new Findings()).add(rule, target, value);
  }

  value(slot: Slot, name: string, raw: string): void {
    const rules = this.engine.rulesFor(slot);
    if (rules.length === 0) return;
    const kind = KIND_OF_SLOT[slot];
    const everywhere = this.engine.skipEverywhere;
    if (everywhere.length > 0 && coveredByAny(everywhere, kind, name)) return;
    const s = new Subject(slot, name, raw);
    for (let i = 0; i < rules.length; i++) {
      const c = rules[i];
      if (c.need !== 0 && (s.mask & c.need) === 0) continue;
      const hit = c.test(s);
      if (hit === undefined) continue;
      if (c.skip !== undefined && coveredByAny(c.skip, kind, name)) continue;
      this.found(c.rule, s.target, hit);
    }
  }
}
