/**
 * COPY format per table, and live row counting for each format.
 *
 * Binary COPY is markedly cheaper for both servers (no text formatting and parsing of numbers,
 * timestamps, uuids, arrays), but it is only exact between servers that agree on the types'
 * binary form: arrays embed their element type's OID, and user-defined types (enums, domains,
 * composites, extension types) have per-database OIDs or no binary I/O at all. So `auto` uses
 * binary only when every moved column has a built-in type (OID below 16384) and both servers run
 * the same major version; otherwise text, which round-trips every type exactly.
 */
import type { SourceColumnInfo } from '../../connectors/postgres/catalog.js';

export type CopyFormatSetting = 'auto' | 'text' | 'binary';

/** Built-in objects have OIDs below FirstNormalObjectId. */
const FIRST_NORMAL_OBJECT_ID = 16384;

export function chooseCopyFormat(setting: CopyFormatSetting, columns: SourceColumnInfo[], sameMajorVersion: boolean): 'text' | 'binary' {
  if (setting !== 'auto') return setting;
  const builtin = columns.every((c) => c.typeOid < FIRST_NORMAL_OBJECT_ID && !c.enumType && !c.domainBaseType);
  return builtin && sameMajorVersion ? 'binary' : 'text';
}

/** Counts rows of a text COPY stream: values escape newlines, so each 0x0A ends one row. */
export function countTextRows(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Counts tuples of a binary COPY stream as it flows: an 11-byte signature, flags and a header
 * extension, then per tuple an int16 field count followed by (int32 length, bytes) per field
 * (length -1 for NULL), and an int16 -1 trailer. Skips field bytes without copying them.
 */
export class BinaryRowCounter {
  rows = 0;
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes to skip before the next header (field payloads, header extension). */
  private skip = 0;
  private state: 'signature' | 'tuple' | 'field' | 'done' = 'signature';
  private fieldsLeft = 0;

  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - off);
        this.skip -= n;
        off += n;
        if (this.skip > 0) break;
      }
      if (this.state === 'done') {
        off = buf.length;
        break;
      }
      if (this.state === 'signature') {
        if (buf.length - off < 19) break;
        const extension = buf.readInt32BE(off + 15);
        off += 19;
        this.skip = extension;
        this.state = 'tuple';
        continue;
      }
      if (this.state === 'tuple') {
        if (buf.length - off < 2) break;
        const fields = buf.readInt16BE(off);
        off += 2;
        if (fields === -1) {
          this.state = 'done';
          continue;
        }
        this.rows++;
        this.fieldsLeft = fields;
        this.state = fields > 0 ? 'field' : 'tuple';
        continue;
      }
      // field
      if (buf.length - off < 4) break;
      const len = buf.readInt32BE(off);
      off += 4;
      this.skip = len > 0 ? len : 0;
      if (--this.fieldsLeft === 0) this.state = 'tuple';
    }
    // Only a partial header (under 19 bytes) is ever kept.
    this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : Buffer.alloc(0);
  }
}
