/**
 * `--output table`: a port of the AWS CLI's table formatter (awscli/formatter.py TableFormatter and
 * awscli/table.py MultiTable, Apache-2.0) so tables look as they do with `aws`: a section per
 * structure or list, scalar members as sorted columns, nested members as indented sections, and
 * sections with a single row turned vertical (name | value) when the table is wider than the
 * terminal (80 columns when not a terminal).
 */
const isScalar = (v: unknown): boolean => typeof v !== 'object' || v === null;
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Python's str() for the values a JSON result holds. */
function str(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return String(v);
}

/** Python's falsiness, which decides when the AWS CLI skips a member. */
function falsy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isDict(v)) return Object.keys(v).length === 0;
  return !v;
}

/** Python 3 round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

class Section {
  title = '';
  headers: string[] = [];
  rows: string[][] = [];
  indent = 0;
  private numCols: number | undefined;
  private maxWidths: number[] = [];

  addHeader(headers: string[]): void {
    this.updateMaxWidths(headers);
    this.numCols ??= headers.length;
    this.headers = headers;
  }

  addRow(values: unknown[]): void {
    this.numCols ??= values.length;
    // The AWS CLI raises on ragged rows; pad or cut instead so one odd item does not lose the output.
    const row = Array.from({ length: this.numCols }, (_, i) => (i < values.length ? str(values[i]) : ''));
    this.rows.push(row);
    this.updateMaxWidths(row);
  }

  private updateMaxWidths(row: string[]): void {
    if (!this.maxWidths.length) this.maxWidths = row.map((e) => e.length);
    else row.forEach((e, i) => (this.maxWidths[i] = Math.max(e.length, this.maxWidths[i] ?? 0)));
  }

  columnWidths(padding = 0, maxWidth?: number): number[] {
    const unscaled = this.maxWidths.map((w) => w + padding);
    if (maxWidth === undefined || !unscaled.length) return unscaled;
    const scale = maxWidth / unscaled.reduce((a, b) => a + b, 0);
    const scaled = unscaled.map((w) => roundHalfEven(scale * w));
    let offBy = scaled.reduce((a, b) => a + b, 0) - maxWidth;
    while (offBy !== 0) {
      const order = scaled.map((_, i) => i);
      if (offBy < 0) order.reverse();
      for (const i of order) {
        if (offBy > 0) {
          scaled[i]! -= 1;
          offBy -= 1;
        } else {
          scaled[i]! += 1;
          offBy += 1;
        }
        if (offBy === 0) break;
      }
    }
    return scaled;
  }

  totalWidth(padding: number, outerPadding: number): number {
    const columns = this.columnWidths().reduce((a, w) => a + w + padding, 0) + 2 + 2 * outerPadding;
    return Math.max(this.title.length + 2 + 2 * outerPadding, columns);
  }
}

function centerText(text: string, length: number, left: string, right: string): string {
  const start = Math.floor(length / 2) - Math.floor(text.length / 2) - 1;
  const head = left + ' '.repeat(Math.max(0, start)) + text;
  const soFar = left.length + start + text.length;
  return head + ' '.repeat(Math.max(0, length - right.length - soFar)) + right;
}

function alignLeft(text: string, length: number, left: string, right: string): string {
  const padding = length - (text.length + 2 + left.length + right.length) >= 0 ? 2 : 0;
  const soFar = left.length + padding + text.length;
  return left + ' '.repeat(padding) + text + ' '.repeat(Math.max(0, length - soFar - right.length)) + right;
}

function lineBreak(widths: number[]): string {
  return widths.map((w, i) => (i === 0 ? `+${'-'.repeat(w - 2)}+` : `${'-'.repeat(w - 1)}+`)).join('');
}

class TableBuilder {
  sections: Section[] = [];
  private current: Section | undefined;

  private newSection(title: string, indent: number): void {
    this.current = new Section();
    this.current.title = title;
    this.current.indent = indent;
    this.sections.push(this.current);
  }

  private section(): Section {
    if (!this.current) this.newSection('', 0);
    return this.current!;
  }

  build(title: string | undefined, value: unknown, indent = 0): boolean {
    if (falsy(value)) return false;
    if (title !== undefined) this.newSection(title, indent);
    if (Array.isArray(value)) {
      if (isDict(value[0])) this.fromList(value.filter(isDict), indent, title ?? '');
      else {
        for (const item of value) {
          if (isScalar(item)) this.section().addRow([item]);
          else if (Array.isArray(item) && item.every(isScalar)) this.section().addRow(item);
          else this.build(undefined, item);
        }
      }
    }
    if (isDict(value)) this.fromDict(value, indent);
    return true;
  }

  private fromDict(value: Record<string, unknown>, indent: number): void {
    const [headers, more] = groupKeys(value);
    if (headers.length === 1) this.section().addRow([headers[0], value[headers[0]!]]);
    else if (headers.length) {
      this.section().addHeader(headers);
      this.section().addRow(headers.map((k) => value[k]));
    }
    for (const k of more) this.build(k, value[k], indent + 1);
  }

  private fromList(items: Record<string, unknown>[], indent: number, title: string): void {
    const headers = new Set<string>();
    const more = new Set<string>();
    for (const item of items) {
      const [h, m] = groupKeys(item);
      h.forEach((k) => headers.add(k));
      m.forEach((k) => more.add(k));
    }
    const cols = [...headers].sort();
    const nested = [...more].sort();
    this.section().addHeader(cols);
    items.forEach((item, n) => {
      if (n > 0 && nested.length) {
        this.newSection(title, indent);
        this.section().addHeader(cols);
      }
      this.section().addRow(cols.map((k) => (Object.hasOwn(item, k) ? item[k] : '')));
      for (const k of nested) if (Object.hasOwn(item, k)) this.build(k, item[k], indent + 1);
    });
  }
}

function groupKeys(value: Record<string, unknown>): [string[], string[]] {
  const keys = Object.keys(value);
  return [keys.filter((k) => isScalar(value[k])).sort(), keys.filter((k) => !isScalar(value[k])).sort()];
}

function toVertical(sections: Section[]): Section[] {
  return sections.map((s) => {
    if (s.rows.length !== 1 || !s.headers.length) return s;
    const v = new Section();
    v.title = s.title;
    v.indent = s.indent;
    s.headers.forEach((h, i) => v.addRow([h, s.rows[0]![i]]));
    return v;
  });
}

function renderSection(s: Section, maxWidth: number, out: string[]): void {
  const bar = '|'.repeat(s.indent);
  const write = (line: string): number => out.push(bar + line + bar);
  const width = maxWidth - s.indent * 2;
  if (s.title) {
    write(centerText(s.title, width, '|', '|'));
    if (!s.headers.length && !s.rows.length) write(`+${'-'.repeat(width - 2)}+`);
  }
  if (s.headers.length) {
    const widths = s.columnWidths(4, width);
    write(lineBreak(widths));
    write(s.headers.map((h, i) => centerText(h, widths[i]!, i === 0 ? '|' : '', '|')).join(''));
  }
  if (s.rows.length) {
    const widths = s.columnWidths(4, width);
    if (!widths.length) return;
    write(lineBreak(widths));
    for (const row of s.rows) write(widths.map((w, i) => alignLeft(row[i] ?? '', w, i === 0 ? '|' : '', '|')).join(''));
    write(lineBreak(widths));
  }
}

export function formatTable(value: unknown, title: string, terminalWidth = 80): string {
  const builder = new TableBuilder();
  if (!builder.build(title, value)) return '';
  let sections = builder.sections;
  const widthOf = (all: Section[]): number => Math.max(...all.map((s) => s.totalWidth(4, s.indent)));
  let maxWidth = widthOf(sections);
  if (maxWidth > terminalWidth) {
    sections = toVertical(sections);
    maxWidth = widthOf(sections);
  }
  const out = ['-'.repeat(maxWidth)];
  for (const s of sections) renderSection(s, maxWidth, out);
  return `${out.join('\n')}\n`;
}
