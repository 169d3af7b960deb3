/**
 * The AWS CLI shorthand syntax, parsed into plain strings, lists and objects (typing against the
 * model happens afterwards in `input.ts`):
 *
 *   Name=replication-task-arn,Values=arn1,arn2   -> {Name: 'replication-task-arn', Values: ['arn1', 'arn2']}
 *   Key=k,Value=v                                -> {Key: 'k', Value: 'v'}
 *   a={b=c,d=[e,f]},g='x,y'                      -> {a: {b: 'c', d: ['e', 'f']}, g: 'x,y'}
 *
 * Grammar (from awscli/shorthand.py): parameter = keyval *("," keyval); keyval = key "=" values;
 * values = csv-value / "[" list "]" / "{" parameter "}"; after a comma, text that looks like
 * `key=` starts a new keyval, anything else is one more value of the current csv list. Values can
 * be quoted ('...' or "...") or use backslash escapes to contain , = [ ] { }.
 */
export type ShorthandValue = string | ShorthandValue[] | { [key: string]: ShorthandValue };

export class ShorthandParseError extends Error {
  override name = 'ShorthandParseError';
  constructor(
    message: string,
    readonly input: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}: ${input.slice(0, position)}<here>${input.slice(position)}`);
  }
}

const KEY_CHAR = /[A-Za-z0-9_\-.#/:]/;

export function parseShorthand(input: string): Record<string, ShorthandValue> {
  const p = new Parser(input);
  const result = p.parameter(undefined);
  p.skipSpace();
  if (!p.atEnd()) throw p.error(`unexpected "${input[p.pos]}"`);
  return result;
}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  error(message: string): ShorthandParseError {
    return new ShorthandParseError(message, this.s, this.pos);
  }

  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  /** keyval *("," keyval), ending at the end of input or at `closer`. */
  parameter(closer: string | undefined): Record<string, ShorthandValue> {
    const out: Record<string, ShorthandValue> = {};
    for (;;) {
      this.skipSpace();
      const key = this.key();
      if (Object.hasOwn(out, key)) throw this.error(`key "${key}" given twice`);
      out[key] = this.values(closer);
      this.skipSpace();
      if (this.atEnd() || this.s[this.pos] === closer) return out;
      if (this.s[this.pos] !== ',') throw this.error(`expected "," or the end`);
      this.pos++;
    }
  }

  key(): string {
    const start = this.pos;
    while (!this.atEnd() && KEY_CHAR.test(this.s[this.pos]!)) this.pos++;
    const key = this.s.slice(start, this.pos);
    if (!key) throw this.error('expected a key (like Name=value)');
    this.skipSpace();
    if (this.s[this.pos] !== '=') throw this.error(`expected "=" after "${key}"`);
    this.pos++;
    return key;
  }

  /** What follows `key=`: a hash, an explicit list, or one or more comma-separated values. */
  values(closer: string | undefined): ShorthandValue {
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === '{') return this.hash();
    if (c === '[') return this.list();
    const values: string[] = [this.value(closer)];
    // A comma followed by `key=` belongs to the enclosing parameter; otherwise it adds a value.
    while (this.s[this.pos] === ',' && !this.nextIsKeyval(this.pos + 1)) {
      this.pos++;
      values.push(this.value(closer));
    }
    return values.length === 1 ? values[0]! : values;
  }

  nextIsKeyval(from: number): boolean {
    let i = from;
    while (i < this.s.length && /\s/.test(this.s[i]!)) i++;
    const start = i;
    while (i < this.s.length && KEY_CHAR.test(this.s[i]!)) i++;
    if (i === start) return false;
    while (i < this.s.length && /\s/.test(this.s[i]!)) i++;
    return this.s[i] === '=';
  }

  hash(): Record<string, ShorthandValue> {
    this.pos++; // {
    this.skipSpace();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return {};
    }
    const out = this.parameter('}');
    if (this.s[this.pos] !== '}') throw this.error('expected "}"');
    this.pos++;
    return out;
  }

  list(): ShorthandValue[] {
    this.pos++; // [
    const out: ShorthandValue[] = [];
    this.skipSpace();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const c = this.s[this.pos];
      if (c === '{') out.push(this.hash());
      else if (c === '[') out.push(this.list());
      else out.push(this.value(']'));
      this.skipSpace();
      if (this.s[this.pos] === ']') {
        this.pos++;
        return out;
      }
      if (this.s[this.pos] !== ',') throw this.error('expected "," or "]"');
      this.pos++;
    }
  }

  /** One scalar: quoted, or raw up to an unescaped `,` or the enclosing closer. */
  value(closer: string | undefined): string {
    this.skipSpace();
    const q = this.s[this.pos];
    if (q === '"' || q === "'") {
      const start = this.pos;
      this.pos++;
      let out = '';
      while (!this.atEnd() && this.s[this.pos] !== q) {
        if (this.s[this.pos] === '\\' && this.pos + 1 < this.s.length) this.pos++;
        out += this.s[this.pos++];
      }
      if (this.atEnd()) {
        this.pos = start;
        throw this.error('unterminated quoted value');
      }
      this.pos++;
      this.skipSpace();
      return out;
    }
    let out = '';
    while (!this.atEnd()) {
      const c = this.s[this.pos]!;
      if (c === ',' || c === closer) break;
      if (c === '\\' && this.pos + 1 < this.s.length) {
        out += this.s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
    return out.trim();
  }
}
