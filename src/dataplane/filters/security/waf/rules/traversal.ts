//! Path traversal and local file access (4xxx): dot-dot segments with either separator (after every
//! decoding, so %2e%2e%2f, %252e and %c0%ae are caught too), the files an attacker reads once there,
//! and file: URLs.

import { EVERYWHERE, type ValueRule } from '../rule.js';

const TRAVERSAL = { class: 'traversal', slots: EVERYWHERE, form: 'text' } as const;

export const TRAVERSAL_RULES: readonly ValueRule[] = [
  {
    ...TRAVERSAL, id: 4101, paranoia: 1, severity: 'critical', title: 'a dot-dot segment (../, ..\\, ..;/, ....//)',
    needs: '.', pattern: /(?:^|[\\/])\.{2,}[\\/;]|[\\/]\.{2,}$/,
  },
  {
    ...TRAVERSAL, id: 4102, paranoia: 1, severity: 'critical', title: 'a system file or directory attackers read (/etc/passwd, /proc/self/, win.ini, .ssh/, .htpasswd, WEB-INF/)',
    needs: '/\\.',
    pattern: /(?:^|[\\/])(?:etc[\\/](?:passwd|shadow|group|gshadow|hosts|issue|sudoers|crontab|master\.passwd)\b|proc[\\/](?:self|\d+)[\\/]|windows[\\/](?:win\.ini|system\.ini|system32|repair)\b|winnt[\\/]|var[\\/]log[\\/])|(?:^|[\\/~])\.(?:ssh[\\/]|htpasswd\b|htaccess\b|bash_history\b|git[\\/]|aws[\\/]|env(?:$|[\\/]))|\b(?:boot|win|system)\.ini\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bweb-inf[\\/]/,
  },
  { ...TRAVERSAL, id: 4103, paranoia: 1, severity: 'critical', title: 'a file: URL', needs: ':', pattern: /\bfile:\/\// },
  {
    ...TRAVERSAL, id: 4104, paranoia: 1, severity: 'critical', title: 'a Windows system path (C:\\Windows, C:\\inetpub, C:\\boot.ini)',
    needs: ':', pattern: /\b[a-z]:[\\/]+(?:windows|winnt|inetpub|boot\.ini)\b/,
  },
  { ...TRAVERSAL, id: 4201, paranoia: 2, severity: 'critical', title: 'a dot-dot next to a separator anywhere', needs: '.', pattern: /\.\.[\\/]|[\\/]\.\./ },
  {
    ...TRAVERSAL, id: 4202, paranoia: 2, severity: 'critical', title: 'an absolute path into a system directory (/etc/, /proc/, /root/, /bin/, …)',
    needs: '/', pattern: /(?:^|[\s'"=:])\/(?:etc|proc|sys|root|boot|dev|bin|sbin|usr\/(?:local\/)?s?bin)\//,
  },
];
