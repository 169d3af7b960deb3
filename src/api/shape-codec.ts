/**
 * Request validation and response serialization driven by the DMS service model.
 *
 * `decodeInput` checks a parsed JSON body against an operation's input shape (required members,
 * types, enums, lengths, patterns) and converts timestamps to Date and blobs to Buffer. Every
 * failure names the member path, e.g. `Filters[0].Values`, so the caller knows what to fix.
 *
 * `encodeOutput` writes a handler's result through the output shape: members the shape does not
 * declare are dropped and sensitive members (passwords) never leave, whatever a handler returned.
 */
import { getShape, type Shape } from '../model/api-model.js';
import { invalidParameter } from '../model/faults.js';

type Json = unknown;

/**
 * Enum values the service documents but the model's enum lacks. The model's SourceType lists only
 * `replication-instance` while its own documentation (and the service) accept `replication-task`.
 */
const EXTRA_ENUM_VALUES: Record<string, string[]> = {
  SourceType: ['replication-task'],
};

function typeName(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'structure' : typeof value;
}

function fail(path: string, problem: string): never {
  throw invalidParameter(`Invalid value for parameter ${path}: ${problem}`);
}

export function decodeInput(shapeName: string, value: Json): Record<string, unknown> {
  if (value === undefined || value === null) value = {};
  if (typeName(value) !== 'structure') fail('(request body)', 'the request body must be a JSON object');
  return decodeValue(shapeName, value, '') as Record<string, unknown>;
}

function decodeValue(shapeName: string, value: Json, path: string): unknown {
  const shape = getShape(shapeName);
  switch (shape.type) {
    case 'structure': {
      if (typeName(value) !== 'structure') fail(path, `expected an object, got ${typeName(value)}`);
      const obj = value as Record<string, Json>;
      const out: Record<string, unknown> = {};
      for (const req of shape.required ?? []) {
        if (obj[req] === undefined || obj[req] === null) {
          throw invalidParameter(`The request must contain the parameter ${join(path, req)}.`);
        }
      }
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const v = obj[name];
        if (v === undefined || v === null) continue;
        out[name] = decodeValue(ref.shape, v, join(path, name));
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) fail(path, `expected a list, got ${typeName(value)}`);
      checkLength(shape, value.length, path, 'items');
      const member = shape.member!.shape;
      return value.map((v, i) => decodeValue(member, v, `${path}[${i}]`));
    }
    case 'map': {
      if (typeName(value) !== 'structure') fail(path, `expected a map, got ${typeName(value)}`);
      const valueShape = shape.value!.shape;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, Json>)) {
        out[k] = decodeValue(valueShape, v, `${path}.${k}`);
      }
      return out;
    }
    case 'string': {
      if (typeof value !== 'string') fail(path, `expected a string, got ${typeName(value)}`);
      checkLength(shape, value.length, path, 'characters');
      if (shape.enum && !shape.enum.includes(value)) {
        const allowed = [...shape.enum, ...(EXTRA_ENUM_VALUES[shapeName] ?? [])];
        if (!allowed.includes(value)) fail(path, `"${value}" is not one of ${allowed.join(', ')}`);
      }
      if (shape.pattern && !new RegExp(shape.pattern, 'u').test(value)) {
        fail(path, `"${value}" does not match the pattern ${shape.pattern}`);
      }
      return value;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, `expected an integer, got ${JSON.stringify(value)}`);
      if (shape.min !== undefined && value < shape.min) fail(path, `must be at least ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) fail(path, `must be at most ${shape.max}`);
      return value;
    }
    case 'double': {
      if (typeof value !== 'number') fail(path, `expected a number, got ${typeName(value)}`);
      return value;
    }
    case 'boolean': {
      if (typeof value !== 'boolean') fail(path, `expected true or false, got ${JSON.stringify(value)}`);
      return value;
    }
    case 'timestamp': {
      const date =
        typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? parseTimestamp(value) : null;
      if (!date || Number.isNaN(date.getTime())) fail(path, `expected a timestamp (epoch seconds or ISO 8601), got ${JSON.stringify(value)}`);
      return date;
    }
    case 'blob': {
      if (typeof value !== 'string') fail(path, 'expected a base64 string');
      return Buffer.from(value, 'base64');
    }
  }
}

function parseTimestamp(text: string): Date {
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  // ISO 8601 without a zone is UTC in AWS APIs ("2018-03-08T12:12:12").
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
  return new Date(withZone);
}

function checkLength(shape: Shape, length: number, path: string, unit: string): void {
  if (shape.min !== undefined && length < shape.min) fail(path, `must have at least ${shape.min} ${unit}`);
  if (shape.max !== undefined && length > shape.max) fail(path, `must have at most ${shape.max} ${unit}`);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function encodeOutput(shapeName: string | undefined, value: unknown): Record<string, unknown> {
  if (!shapeName || value === undefined || value === null) return {};
  return (encodeValue(getShape(shapeName), value) ?? {}) as Record<string, unknown>;
}

function encodeValue(shape: Shape, value: unknown): unknown {
  if (value === undefined || value === null || shape.sensitive) return undefined;
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object') return undefined;
      const obj = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const encoded = encodeValue(getShape(ref.shape), obj[name]);
        if (encoded !== undefined) out[name] = encoded;
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) return undefined;
      const member = getShape(shape.member!.shape);
      return value.map((v) => encodeValue(member, v)).filter((v) => v !== undefined);
    }
    case 'map': {
      const valueShape = getShape(shape.value!.shape);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const encoded = encodeValue(valueShape, v);
        if (encoded !== undefined) out[k] = encoded;
      }
      return out;
    }
    case 'timestamp':
      return toEpochSeconds(value);
    case 'blob':
      return Buffer.isBuffer(value) ? value.toString('base64') : String(value);
    case 'integer':
    case 'long':
    case 'double':
      return typeof value === 'number' ? value : Number(value);
    case 'boolean':
      return Boolean(value);
    case 'string':
      return String(value);
  }
}

/** AWS JSON 1.1 timestamps are epoch seconds with a fraction (e.g. 1590524772.505). */
export function toEpochSeconds(value: unknown): number | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : typeof value === 'number' ? new Date(value * 1000) : null;
  if (!date || Number.isNaN(date.getTime())) return undefined;
  return date.getTime() / 1000;
}
