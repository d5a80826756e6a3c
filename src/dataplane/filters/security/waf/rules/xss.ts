//! Cross-site scripting (3xxx). Level 1 looks for what runs script in a browser: script tags, event
//! handler attributes (inside a tag, or after a quote that breaks out of one), script URLs, the
//! tags that load other documents, and the JavaScript sinks injected code calls. Ordinary markup
//! (<b>, <p>, <a href="https://…">) is left to level 2 and above.

import { EVERYWHERE, type ValueRule } from '../rule.js';

const XSS = { class: 'xss', slots: EVERYWHERE, form: 'text' } as const;

/** Event handler names after "on", from the HTML and SVG specifications; `\w*` covers families (onmouseover, onkeydown). */
const EVENTS = 'abort|activate|afterprint|animation\\w+|auxclick|before\\w+|begin|blur|bounce|cancel|canplay\\w*|change|click|close|contextmenu|copy|cuechange|cut|dblclick|drag\\w*|drop|durationchange|emptied|end|ended|error|finish|focus\\w*|formdata|fullscreen\\w+|hashchange|input|invalid|key\\w+|load\\w*|message\\w*|mouse\\w+|move\\w*|offline|online|page\\w+|paste|pause|play\\w*|pointer\\w+|popstate|progress|ratechange|readystatechange|repeat|reset|resize|scroll\\w*|search|seek\\w+|select\\w*|show|stalled|start|storage|submit|suspend|timeupdate|toggle|touch\\w+|transition\\w+|unload|volumechange|waiting|wheel|zoom';

/** Letters of a scheme may be split by whitespace and control characters, which URL parsers drop. */
const spread = (word: string): string => [...word].join('[\\s\\x01-\\x1f]*');

export const XSS_RULES: readonly ValueRule[] = [
  { ...XSS, id: 3101, paranoia: 1, severity: 'critical', title: 'a script tag', needs: '<', pattern: /<\/?script\b/ },
  {
    ...XSS, id: 3102, paranoia: 1, severity: 'critical', title: 'an event handler attribute inside a tag (<img src=x onerror=…>, <svg/onload=…>)',
    needs: '<', pattern: /<[a-z][\w:-]{0,30}\b[^>]{0,500}?[\s/"'`]on[a-z]{3,}\s*=/,
  },
  {
    ...XSS, id: 3103, paranoia: 1, severity: 'critical', title: 'a quote breaking out of an attribute into an event handler (" onmouseover=…)',
    needs: '=', pattern: new RegExp(`['"\`](?:[^<>]{0,100}?[\\s/])?on(?:${EVENTS})\\s*=`),
  },
  {
    ...XSS, id: 3104, paranoia: 1, severity: 'critical', title: 'a script URL (javascript:, vbscript:, data:text/html, data:image/svg+xml)',
    needs: ':',
    pattern: new RegExp(`(?:${spread('java')}|${spread('vb')}|${spread('live')})[\\s\\x01-\\x1f]*${spread('script')}[\\s\\x01-\\x1f]*:(?!\\s)|\\bdata:\\s*(?:text/html|image/svg\\+xml|text/javascript|application/(?:x-)?javascript|application/xhtml\\+xml)`),
  },
  {
    ...XSS, id: 3105, paranoia: 1, severity: 'critical', title: 'a tag that loads or redirects to another document (iframe, object, embed, base, meta, link, …)',
    needs: '<', pattern: /<(?:iframe|frame|frameset|object|embed|applet|meta|base|link|isindex|xss|vmlframe|import|portal)\b/,
  },
  {
    ...XSS, id: 3106, paranoia: 1, severity: 'critical', title: 'a JavaScript sink injected code calls (alert(, eval(, document.cookie, .innerHTML=, String.fromCharCode)',
    needs: '(`.=',
    pattern: /\b(?:alert|prompt|confirm|eval)(?:\(|`)|\bdocument\s*\.\s*(?:cookie|domain|write(?:ln)?|location)\b|\bwindow\s*\.\s*(?:location|open)\b|\.innerhtml\s*=|\bfromcharcode\b|\batob\s*\(|\bset(?:timeout|interval)\s*\(\s*['"`]|\bnew\s+function\s*\(|\bconstructor\s*\.\s*constructor\b/,
  },
  {
    ...XSS, id: 3107, paranoia: 1, severity: 'critical', title: 'script in CSS (expression(, -moz-binding, behavior: url(, @import of a script URL)',
    needs: ':', pattern: /:\s*expression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(|@import\s+['"]?\s*(?:javascript|data):/,
  },
  {
    ...XSS, id: 3108, paranoia: 1, severity: 'critical', title: 'a client-side template expression reaching for script ({{constructor.constructor(…)}})',
    needs: '{', pattern: /\{\{[^}]{0,200}?(?:\bconstructor\b|\$eval\b|\$on\b|\balert\b|\bwindow\b|\bdocument\b|__proto__|\bprocess\b|\brequire\b)/,
  },
  {
    ...XSS, id: 3201, paranoia: 2, severity: 'critical', title: 'HTML tags used to carry script (svg, math, style, form, img, input, details, …)',
    needs: '<', pattern: /<(?:svg|math|style|form|img|image|video|audio|source|input|button|textarea|select|option|details|marquee|body|template|noscript|title|plaintext|xmp|keygen|animate|set|a\s+href)\b/,
  },
  { ...XSS, id: 3202, paranoia: 2, severity: 'critical', title: 'javascript: or vbscript: anywhere', needs: ':', pattern: /\b(?:java|vb)script\s*:/ },
  { ...XSS, id: 3301, paranoia: 3, severity: 'critical', title: 'any HTML tag', needs: '<', pattern: /<[a-z!/?][^>]{0,200}>/ },
  { ...XSS, id: 3302, paranoia: 3, severity: 'critical', title: 'a template expression ({{ … }})', needs: '{', pattern: /\{\{.{0,200}?\}\}/ },
  { ...XSS, id: 3303, paranoia: 3, severity: 'warning', title: 'an on…= attribute anywhere', needs: '=', pattern: /\bon[a-z]{3,}\s*=/ },
  { ...XSS, id: 3401, paranoia: 4, severity: 'critical', title: 'an angle bracket anywhere', needs: '<>', pattern: /[<>]/ },
];
