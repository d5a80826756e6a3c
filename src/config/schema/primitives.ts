//! Building blocks for the resource schemas. Every leaf writes its own message, so an error
//! reads the same whatever zod version produced it: lowercase, naming the offending value.

import { z } from 'zod';
import { suggest } from './suggest.js';

const INT32_MAX = 2_147_483_647;

/** A value as the user wrote it, for messages: strings quoted, collections described. */
export function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  return String(v);
}

/** Marks an issue that is about a mapping key rather than its value, so it is located at the key. */
export const AT_KEY = { atKey: true } as const;

/** Reported for keys a strict mapping does not define; the key itself is the last path element. */
export interface UnknownFieldParams {
  readonly unknownField: readonly string[];
}

/** Missing values are "required"; present ones are described by `problem`. */
function messageFor(input: unknown, problem: (v: unknown) => string | undefined): string {
  return input === undefined ? 'required' : problem(input) ?? 'invalid value';
}

/** A leaf whose validity and message both come from `problem` (undefined means valid). */
export function leaf<T>(problem: (v: unknown) => string | undefined): z.ZodType<T> {
  return z.custom<T>((v) => problem(v) === undefined, { error: (iss) => messageFor(iss.input, problem) });
}

export interface StringRule {
  readonly min?: number;
  readonly max?: number;
  /** Returns a message when the (type- and length-checked) value is malformed. */
  readonly format?: (v: string) => string | undefined;
}

function stringProblem(v: unknown, rule: StringRule = {}): string | undefined {
  if (typeof v !== 'string') return `expected a string, got ${show(v)}`;
  if (rule.min !== undefined && v.length < rule.min) return rule.min === 1 ? 'must not be empty' : `must be at least ${rule.min} characters`;
  if (rule.max !== undefined && v.length > rule.max) return `must be at most ${rule.max} characters, got ${v.length}`;
  return rule.format?.(v);
}

export const string = (rule: StringRule = {}): z.ZodType<string> => leaf<string>((v) => stringProblem(v, rule));

/** A string that must match `re`; `what` names the value ("hostname"), `hint` says what is expected. */
export function pattern(re: RegExp, what: string, hint: string, rule: Omit<StringRule, 'format'> = {}): z.ZodType<string> {
  return string({ ...rule, format: (v) => (re.test(v) ? undefined : `invalid ${what} ${show(v)}: ${hint}`) });
}

export function int(min: number, max: number = INT32_MAX): z.ZodType<number> {
  return leaf<number>((v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `expected an integer from ${min} to ${max}, got ${show(v)}`,
  );
}

export const bool: z.ZodType<boolean> = leaf<boolean>((v) => (typeof v === 'boolean' ? undefined : `expected true or false, got ${show(v)}`));

/** One of a fixed set of values, suggesting the closest one for near misses such as wrong case. */
export function oneOf<const T extends readonly (string | number)[]>(values: T): z.ZodType<T[number]> {
  const listed = values.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ');
  return leaf<T[number]>((v) => {
    if (values.includes(v as T[number])) return undefined;
    const near = typeof v === 'string' ? suggest(v, values.filter((x): x is string => typeof x === 'string')) : undefined;
    return `expected one of ${listed}, got ${show(v)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}`;
  });
}

const collectionError = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'required' : `expected ${what}, got ${show(iss.input)}`;

export interface ListRule {
  readonly min?: number;
  readonly max?: number;
}

export function list<T extends z.ZodType>(item: T, rule: ListRule = {}) {
  let schema = z.array(item, { error: collectionError('a list') });
  if (rule.max !== undefined) {
    const max = rule.max;
    schema = schema.max(max, { error: (iss) => `expected at most ${max} items, got ${(iss.input as unknown[]).length}` });
  }
  if (rule.min !== undefined) {
    const min = rule.min;
    schema = schema.min(min, { error: () => (min === 1 ? 'must not be empty' : `expected at least ${min} items`) });
  }
  return schema;
}

/**
 * Reports entries whose key repeats an earlier one (listType=map/set upstream), at `field` of the
 * later entry. Keys are compared as returned, so callers lowercase them where upstream does.
 */
export function uniqueBy<T>(
  items: readonly T[],
  key: (item: T) => string | undefined,
  ctx: z.RefinementCtx,
  describe: (item: T, first: number) => string,
  field?: string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else ctx.addIssue({ code: 'custom', message: describe(item, first), path: field === undefined ? [i] : [i, field] });
  });
}

export interface RecordRule {
  readonly maxEntries?: number;
  /** Returns a message when a key is malformed; reported at the key. */
  readonly key?: (k: string) => string | undefined;
}

export function record<T extends z.ZodType>(value: T, rule: RecordRule = {}) {
  return z.record(z.string(), value, { error: collectionError('a mapping') }).superRefine((rec, ctx) => {
    const keys = Object.keys(rec);
    if (rule.maxEntries !== undefined && keys.length > rule.maxEntries) {
      ctx.addIssue({ code: 'custom', message: `expected at most ${rule.maxEntries} entries, got ${keys.length}`, path: [] });
    }
    if (rule.key === undefined) return;
    for (const k of keys) {
      const message = rule.key(k);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message, path: [k], params: AT_KEY });
    }
  });
}

/**
 * A mapping that rejects keys outside `shape`. The catch-all leaf fails for every extra key so
 * each gets its own issue, located at the key, carrying the known keys for "did you mean".
 */
export function strict<S extends z.ZodRawShape>(shape: S) {
  const params: UnknownFieldParams = { unknownField: Object.keys(shape) };
  return z.object(shape, { error: collectionError('a mapping') }).catchall(z.custom<never>(() => false, { params }));
}

/** `o` without its undefined entries, so optional fields are absent rather than present and undefined. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Accepted without checks: fields windrose never reads, such as those the API server writes. */
export const ignored = z.unknown().optional();
