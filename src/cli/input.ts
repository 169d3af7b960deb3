/**
 * Turns command-line values into the typed input the SDK sends, following the model: integers,
 * booleans, timestamps (ISO 8601 or epoch seconds), blobs (base64 or fileb://), and lists,
 * structures and maps given as JSON or AWS CLI shorthand. Any value may be `file://path` (text) or
 * `fileb://path` (bytes). Every error names the option (and the path inside it) and the form
 * expected, because that is what a user needs to fix the command.
 */
import { readFileSync } from 'node:fs';
import { getShape, type Shape } from '../model/api-model.js';
import { UsageError } from './errors.js';
import { parseShorthand, ShorthandParseError } from './shorthand.js';

export type RawOption = string | string[] | boolean;

/** Complex shapes take JSON or shorthand; scalars and lists of scalars never do (as in the AWS CLI). */
export function isComplex(shape: Shape): boolean {
  if (shape.type === 'structure' || shape.type === 'map') return true;
  return shape.type === 'list' && isComplex(getShape(shape.member!.shape));
}

/** Reads `file://` / `fileb://` values; other values pass through unchanged. */
export function loadValue(raw: string, where: string): string | Buffer {
  const m = /^(fileb?):\/\/(.+)$/s.exec(raw);
  if (!m) return raw;
  try {
    return m[1] === 'fileb' ? readFileSync(m[2]!) : readFileSync(m[2]!, 'utf8');
  } catch (err) {
    throw new UsageError(`${where}: cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Converts one option's raw value(s) to the member's type. */
export function convertOption(raw: RawOption, shapeName: string, option: string): unknown {
  const shape = getShape(shapeName);
  if (typeof raw === 'boolean') {
    if (shape.type !== 'boolean') throw new UsageError(`${option}: expected a value`);
    return raw;
  }
  const values = (Array.isArray(raw) ? raw : [raw]).map((v) => loadValue(v, option));
  if (shape.type === 'list') {
    const first = values[0];
    if (values.length === 1 && typeof first === 'string' && first.trim().startsWith('[')) {
      return coerce(parseJson(first, option), shapeName, option, false);
    }
    const member = getShape(shape.member!.shape);
    const elements = values.map((v) => (isComplex(member) ? parseComplex(asText(v, option), option) : v));
    return elements.map((e, i) => coerce(e, shape.member!.shape, `${option}[${i}]`, true));
  }
  if (values.length !== 1) throw new UsageError(`${option}: expected one value, got ${values.length}`);
  const value = values[0]!;
  if (isComplex(shape)) return coerce(parseComplex(asText(value, option), option), shapeName, option, true);
  return coerce(value, shapeName, option, true);
}

function asText(v: string | Buffer, option: string): string {
  if (typeof v !== 'string') throw new UsageError(`${option}: use file:// (text), not fileb://, for this option`);
  return v;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where}: invalid JSON: ${(err as Error).message}`);
  }
}

function parseComplex(text: string, where: string): unknown {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) return parseJson(t, where);
  try {
    return parseShorthand(t);
  } catch (err) {
    if (err instanceof ShorthandParseError) {
      throw new UsageError(`${where}: expected JSON or shorthand (Key=value,Key2=value2): ${err.message}`);
    }
    throw err;
  }
}

/** Parses `--cli-input-json` (JSON text or file://) into the operation's input shape. */
export function convertCliInputJson(raw: string, inputShape: string): Record<string, unknown> {
  const text = asText(loadValue(raw, '--cli-input-json'), '--cli-input-json');
  const value = parseJson(text, '--cli-input-json');
  if (!isPlainObject(value)) throw new UsageError('--cli-input-json: expected a JSON object of the operation\'s input members');
  return coerce(value, inputShape, '--cli-input-json', false) as Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Buffer.isBuffer(v) ? '<bytes>' : JSON.stringify(v);
}

/**
 * Coerces a parsed value to a shape. `lenient` (shorthand and plain option text) lets strings
 * stand for numbers, booleans and single-element lists; JSON must already have the right types.
 */
export function coerce(value: unknown, shapeName: string, path: string, lenient: boolean): unknown {
  const shape = getShape(shapeName);
  switch (shape.type) {
    case 'structure': {
      if (!isPlainObject(value)) throw new UsageError(`${path}: expected a structure (JSON object or Key=value shorthand), got ${show(value)}`);
      const members = shape.members ?? {};
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const ref = members[k];
        if (!ref) throw new UsageError(`Unknown parameter in ${path}: "${k}", must be one of: ${Object.keys(members).join(', ')}`);
        out[k] = coerce(v, ref.shape, `${path}.${k}`, lenient);
      }
      for (const req of shape.required ?? []) {
        if (out[req] === undefined) throw new UsageError(`Missing required parameter in ${path}: "${req}"`);
      }
      return out;
    }
    case 'map': {
      if (!isPlainObject(value)) throw new UsageError(`${path}: expected a map (JSON object or key=value shorthand), got ${show(value)}`);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerce(v, shape.value!.shape, `${path}.${k}`, lenient)]));
    }
    case 'list': {
      const list = Array.isArray(value) ? value : lenient ? [value] : undefined;
      if (!list) throw new UsageError(`${path}: expected a list (JSON array), got ${show(value)}`);
      return list.map((v, i) => coerce(v, shape.member!.shape, `${path}[${i}]`, lenient));
    }
    case 'string':
      if (typeof value !== 'string') throw new UsageError(`${path}: expected a string, got ${show(value)}`);
      return value;
    case 'integer':
    case 'long': {
      const n = typeof value === 'number' ? value : lenient && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) throw new UsageError(`${path}: expected an integer (like 20), got ${show(value)}`);
      return n;
    }
    case 'double': {
      const n = typeof value === 'number' ? value : lenient && typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw new UsageError(`${path}: expected a number (like 1.5), got ${show(value)}`);
      return n;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (lenient && typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      throw new UsageError(`${path}: expected a boolean (true or false), got ${show(value)}`);
    }
    case 'timestamp':
      return toDate(value, path);
    case 'blob':
      if (Buffer.isBuffer(value)) return value;
      if (typeof value === 'string') return Buffer.from(value, 'base64');
      throw new UsageError(`${path}: expected base64 text or fileb://path, got ${show(value)}`);
  }
}

/** ISO 8601 (`2026-01-31T12:00:00Z`, `2026-01-31`) or epoch seconds (`1769860800`). */
export function toDate(value: unknown, path: string): Date {
  let d: Date | undefined;
  if (typeof value === 'number') d = new Date(value * 1000);
  else if (typeof value === 'string') {
    const t = value.trim();
    d = /^\d+(\.\d+)?$/.test(t) ? new Date(Number(t) * 1000) : /^\d{4}-\d{2}-\d{2}/.test(t) ? new Date(t) : undefined;
  }
  if (!d || Number.isNaN(d.getTime())) {
    throw new UsageError(`${path}: expected a timestamp as ISO 8601 (2026-01-31T12:00:00Z) or epoch seconds (1769860800), got ${show(value)}`);
  }
  return d;
}
