// Command-line handling shared by the benchmark scripts: flags, --help, and failing with a message.
import { parseArgs } from 'node:util';

export const log = (msg) => process.stderr.write(`${msg}\n`);

/** Exits with `msg` on stderr: 2 for a wrong command line (the default), 1 for a missing tool or build. */
export function fail(msg, code = 2) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}

/**
 * Parses `options` (node:util parseArgs; -h/--help is added and prints `usage`) and returns the
 * values with two checked readers: `int(name, min, max)` and `list(name, known)` for a
 * comma-separated subset of `known`.
 */
export function parseBenchArgs(options, usage) {
  let values;
  try {
    ({ values } = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${err.message}\n\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const int = (name, min, max) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min || v > max) fail(`--${name} must be an integer in [${min}, ${max}]`);
    return v;
  };
  const list = (name, known) => {
    const items = values[name].split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = items.filter((s) => !known.includes(s));
    if (unknown.length || items.length === 0) fail(`--${name}: unknown ${unknown.join(', ') || '(none given)'}; known: ${known.join(', ')}`);
    return items;
  };
  return { values, int, list };
}
