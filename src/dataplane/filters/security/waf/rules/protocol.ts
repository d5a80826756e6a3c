//! Protocol violations and anomalies (1xxx): encodings no client produces, NUL and control bytes,
//! CR/LF that would split a header or an e-mail, methods that only echo, scanners that announce
//! themselves, bodies that do not parse as their content type says.

import { BAD_ESCAPE, CONTROL, MULTI_ENCODED, NEWLINE, NUL, OVERLONG, PERCENT_U } from '../decode.js';
import { ARG_NAMES, ARG_VALUES, EVERYWHERE, type BodyRule, type RequestRule, type ValueRule } from '../rule.js';
import type { Slot, Subject } from '../subject.js';

/** Matches on a decoding flag; logs no text, since the value may be a session cookie or a password. */
const flagged = (flag: number) => (s: Subject): string | undefined => ((s.flags & flag) !== 0 ? '' : undefined);

/** Where a value arrives URL-encoded, so a malformed escape is the client's, not text. */
const URL_SLOTS: readonly Slot[] = ['path', 'query', 'query-name', 'form', 'form-name', 'cookie', 'cookie-name'];

const SCANNERS = /\b(?:sqlmap|nikto|nmap|masscan|zgrab|nuclei|gobuster|dirbuster|dirb|wfuzz|ffuf|fuzz faster u fool|feroxbuster|acunetix|netsparker|nessus|openvas|w3af|arachni|wpscan|joomscan|havij|jaeles|whatweb|commix|xsstrike|skipfish|zmeu|morfeus|webinspect|appscan)\b/;

/** Bodies the methods that must not carry one (RFC 9110 gives GET and HEAD no body semantics). */
const NO_BODY = new Set(['GET', 'HEAD']);

export const PROTOCOL_VALUE_RULES: readonly ValueRule[] = [
  { id: 1101, class: 'protocol', paranoia: 1, severity: 'critical', title: 'NUL byte in a value', slots: EVERYWHERE, needs: '', check: flagged(NUL) },
  { id: 1102, class: 'protocol', paranoia: 1, severity: 'critical', title: "malformed URL escape ('%' without two hex digits)", slots: URL_SLOTS, needs: '', check: flagged(BAD_ESCAPE) },
  { id: 1103, class: 'protocol', paranoia: 1, severity: 'critical', title: "IIS %uXXXX escape", slots: EVERYWHERE, needs: '', check: flagged(PERCENT_U) },
  { id: 1104, class: 'protocol', paranoia: 1, severity: 'critical', title: 'overlong UTF-8 encoding (%c0%af for "/")', slots: EVERYWHERE, needs: '', check: flagged(OVERLONG) },
  {
    id: 1105, class: 'protocol', paranoia: 1, severity: 'critical', title: 'CR or LF in the path, a query argument or a cookie (header injection, response splitting)',
    slots: ['path', 'query', 'query-name', 'cookie', 'cookie-name'], needs: '', check: flagged(NEWLINE),
  },
  {
    id: 1106, class: 'protocol', paranoia: 1, severity: 'critical', title: 'CR or LF followed by an HTTP or mail header in a body value',
    slots: ['form', 'json'], needs: '\r\n',
    pattern: /[\r\n][\t ]*(?:(?:bcc|set-cookie|location|content-type|content-length|transfer-encoding|refresh)[\t ]*:|http\/\d)/,
  },
  { id: 1107, class: 'protocol', paranoia: 1, severity: 'critical', title: 'control character in the path', slots: ['path'], needs: '', check: flagged(CONTROL) },
  { id: 1201, class: 'protocol', paranoia: 2, severity: 'critical', title: 'control character in an argument or cookie', slots: [...ARG_VALUES, ...ARG_NAMES], needs: '', check: flagged(CONTROL) },
  { id: 1202, class: 'protocol', paranoia: 2, severity: 'notice', title: 'double URL encoding', slots: URL_SLOTS, needs: '', check: flagged(MULTI_ENCODED) },
  {
    id: 1401, class: 'protocol', paranoia: 4, severity: 'critical', title: 'a character outside printable ASCII in the path or an argument name',
    slots: ['path', ...ARG_NAMES], needs: '', pattern: /[^\x20-\x7e]/,
  },
];

export const PROTOCOL_REQUEST_RULES: readonly RequestRule[] = [
  {
    id: 1108, class: 'protocol', paranoia: 1, severity: 'critical', title: 'TRACE, TRACK or DEBUG method (cross-site tracing, debug endpoints)',
    target: 'method', check: (req) => (req.method === 'TRACE' || req.method === 'TRACK' || req.method === 'DEBUG' ? req.method : undefined),
  },
  {
    id: 1109, class: 'protocol', paranoia: 1, severity: 'critical', title: 'User-Agent of a known attack or scanning tool',
    target: 'header:user-agent', check: (req) => SCANNERS.exec(req.headers.get('user-agent')?.toLowerCase() ?? '')?.[0],
  },
  {
    id: 1203, class: 'protocol', paranoia: 2, severity: 'warning', title: 'GET or HEAD request with a body',
    target: 'header:content-length',
    check: (req) => {
      if (!NO_BODY.has(req.method)) return undefined;
      const length = req.headers.get('content-length');
      return length !== undefined && length !== '0' ? length : undefined;
    },
  },
  {
    id: 1204, class: 'protocol', paranoia: 2, severity: 'critical', title: 'Range header with more than 5 ranges (resource exhaustion)',
    target: 'header:range',
    check: (req) => {
      const range = req.headers.get('range');
      if (range === undefined) return undefined;
      let commas = 0;
      for (let i = 0; i < range.length; i++) if (range.charCodeAt(i) === 44) commas++;
      return commas >= 5 ? range : undefined;
    },
  },
  {
    id: 1301, class: 'protocol', paranoia: 3, severity: 'notice', title: 'missing or empty User-Agent',
    target: 'header:user-agent', check: (req) => ((req.headers.get('user-agent') ?? '').trim() === '' ? '' : undefined),
  },
  {
    id: 1302, class: 'protocol', paranoia: 3, severity: 'notice', title: 'missing Accept',
    target: 'header:accept', check: (req) => (req.headers.has('accept') ? undefined : ''),
  },
];

/** Matched when a JSON body does not parse: a WAF that gives up on a body sees no attack in it, while a lenient backend may still read one. */
export const BODY_UNPARSABLE: BodyRule = {
  id: 1110, class: 'protocol', paranoia: 1, severity: 'critical', title: 'a body sent as JSON that does not parse as JSON', target: 'body',
};
