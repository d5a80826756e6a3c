//! What a WAF rule is: plain data — an id, the attack class, the paranoia level it belongs to, a
//! severity that sets its anomaly score, the slots it inspects, and a pattern (or a small check for
//! what a pattern cannot see, such as decoding anomalies or the method).

import type { ProxyRequest } from '../../filter.js';
import type { Slot, Subject } from './subject.js';

export type RuleClass = 'protocol' | 'sqli' | 'xss' | 'traversal' | 'rfi' | 'command';
export type Severity = 'critical' | 'error' | 'warning' | 'notice';
export type Paranoia = 1 | 2 | 3 | 4;

/** Anomaly score per match, as the OWASP Core Rule Set weighs its severities. */
export const SCORE: Readonly<Record<Severity, number>> = { critical: 5, error: 4, warning: 3, notice: 2 };

/** Which normalization of a value a pattern runs on; see subject.ts. */
export type Form = 'text' | 'sql' | 'shell';

interface RuleBase {
  /** Class digit, paranoia level, then a sequence: 2101 is SQL injection, level 1, first rule. */
  readonly id: number;
  readonly class: RuleClass;
  readonly paranoia: Paranoia;
  readonly severity: Severity;
  /** What the rule looks for, for the docs. */
  readonly title: string;
}

/** A rule over one value at a time. */
export interface ValueRule extends RuleBase {
  readonly slots: readonly Slot[];
  /**
   * Characters one of which the decoded value must hold for the rule to be tried; '' tries it on
   * every value. A cheap pre-check: the pattern itself decides.
   */
  readonly needs: string;
  readonly form?: Form;
  readonly pattern?: RegExp;
  /** For anomalies a pattern cannot see (the decoder's flags); returns the text to log on a match. */
  readonly check?: (s: Subject) => string | undefined;
}

/** A rule over the request as a whole: its method or a header's shape. */
export interface RequestRule extends RuleBase {
  /** The header (lowercase) or 'method' it reads, which names it in logs and exclusions. */
  readonly target: 'method' | `header:${string}`;
  readonly check: (req: ProxyRequest) => string | undefined;
}

/** A rule about the body as a whole, decided by the body parser rather than a pattern. */
export interface BodyRule extends RuleBase {
  readonly target: 'body';
}

export type Rule = ValueRule | RequestRule | BodyRule;

/** Every slot that holds an argument value: query, form and JSON values, and cookies. */
export const ARG_VALUES: readonly Slot[] = ['query', 'form', 'json', 'cookie'];
export const ARG_NAMES: readonly Slot[] = ['query-name', 'form-name', 'json-key', 'cookie-name'];
export const ARGS: readonly Slot[] = [...ARG_VALUES, ...ARG_NAMES];
export const EVERYWHERE: readonly Slot[] = ['path', ...ARGS, 'header'];
