//! Remote file inclusion (5xxx), in argument values only: a URL given where the application expects
//! a name, for it to fetch and run. Level 1 takes what ordinary values never are: stream wrappers
//! (php://, expect://, data://), URLs to a bare IP address (also the cloud metadata address), URLs
//! ending in '?' to cut off a suffix the application appends, UNC paths. URLs to scripts on a named
//! host are level 2: links to .php or .txt pages are ordinary data too.

import { ARG_VALUES, type ValueRule } from '../rule.js';
import type { Subject } from '../subject.js';

const RFI = { class: 'rfi', slots: ARG_VALUES, form: 'text' } as const;

const URL_START = /^\s*(?:https?|ftps?):\/\//;

function endsWithQuestionMark(s: Subject): string | undefined {
  const t = s.text.trimEnd();
  return t.endsWith('?') && URL_START.test(t) ? t : undefined;
}

export const RFI_RULES: readonly ValueRule[] = [
  {
    ...RFI, id: 5101, paranoia: 1, severity: 'critical', title: 'a stream wrapper or exotic scheme (php://, phar://, expect://, data://, zip://, gopher://, dict://)',
    needs: ':',
    pattern: /(?:^|[\s'"=(])(?:(?:php|phar|zip|expect|glob|zlib|compress\.(?:zlib|bzip2)|ogg|rar|ssh2(?:\.\w+)?|gopher|dict|tftp|jar|netdoc):\/\/|data:(?:\/\/|text\/plain|application\/x-httpd-php))/,
  },
  {
    ...RFI, id: 5102, paranoia: 1, severity: 'critical', title: 'a URL whose host is an IP address (dotted, bracketed IPv6, decimal or hex)',
    needs: ':',
    pattern: /^\s*(?:https?|ftps?|file|gopher|dict|ldaps?|tftp|smb|sftp):\/\/(?:[^/?#@\s]{0,128}@)?(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]{2,64}\]|0x[0-9a-f]{1,8}|\d{8,10})(?:[:/?#]|$)/,
  },
  { ...RFI, id: 5103, paranoia: 1, severity: 'critical', title: "a URL ending in '?' (cuts off the suffix the application appends)", needs: '?', check: endsWithQuestionMark },
  {
    ...RFI, id: 5104, paranoia: 1, severity: 'critical', title: 'a protocol-relative URL to a script (//host/x.php)',
    needs: '/', pattern: /^\s*\/\/[^/\s]{1,253}\/[^\s?#]{0,2048}\.(?:php\d?|phtml|inc|jsp|asp|aspx|cgi|pl|sh|txt)\b/,
  },
  { ...RFI, id: 5105, paranoia: 1, severity: 'critical', title: 'a UNC path (\\\\host\\share)', needs: '\\', pattern: /^\s*\\\\[\w.-]{1,253}\\/ },
  {
    ...RFI, id: 5201, paranoia: 2, severity: 'critical', title: 'a URL to a script or text file (http://host/x.php, …/shell.txt)',
    needs: ':/',
    pattern: /^\s*(?:(?:https?|ftps?):)?\/\/[^\s?#]{1,2048}\.(?:php\d?|phtml|phar|inc|jsp|jspx|asp|aspx|cgi|pl|py|sh|cfm|txt)(?:[?#%]|$)/,
  },
];
