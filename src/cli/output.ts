/**
 * Formats results like the AWS CLI: `json` (4-space indent), `text` (awscli/text.py: tab
 * separated, one line per structure, nested lists prefixed by their key in upper case) and
 * `table` (see table.ts). SDK results are first made plain JSON: `$metadata` dropped, timestamps
 * as ISO 8601 with an explicit offset (what `aws` prints), blobs as base64.
 */
import { formatTable } from './table.js';

export type OutputFormat = 'json' | 'text' | 'table';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'text', 'table'];

export function toPlain(value: unknown): unknown {
  if (value instanceof Date) return isoTimestamp(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$metadata' || v === undefined) continue;
      out[k] = toPlain(v);
    }
    return out;
  }
  return value;
}

/** `2026-11-25T14:35:17.123000+00:00`, as botocore renders a UTC datetime. */
export function isoTimestamp(d: Date): string {
  const iso = d.toISOString(); // 2026-11-25T14:35:17.123Z
  const ms = iso.slice(20, 23);
  return `${iso.slice(0, 19)}${ms === '000' ? '' : `.${ms}000`}+00:00`;
}

/** `terminalWidth` matters to tables only: wider ones turn vertical, as with `aws`. */
export function formatOutput(value: unknown, format: OutputFormat, title: string, terminalWidth = 80): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(value, null, 4)}\n`;
    case 'text':
      return formatText(value);
    case 'table':
      return formatTable(value, title, terminalWidth);
  }
}

function scalarText(v: unknown): string {
  // Python's str(): the AWS CLI prints True/False/None.
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return String(v);
}

const isNonScalar = (v: unknown): boolean => typeof v === 'object' && v !== null;

export function formatText(value: unknown): string {
  const lines: string[] = [];
  textItem(value, lines, undefined, undefined);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function textItem(item: unknown, out: string[], identifier: string | undefined, scalarKeys: string[] | undefined): void {
  if (Array.isArray(item)) textList(item, out, identifier);
  else if (isNonScalar(item)) textDict(item as Record<string, unknown>, out, identifier, scalarKeys);
  else out.push(scalarText(item));
}

function textList(items: unknown[], out: string[], identifier: string | undefined): void {
  if (!items.length) return;
  if (items.some((e) => isNonScalar(e) && !Array.isArray(e))) {
    const keys = new Set<string>();
    for (const e of items) {
      if (isNonScalar(e) && !Array.isArray(e)) for (const [k, v] of Object.entries(e as object)) if (!isNonScalar(v)) keys.add(k);
    }
    const all = [...keys].sort();
    for (const e of items) textItem(e, out, identifier, all);
    return;
  }
  const scalars = items.filter((e) => !isNonScalar(e));
  if (scalars.length) {
    if (identifier !== undefined) for (const s of scalars) out.push(`${identifier.toUpperCase()}\t${scalarText(s)}`);
    else out.push(scalars.map(scalarText).join('\t'));
  }
  for (const e of items.filter(isNonScalar)) textItem(e, out, identifier, undefined);
}

function textDict(item: Record<string, unknown>, out: string[], identifier: string | undefined, scalarKeys: string[] | undefined): void {
  const scalars: string[] = [];
  const nested: [string, unknown][] = [];
  if (scalarKeys === undefined) {
    for (const k of Object.keys(item).sort()) {
      if (isNonScalar(item[k])) nested.push([k, item[k]]);
      else scalars.push(scalarText(item[k]));
    }
  } else {
    for (const k of scalarKeys) scalars.push(Object.hasOwn(item, k) ? scalarText(item[k]) : ''); // a member this item lacks is blank
    for (const k of Object.keys(item).filter((k) => !scalarKeys.includes(k)).sort()) nested.push([k, item[k]]);
  }
  if (scalars.length) out.push((identifier !== undefined ? [identifier.toUpperCase(), ...scalars] : scalars).join('\t'));
  for (const [k, v] of nested) textItem(v, out, k, undefined);
}
