//! Command injection and code execution (6xxx). Patterns run on the shell form of a value (quotes
//! and backslashes inside words removed, $IFS as a space), so c'a't and w\ho\am\i read as cat and
//! whoami. A command counts after a shell separator (; | & newline, $( or a backtick that does not
//! open Markdown code); commands that are also English words (cat, id, ping, type) count only with
//! the arguments a shell would get, so "; ping me later" is prose and "; ping -c 5 host" is not.

import { EVERYWHERE, type ValueRule } from '../rule.js';

const COMMAND = { class: 'command', slots: EVERYWHERE, form: 'shell' } as const;

/** A shell separator; a backtick counts only at the start or glued to the text before it, as an injection is. */
const SEP = '(?:[;|&\\n\\r]|\\$\\(|(?:^|(?<=\\S))`)';
/** An optional absolute path before the command: /bin/cat, /usr/bin/id. */
const BIN = '(?:(?:/usr(?:/local)?)?/s?bin/)?';
/** Programs whose names are not words of prose. */
const PROGRAMS = 'whoami|uname|wget|curl|ncat|netcat|socat|nslookup|ifconfig|ipconfig|netstat|chmod|chown|chgrp|printenv|printf|telnet|busybox|xxd|nmap|powershell|pwsh|certutil|bitsadmin|tasklist|taskkill|systeminfo|wmic|msiexec|rundll32|regsvr32|mshta|cscript|wscript|crontab|useradd|usermod|sudo|tftp|killall|pkill|mkfifo|mknod|xargs|nohup|lsof|traceroute|tracert|getent|cmd\\.exe';
/** Programs whose names are also words or names people write; they count with the arguments of a command line. */
const WORDS = 'cat|ls|id|ping|sleep|echo|rm|cp|mv|touch|kill|find|grep|head|tail|more|less|env|dir|type|net|ver|host|dig|ps|who|set|export|cd|mkdir|tar|unzip|su|exec|eval|source|timeout|uptime|nc|python[23]?|perl|ruby|php|node|lua|java|gcc|base64|bash|sh|zsh|ksh|csh|dash|cmd|sed|awk|dd|tee|ssh|scp|rsync|shutdown|reboot|del|copy|attrib|systemctl|service|iptables|hostname';
/** Of those, the ones that do harm with no argument at all (; id, |sh). */
const ALONE = 'id|ls|env|ps|set|who|w|uptime|ver|dir|hostname|pwd|bash|sh|zsh|ksh|csh|dash|cmd|python[23]?|perl|ruby|php|node|nc';
/** What follows a command on a command line: a flag, a path, a variable, a drive, an address, a lone number. */
const ARGS = '\\s+(?:-{1,2}[a-z]|/[a-z]|[/~.$\\\\]|[a-z]:(?:[/\\\\]|[a-z]|$)|user\\b|\\d+(?:\\.\\d+){3}\\b|\\d+\\s*(?:$|[;|&`)\\n]))';
/** The end of a command: the value's end or the next separator. */
const END = '\\s*(?:$|[;|&`)\\n])';
/** Separators for level 2, without line breaks: multi-line text often starts a line with a command word. */
const SEP_INLINE = '(?:[;|&]|\\$\\(|(?:^|(?<=\\S))`)';

export const COMMAND_RULES: readonly ValueRule[] = [
  {
    ...COMMAND, id: 6101, paranoia: 1, severity: 'critical', title: 'a separator, then a program whose name is no word of prose (; whoami, | wget, $(curl)',
    needs: ';|&\n`$', pattern: new RegExp(`${SEP}\\s{0,8}${BIN}(?:${PROGRAMS})\\b(?!\\s*[:=])`),
  },
  {
    ...COMMAND, id: 6102, paranoia: 1, severity: 'critical', title: 'a separator, then a common command with shell arguments (; cat /etc/passwd, | id, & ping -c 5)',
    needs: ';|&\n`$', pattern: new RegExp(`${SEP}\\s{0,8}${BIN}(?:(?:${WORDS})\\b${ARGS}|(?:${ALONE})${END})`),
  },
  { ...COMMAND, id: 6103, paranoia: 1, severity: 'critical', title: 'a separator, then an absolute path to a binary (; /bin/sh)', needs: ';|&\n`$', pattern: new RegExp(`${SEP}\\s{0,8}(?:/usr(?:/local)?)?/s?bin/[a-z]`) },
  { ...COMMAND, id: 6104, paranoia: 1, severity: 'critical', title: 'a Shellshock function definition (() { :; };)', needs: '(', form: 'text', pattern: /\(\s*\)\s*\{[^}]{0,100};\s*\}/ },
  {
    ...COMMAND, id: 6105, paranoia: 1, severity: 'critical', title: 'shell evasion and redirection ($IFS, /dev/tcp/, {cat,/etc/passwd}, sh -c)',
    needs: '${/ ', form: 'text',
    pattern: /\$\{?ifs\b|\/dev\/(?:tcp|udp)\/|\{\s*(?:cat|ls|id|wget|curl|nc|bash|sh|echo|whoami|uname|ping|rm)\s*,|\b(?:ba|z|k|da)?sh\s+-[ci]\s/,
  },
  {
    ...COMMAND, id: 6106, paranoia: 1, severity: 'critical', title: 'a Log4j lookup (${jndi:…}, nested ${${lower:j}…})',
    needs: '$', form: 'text',
    pattern: /\$\{(?:[^}]{0,40}\$\{|\s*(?:jndi|lower|upper|env|sys|java|main|date|ctx|bundle|k8s|docker|spring|web|log4j|base64)\s*:|::-)/,
  },
  {
    ...COMMAND, id: 6107, paranoia: 1, severity: 'critical', title: 'PHP or Java code execution (<?php, system(\'…\'), $_GET[, Runtime.getRuntime().exec)',
    needs: '(<$[', form: 'text',
    pattern: /<\?(?:php\b|=)|\b(?:system|passthru|shell_exec|popen|proc_open|pcntl_exec|assert|create_function|call_user_func(?:_array)?|preg_replace)\s*\(\s*['"$`]|\beval\s*\(\s*(?:base64_decode|gzinflate|str_rot13|gzuncompress)|\$_(?:get|post|request|cookie|server|files)\s*\[|\bruntime\.getruntime\(\)\.exec|\bprocessbuilder\s*\(/,
  },
  {
    ...COMMAND, id: 6108, paranoia: 1, severity: 'critical', title: 'a Windows environment variable (%COMSPEC%, %SYSTEMROOT%)',
    needs: '%', form: 'text', pattern: /%(?:comspec|systemroot|windir|programfiles|userprofile|appdata|temp)%/,
  },
  {
    ...COMMAND, id: 6201, paranoia: 2, severity: 'critical', title: 'a separator, then any common command',
    needs: ';|&`$', pattern: new RegExp(`${SEP_INLINE}\\s{0,8}${BIN}(?:${WORDS})\\b(?!\\s*[:=,])`),
  },
  {
    ...COMMAND, id: 6202, paranoia: 2, severity: 'critical', title: 'a network or shell program with a flag anywhere (curl -o, nc -e, bash -i)',
    needs: '-', pattern: /\b(?:wget|curl|nc|ncat|netcat|bash|sh|python[23]?|perl|ruby|php|powershell)\s+-{1,2}[a-z]/,
  },
];
