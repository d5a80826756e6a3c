//! Parsing of command-line values shared by the commands: addresses, sizes, durations.

import { InvalidArgumentError } from 'commander';
import { durationMs, quantityBytes } from '../config/translate/durations.js';

export function parseAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT, e.g. 127.0.0.1:9901, got "${text}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function parseSize(text: string): number {
  const n = quantityBytes(text);
  if (n === undefined) throw new InvalidArgumentError(`expected a size such as 64Ki or 10Mi, got "${text}"`);
  return n;
}

export function parseDuration(text: string): number {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) throw new InvalidArgumentError(`expected a duration such as 500ms, 10s or 1m, got "${text}"`);
  return durationMs(text);
}

/** A duration that must not be zero: an interval or a lifetime of 0 would make a loop spin or a certificate expire on issue. */
export function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === 0) throw new InvalidArgumentError(`expected a duration above zero, got "${text}"`);
  return ms;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError(`expected a whole number from 1 to 256, got "${text}"`);
  return n;
}

export function parseLevel(text: string): 'debug' | 'info' | 'warn' | 'error' {
  if (text === 'debug' || text === 'info' || text === 'warn' || text === 'error') return text;
  throw new InvalidArgumentError(`expected debug, info, warn or error, got "${text}"`);
}

export function parseFormat(text: string): 'json' | 'text' {
  if (text === 'json' || text === 'text') return text;
  throw new InvalidArgumentError(`expected json or text, got "${text}"`);
}
