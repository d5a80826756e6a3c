//! SQL injection (2xxx). Patterns run on the SQL form of a value (comments as spaces, whitespace
//! collapsed, lowercase), so `UNION/**/SELECT` and `union   select` read alike. Level 1 looks for
//! SQL structure prose does not have: a quote closing a string and then a boolean test, stacked
//! statements, time delays, the catalogue tables and functions injections read.

import { ARGS, ARG_NAMES, ARG_VALUES, EVERYWHERE, type ValueRule } from '../rule.js';
import type { Subject } from '../subject.js';

const SQL = { class: 'sqli', slots: EVERYWHERE, form: 'sql' } as const;
const Q = `['"\`]`;
const IDENT = '[\\w.\\[\\]`"]{1,64}';

/** A value holding at least `n` of the characters SQL injections are made of (quotes, ;, =, parentheses, #); logs no text, the value may be a password. */
function sqlCharacters(n: number): (s: Subject) => string | undefined {
  return (s) => {
    let count = 0;
    for (let i = 0; i < s.text.length && count < n; i++) if (`'"\`;=()#`.includes(s.text[i])) count++;
    return count >= n ? '' : undefined;
  };
}

export const SQLI_RULES: readonly ValueRule[] = [
  { ...SQL, id: 2101, paranoia: 1, severity: 'critical', title: 'UNION SELECT', needs: ' (/\n', pattern: /\bunion\b[ (]*(?:(?:all|distinct)\b[ (]*)?select\b/ },
  {
    ...SQL, id: 2102, paranoia: 1, severity: 'critical', title: 'a quote closing a string, then a boolean operator and a comparison (\' or 1=1, ") or ("a"="a)',
    needs: `'"\``,
    pattern: new RegExp(`${Q}[ )]*(?:(?:or|and|xor)\\b|\\|\\||&&)[ (]*${Q}?[\\w.-]{0,64}${Q}? ?(?:=|<>|!=|<|>|(?:not )?(?:r?like|regexp) ?['"(]|is (?:not )?null\\b|between\\b)`),
  },
  {
    ...SQL, id: 2103, paranoia: 1, severity: 'critical', title: "a quote closing a string, then a comment or the statement's end (admin'--, admin'#)",
    needs: `'"\``, form: 'text', pattern: new RegExp(`${Q}[\\s)]{0,8}(?:--(?:[\\s+]|$)|#(?:\\s|$)|\\/\\*|;\\s{0,8}(?:--|#|$))`),
  },
  { ...SQL, id: 2104, paranoia: 1, severity: 'critical', title: "quote, comparison, quote ('='', '1'='1)", needs: `'"\``, pattern: new RegExp(`${Q} ?(?:=|<>|!=|<=?|>=?) ?${Q}`) },
  {
    ...SQL, id: 2105, paranoia: 1, severity: 'critical', title: 'a stacked statement after a semicolon (; DROP TABLE, ; EXEC xp_…, ; DECLARE @)',
    needs: ';',
    pattern: new RegExp(`; ?(?:(?:drop|truncate|alter) (?:table|database|schema|user|view|index|procedure|function)\\b|insert into ${IDENT} ?(?:\\(|values\\b|select\\b)|delete from ${IDENT} ?(?:where\\b|;|$)|update ${IDENT} set ${IDENT} ?=|select (?:pg_sleep|sleep|benchmark|load_file|version|user|database|current_user|@@|\\*|\\d|null\\b|char\\b|concat)|exec(?:ute)? ?(?:\\(|xp_|sp_|master\\.|@|immediate\\b)|declare @|shutdown\\b|create (?:table|user|database|procedure|function|login)\\b|grant (?:all|select|insert|update|delete)\\b|waitfor (?:delay|time)\\b)`),
  },
  {
    ...SQL, id: 2106, paranoia: 1, severity: 'critical', title: 'a time delay (SLEEP, PG_SLEEP, BENCHMARK, WAITFOR DELAY, DBMS_LOCK.SLEEP)',
    needs: `('"`,
    pattern: /\bpg_sleep ?\(|(?:^|\b(?:and|or|xor|not|select|if|then|else)\b|\|\||&&|[;=,(|'"]) ?sleep ?\( ?\d|\bbenchmark ?\( ?\d+ ?,|\bwaitfor (?:delay|time) ?['"]|\bdbms_pipe\.receive_message\b|\bdbms_lock\.sleep\b/,
  },
  {
    ...SQL, id: 2107, paranoia: 1, severity: 'critical', title: 'catalogue tables, variables and functions injections read (information_schema, @@version, xp_cmdshell, LOAD_FILE, INTO OUTFILE, EXTRACTVALUE, CHAR(…,…))',
    needs: '_@.( ',
    pattern: /\binformation_schema\b|@@(?:version|datadir|hostname|basedir|servername)\b|\b(?:sysobjects|syscolumns|sysusers|sysdatabases)\b|\bsys\.(?:tables|columns|objects|databases|sql_logins)\b|\bmysql\.(?:user|db)\b|\bpg_(?:catalog|shadow|user|roles|database|namespace)\b|\bsqlite_(?:master|schema)\b|\bload_file ?\(|\binto (?:out|dump)file\b|\bxp_(?:cmdshell|regread|dirtree|fileexist)\b|\bsp_(?:executesql|oacreate|makewebtask|password)\b|\butl_(?:http|inaddr|file)\b|\bdbms_\w+\.\w|\b(?:extractvalue|updatexml|group_concat|name_const) ?\(|\bchar ?\( ?\d+ ?(?:, ?\d+ ?)+\)|\bconcat(?:_ws)? ?\([^)]{0,40}\b0x[0-9a-f]|\bfrom dual\b|\bv\$version\b/,
  },
  {
    ...SQL, id: 2108, paranoia: 1, severity: 'critical', title: 'a subquery after an operator, or a parenthesized SELECT … FROM',
    needs: '(',
    pattern: /(?:\b(?:and|or|xor|not|r?like|regexp|in|exists)\b|[=,|&<>]) ?\(+ ?select\b|\( ?select [^)]{1,100}? from [\w.[\]`"(]/,
  },
  {
    ...SQL, id: 2109, paranoia: 1, severity: 'critical', title: 'a tautology after a boolean operator (or 1=1, and 5151=5151, having 1=1, or \'a\'=\'a\')',
    needs: '=',
    pattern: /(?:\b(?:or|and|xor|having)\b|\|\||&&)[ (]*(['"`]?)(\w{1,32})\1 ?(?:=|<=>|==) ?\1\2\b/,
  },
  {
    ...SQL, id: 2110, paranoia: 1, severity: 'critical', title: 'a boolean operator after a number, quote or parenthesis, then TRUE, FALSE or a commented-out rest (1 or true, 1\' or 1 --)',
    needs: ' ',
    pattern: /[\d'")] ?\b(?:or|and|xor)\b ?(?:true\b|false\b|not ?\d|\d+ ?(?:--|#|\/\*|;))/,
  },
  { ...SQL, id: 2111, paranoia: 1, severity: 'critical', title: "MySQL executable comment (/*!50000 … */)", needs: '/', form: 'text', pattern: /\/\*!\d*/ },
  {
    ...SQL, id: 2112, paranoia: 1, severity: 'critical', title: 'dynamic SQL: EXEC(@…), EXEC xp_…/sp_…, DECLARE @variable',
    needs: '@_.', pattern: /\bexec(?:ute)? ?(?:\( ?@|xp_|sp_|master\.)|\bdeclare @\w+ /,
  },
  {
    ...SQL, id: 2113, paranoia: 1, severity: 'critical', title: 'ORDER BY n or GROUP BY … HAVING probing the column count',
    needs: ' ', pattern: /['"\d)] ?\border by \d+ ?(?:--|#|\/\*|;|$)|\bgroup by [\w, ]{1,64}? having\b/,
  },
  { ...SQL, id: 2114, paranoia: 1, severity: 'critical', title: 'MongoDB $where operator (server-side JavaScript)', slots: ARG_NAMES, needs: '$', pattern: /(?:^|\[)\$where\b/ },
  {
    ...SQL, id: 2201, paranoia: 2, severity: 'critical', title: 'a quote followed by a boolean operator and an operand, or by HAVING, LIMIT, PROCEDURE',
    needs: `'"\``, pattern: new RegExp(`${Q}[ )]*\\b(?:(?:or|and|xor)\\b ?(?:\\d|['"\`(]|not\\b|true\\b|false\\b)|having\\b|limit \\d|procedure\\b)`),
  },
  {
    ...SQL, id: 2202, paranoia: 2, severity: 'critical', title: 'a numeric comparison after a boolean operator (and 1=2, or 3>2)',
    needs: '=<>', pattern: /\b(?:or|and|xor)\b \d+ ?(?:=|<>|!=|<=?|>=?) ?\d+/,
  },
  {
    ...SQL, id: 2203, paranoia: 2, severity: 'critical', title: 'a SQL statement after a semicolon',
    needs: ';', pattern: /; ?(?:select\b.{1,100}?\bfrom\b|insert into\b|delete from\b|update \w+ set\b|(?:drop|alter|create) (?:table|database|view|index|user)\b|exec(?:ute)?\b|declare\b|truncate\b|shutdown\b)/,
  },
  {
    ...SQL, id: 2204, paranoia: 2, severity: 'critical', title: 'MongoDB query operators as argument names ($ne, $gt, $regex, …)',
    slots: ARG_NAMES, needs: '$',
    pattern: /(?:^|\[)\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|exists|or|and|not|nor|expr|function|accumulator|elemmatch|size|type|all|mod|text)\b/,
  },
  { ...SQL, id: 2205, paranoia: 2, severity: 'critical', title: 'UNION and SELECT with no word between', needs: ' (/\n', pattern: /\bunion\b[^a-z]{1,20}select\b/ },
  {
    ...SQL, id: 2301, paranoia: 3, severity: 'critical', title: 'the shape of a SQL statement (SELECT … FROM, INSERT INTO, DELETE FROM, UPDATE … SET, DROP TABLE)',
    slots: ARGS, needs: ' ',
    pattern: /\bselect\b.{1,100}?\bfrom\b ?[\w.[\]`"]|\binsert into\b|\bdelete from\b|\bupdate\b.{1,60}?\bset\b.{1,60}?=|\bdrop (?:table|database)\b/,
  },
  { ...SQL, id: 2302, paranoia: 3, severity: 'warning', title: 'six or more SQL special characters in one value', slots: ARG_VALUES, needs: `'"\`;=()#`, check: sqlCharacters(6) },
  { ...SQL, id: 2401, paranoia: 4, severity: 'critical', title: 'three or more SQL special characters in one value', slots: ARG_VALUES, needs: `'"\`;=()#`, check: sqlCharacters(3) },
];
