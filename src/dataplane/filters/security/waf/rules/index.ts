//! The rule catalogue: every class's rules in one list, with ids unique across it.

import type { Rule } from '../rule.js';
import { COMMAND_RULES } from './command.js';
import { BODY_UNPARSABLE, PROTOCOL_REQUEST_RULES, PROTOCOL_VALUE_RULES } from './protocol.js';
import { RFI_RULES } from './rfi.js';
import { SQLI_RULES } from './sqli.js';
import { TRAVERSAL_RULES } from './traversal.js';
import { XSS_RULES } from './xss.js';

export { BODY_UNPARSABLE } from './protocol.js';

export const VALUE_RULES = [...PROTOCOL_VALUE_RULES, ...SQLI_RULES, ...XSS_RULES, ...TRAVERSAL_RULES, ...RFI_RULES, ...COMMAND_RULES];
export const REQUEST_RULES = PROTOCOL_REQUEST_RULES;

/** Every rule, ordered by id. */
export const RULES: readonly Rule[] = [...VALUE_RULES, ...REQUEST_RULES, BODY_UNPARSABLE].sort((a, b) => a.id - b.id);

export const RULE_IDS: ReadonlySet<number> = new Set(RULES.map((r) => r.id));
