//! The logger: pino JSON lines, or short text lines on a terminal. Secrets are redacted here,
//! not at each call site.

import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Renders pino's JSON lines as "LEVEL msg key=value" for people reading a terminal. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const { level, time: _time, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
        out.write(`${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extra ? ` ${extra}` : ''}\n`);
      }
      done();
    },
  });
}

export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: ['*.authorization', '*.password', '*.token', '*.keyPem', '*["tls.key"]', 'headers.cookie'], censor: '[redacted]' },
  };
  return format === 'text' ? pino(options, textStream(process.stderr)) : pino(options, pino.destination(2));
}

export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'text' : 'json';
}
