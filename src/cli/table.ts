/**
 * `--output table`, after the AWS CLI's table formatter: a titled box; a structure's scalars as a
 * header row of member names over a row of values; a list of structures as one table with a
 * column per scalar member; nested structures and lists as titled sections indented inside their
 * parent with one more `|` on each side.
 */
type Row = string[];

interface Section {
  title: string;
  headers: Row | undefined;
  rows: Row[];
  children: Section[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonScalar = (v: unknown): boolean => typeof v === 'object' && v !== null;

function cell(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return '';
  return String(v);
}

function build(title: string, value: unknown): Section {
  const section: Section = { title, headers: undefined, rows: [], children: [] };
  if (Array.isArray(value)) {
    const objects = value.filter(isObject);
    const scalars = value.filter((v) => !isNonScalar(v));
    if (scalars.length) section.rows.push(...scalars.map((s) => [cell(s)]));
    if (objects.length) {
      const keys = [...new Set(objects.flatMap((o) => Object.keys(o).filter((k) => !isNonScalar(o[k]))))];
      if (keys.length) {
        section.headers = keys;
        section.rows.push(...objects.map((o) => keys.map((k) => cell(o[k]))));
      }
      for (const o of objects) {
        for (const [k, v] of Object.entries(o)) if (isNonScalar(v) && !isEmpty(v)) section.children.push(build(k, v));
      }
    }
    for (const v of value.filter(Array.isArray)) {
      // A list of scalar lists (what `--query 'X[].[A,B]'` gives) is a table of rows, not nested boxes.
      if (v.every((e) => !isNonScalar(e))) section.rows.push(v.map(cell));
      else section.children.push(build(title, v));
    }
  } else if (isObject(value)) {
    const keys = Object.keys(value).filter((k) => !isNonScalar(value[k]));
    if (keys.length) {
      section.headers = keys;
      section.rows.push(keys.map((k) => cell(value[k])));
    }
    for (const [k, v] of Object.entries(value)) if (isNonScalar(v) && !isEmpty(v)) section.children.push(build(k, v));
  } else {
    section.rows.push([cell(value)]);
  }
  return section;
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0;
}

/** Width of the section's content (without its borders). */
function innerWidth(s: Section): number {
  const columns = Math.max(s.headers?.length ?? 0, ...s.rows.map((r) => r.length), 0);
  const widths = columnWidths(s, columns);
  const rowWidth = columns ? widths.reduce((a, b) => a + b + 3, 0) - 1 : 0;
  const childWidth = Math.max(0, ...s.children.map((c) => innerWidth(c) + 2));
  return Math.max(rowWidth, s.title.length + 2, childWidth);
}

function columnWidths(s: Section, columns: number): number[] {
  const widths: number[] = [];
  for (let i = 0; i < columns; i++) {
    widths.push(Math.max(s.headers?.[i]?.length ?? 0, ...s.rows.map((r) => r[i]?.length ?? 0)));
  }
  return widths;
}

function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(Math.max(0, left)) + text + ' '.repeat(Math.max(0, width - text.length - left));
}

function render(s: Section, width: number): string[] {
  const lines: string[] = [];
  lines.push(`+${'-'.repeat(width)}+`);
  lines.push(`|${center(s.title, width)}|`);
  const columns = Math.max(s.headers?.length ?? 0, ...s.rows.map((r) => r.length), 0);
  if (columns) {
    const widths = columnWidths(s, columns);
    // Spread the slack over the columns so every row spans the full width.
    const natural = widths.reduce((a, b) => a + b + 3, 0) - 1;
    let slack = width - natural;
    for (let i = 0; slack > 0; i = (i + 1) % columns, slack--) widths[i]! += 1;
    const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
    const line = (r: Row): string => `|${widths.map((w, i) => ` ${(r[i] ?? '').padEnd(w)} `).join('|')}|`;
    lines.push(sep);
    if (s.headers) {
      lines.push(`|${widths.map((w, i) => ` ${center(s.headers![i] ?? '', w)} `).join('|')}|`);
      lines.push(sep);
    }
    for (const r of s.rows) lines.push(line(r));
  }
  for (const child of s.children) for (const l of render(child, width - 2)) lines.push(`|${l}|`);
  lines.push(`+${'-'.repeat(width)}+`);
  return lines;
}

export function formatTable(value: unknown, title: string): string {
  if (isEmpty(value)) return '';
  const root = build(title, value);
  return `${render(root, innerWidth(root)).join('\n')}\n`;
}
