//! Reads resources from YAML/JSON files and validates them, locating every problem at line:column.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments, type YAMLError } from 'yaml';
import type { ConfigDocument } from '../mesh/protocol.js';
import type { ConfigError, Resource, SourcePosition } from './resources.js';
import { checkDocument } from './schema/document.js';
import type { Path, Problem } from './schema/issues.js';
import { KINDS } from './schema/kinds.js';
import { unknownFieldMessage } from './schema/suggest.js';
import { isMapping } from '../mapping.js';

export interface LoadResult {
  resources: Resource[];
  errors: ConfigError[];
  warnings: ConfigError[];
  /** Files read, in the order their resources appear. */
  files: string[];
}

const CONFIG_FILE_RE = /\.(ya?ml|json)$/i;

/** Loads a file, or every .yaml/.yml/.json file under a directory (recursively, sorted by path). */
export async function loadConfig(path: string): Promise<LoadResult> {
  const loader = new Loader();
  let files: string[];
  try {
    files = await configFiles(path);
  } catch (err) {
    loader.unreadable(path, err);
    return loader.result();
  }
  if (files.length === 0) loader.warn(path, 'no .yaml, .yml or .json files found');
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      loader.unreadable(file, err);
      continue;
    }
    loader.addText(text, file);
  }
  return loader.result();
}

/** Parses and validates one file's text; `file` is only used to report positions. */
export function parseConfigText(text: string, file: string): LoadResult {
  const loader = new Loader();
  loader.addText(text, file);
  return loader.result();
}

/**
 * Parses and validates documents cut from larger files (a mesh proxy's config from the control
 * plane), exactly as loadConfig would have read those files: problems name each document's own
 * file and the line it has there.
 */
export function parseDocuments(docs: readonly ConfigDocument[]): LoadResult {
  const loader = new Loader();
  for (const doc of docs) loader.addText(doc.text, doc.file, doc.line);
  return loader.result();
}

async function configFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const found: string[] = [];
  await collect(path, '', found, new Set());
  return found.sort().map((rel) => join(path, rel));
}

async function collect(root: string, rel: string, found: string[], visited: Set<string>): Promise<void> {
  const dir = join(root, rel);
  // Symlinked directories may loop back on themselves; visit each real directory once.
  const real = await realpath(dir);
  if (visited.has(real)) return;
  visited.add(real);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // Hidden entries include editor swap files and the "..data" links of mounted ConfigMaps.
    if (entry.name.startsWith('.')) continue;
    const child = rel === '' ? entry.name : join(rel, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await isDirectory(join(root, child))));
    if (isDir) await collect(root, child, found, visited);
    else if (CONFIG_FILE_RE.test(entry.name)) found.push(child);
  }
}

/** A broken symlink is not a directory; reading it as a file then reports why it cannot be read. */
const isDirectory = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);

/** "spec.rules[0].backendRefs[0].port", with keys that are not identifiers quoted: `data["tls.crt"]`. */
export function formatPath(path: Path): string {
  const segment = (seg: string | number, i: number) => {
    if (typeof seg === 'number') return `[${seg}]`;
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg) ? `${i === 0 ? '' : '.'}${seg}` : `[${JSON.stringify(seg)}]`;
  };
  return path.map(segment).join('');
}

/** Kubernetes treats a null field as an absent one (`creationTimestamp: null` in generated manifests). */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isMapping(v)) return v;
  return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, dropNulls(x)]])));
}

/** A parsed YAML document and the file it came from, able to turn a field path into a position. */
class Source {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
    /** Lines of the file before the parsed text, when the text was cut from it. */
    private readonly lineOffset: number,
  ) {}

  at(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line: line + this.lineOffset, column: col };
  }

  start(node: Node | null | undefined): number {
    return node?.range?.[0] ?? 0;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /**
   * The offset of `path` under `root`: a scalar value's own position, a collection's or a missing
   * value's key, or, when the path leaves the document, the nearest mapping or item that exists.
   */
  locate(root: Node, path: Path, atKey = false): number {
    let node: unknown = root;
    let offset = this.start(root);
    for (let i = 0; i < path.length; i++) {
      node = this.resolve(node);
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) return offset;
        const value = this.resolve(pair.value) as Node | null;
        const keyOffset = this.start(pair.key as Node);
        if (i === path.length - 1) {
          const describesKey = atKey || !isScalar(value) || value.value === null;
          return describesKey ? keyOffset : this.start(value);
        }
        node = value;
        offset = value?.range ? value.range[0] : keyOffset;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        offset = this.start(node as Node);
      } else {
        return offset;
      }
    }
    return offset;
  }

  /** The item node of a `kind: List` document, for locating within it. */
  item(root: Node, index: number): Node {
    const items = isMap(root) ? root.get('items', true) : undefined;
    const item = isSeq(items) ? this.resolve(items.items[index]) : undefined;
    return (item as Node | undefined) ?? root;
  }
}

function yamlMessage(e: YAMLError, prefix: string): string {
  // yaml's pretty messages end with the position and a source excerpt; positions are reported apart.
  const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return `${prefix}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

const LIST_FIELDS = ['apiVersion', 'kind', 'metadata', 'items'];

/** Problems found in one file so far, sorted by position once the file is done. */
interface FileProblems {
  readonly source: Source;
  readonly errors: ConfigError[];
  readonly warnings: ConfigError[];
}

/** Accumulates resources and problems over files, and catches duplicates across them. */
class Loader {
  private readonly resources: Resource[] = [];
  private readonly errors: ConfigError[] = [];
  private readonly warnings: ConfigError[] = [];
  private readonly files: string[] = [];
  private readonly firstSeen = new Map<string, SourcePosition>();

  result(): LoadResult {
    return { resources: this.resources, errors: this.errors, warnings: this.warnings, files: this.files };
  }

  unreadable(path: string, err: unknown): void {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    this.errors.push({ file: path, line: 1, column: 1, resource: '', field: '', message: `cannot read: ${reason}` });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ file: path, line: 1, column: 1, resource: '', field: '', message });
  }

  /** `firstLine`: where the text starts in `file`, when it is one part of it. */
  addText(text: string, file: string, firstLine = 1): void {
    if (!this.files.includes(file)) this.files.push(file);
    const errors: ConfigError[] = [];
    const warnings: ConfigError[] = [];
    const lines = new LineCounter();
    const docs = parseAllDocuments(text.replace(/^\uFEFF/, ''), { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: true });
    for (const doc of docs) {
      const source = new Source(file, lines, doc, firstLine - 1);
      const yamlIssue = (prefix: string) => (e: YAMLError): ConfigError => ({
        ...source.at(e.pos[0]),
        resource: '',
        field: '',
        message: yamlMessage(e, prefix),
      });
      errors.push(...doc.errors.map(yamlIssue('invalid YAML')));
      warnings.push(...doc.warnings.map(yamlIssue('YAML')));
      if (doc.errors.length > 0 || doc.contents === null) continue;
      let value: unknown;
      try {
        value = dropNulls(doc.toJS());
      } catch (err) {
        // toJS refuses alias bombs ("excessive alias count").
        errors.push({ ...source.at(source.start(doc.contents)), resource: '', field: '', message: `invalid YAML: ${(err as Error).message}` });
        continue;
      }
      this.addObject(value, doc.contents, { source, errors, warnings });
    }
    const byPosition = (a: ConfigError, b: ConfigError) => a.line - b.line || a.column - b.column;
    this.errors.push(...errors.sort(byPosition));
    this.warnings.push(...warnings.sort(byPosition));
  }

  private addObject(value: unknown, node: Node, file: FileProblems): void {
    const { source, errors, warnings } = file;
    const problemAt = (p: Problem, resource: string): ConfigError => ({
      ...source.at(source.locate(node, p.path, p.atKey)),
      resource,
      field: formatPath(p.path),
      message: p.message,
    });
    if (isMapping(value) && Array.isArray(value.items) && typeof value.kind === 'string' && value.kind.endsWith('List')) {
      for (const field of Object.keys(value)) {
        if (!LIST_FIELDS.includes(field)) errors.push(problemAt({ path: [field], message: unknownFieldMessage(field, LIST_FIELDS), atKey: true }, ''));
      }
      this.addListItems(value, value.items, node, file);
      return;
    }
    const outcome = checkDocument(value);
    if (outcome.status === 'skipped') {
      warnings.push(problemAt(outcome.warning, ''));
      return;
    }
    if (outcome.status === 'invalid') {
      errors.push(...outcome.problems.map((p) => problemAt(p, outcome.label)));
      return;
    }
    warnings.push(...outcome.warnings.map((p) => problemAt(p, outcome.label)));
    const { data, label } = outcome;
    const topLevel = KINDS[data.kind].specAtTopLevel;
    const resource = {
      ...data,
      source: source.at(source.start(node)),
      // EndpointSlice and Secret keep `spec` fields at the top level of the document.
      locate: (path: readonly (string | number)[]) => source.at(source.locate(node, topLevel && path[0] === 'spec' ? path.slice(1) : path)),
    } as Resource;
    const key = JSON.stringify([data.kind, data.metadata.namespace ?? '', data.metadata.name]);
    const first = this.firstSeen.get(key);
    if (first !== undefined) {
      const where = `${first.file}:${first.line}:${first.column}`;
      errors.push(problemAt({ path: ['metadata', 'name'], message: `duplicate resource, first defined at ${where}` }, label));
      return;
    }
    this.firstSeen.set(key, resource.source);
    this.resources.push(resource);
  }

  /** `kind: List` (kubectl get -o yaml) or a typed list such as HTTPRouteList, whose items may omit apiVersion and kind. */
  private addListItems(list: Record<string, unknown>, items: unknown[], node: Node, file: FileProblems): void {
    const itemKind = list.kind === 'List' ? undefined : (list.kind as string).slice(0, -'List'.length);
    items.forEach((item, i) => {
      const filled = itemKind !== undefined && isMapping(item) ? { apiVersion: list.apiVersion, kind: itemKind, ...item } : item;
      this.addObject(filled, file.source.item(node, i), file);
    });
  }
}
