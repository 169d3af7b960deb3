/**
 * A decoder for PostgreSQL's `pgoutput` logical decoding plugin, protocol version 1
 * (https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html).
 *
 * Hand-written on purpose: it decodes straight from the XLogData payload with no intermediate
 * objects beyond the message itself, which an experiment on this machine found faster than the
 * npm libraries (decoding must never be what limits CDC). Column values stay in PostgreSQL's text
 * form: the applier casts them on the target, so every type round-trips exactly without a JS
 * representation (numeric, timestamptz, interval, arrays, ...).
 */
import type { Lsn } from '../../model/lsn.js';

/**
 * A tuple column: null, its text form, or undefined for a TOASTed value that did not change and
 * was not sent (`u`; the target keeps its value). The same convention as an applier Row, so a
 * tuple whose columns map one to one onto the target's is used as the row itself.
 */
export type TupleValue = null | undefined | string;

export interface RelationColumn {
  /** Part of the replica identity (the key PostgreSQL sends old values for). */
  isKey: boolean;
  name: string;
  typeOid: number;
  typeMod: number;
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTimeMs: number; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: Lsn; endLsn: Lsn; commitTimeMs: number }
  | { tag: 'origin'; originLsn: Lsn; name: string }
  | { tag: 'relation'; relationId: number; schema: string; name: string; replicaIdentity: string; columns: RelationColumn[] }
  | { tag: 'type'; typeOid: number; schema: string; name: string }
  | { tag: 'insert'; relationId: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationId: number; keyTuple: TupleValue[] | undefined; oldTuple: TupleValue[] | undefined; newTuple: TupleValue[] }
  | { tag: 'delete'; relationId: number; keyTuple: TupleValue[] | undefined; oldTuple: TupleValue[] | undefined }
  | { tag: 'truncate'; cascade: boolean; restartIdentity: boolean; relationIds: number[] }
  | { tag: 'message'; transactional: boolean; lsn: Lsn; prefix: string; content: Buffer };

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;
const PG_EPOCH_MILLIS = 946_684_800_000;

export function pgTimestampToDate(micros: bigint): Date {
  return new Date(Number((micros + PG_EPOCH_MICROS) / 1000n));
}

export function dateToPgTimestamp(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n - PG_EPOCH_MICROS;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public offset: number,
    /** Where this message ends inside `buf` (several messages may share one buffer). */
    private readonly end: number,
  ) {}
  u8(): number {
    return this.buf.readUInt8(this.offset++);
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  /**
   * A PostgreSQL timestamp (int64 microseconds since 2000-01-01) as milliseconds since the Unix
   * epoch, in plain number arithmetic (exact to the microsecond for the next ~250 years): read for
   * every Begin and Commit, where BigInt arithmetic and a Date per message showed up in profiles.
   */
  timestampMs(): number {
    const micros = this.buf.readInt32BE(this.offset) * 4_294_967_296 + this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return Math.floor(micros / 1000) + PG_EPOCH_MILLIS;
  }
  /** A NUL-terminated string. */
  cstr(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0 || end >= this.end) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    if (this.offset + n > this.end) throw new Error('pgoutput: message truncated');
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  text(n: number): string {
    if (this.offset + n > this.end) throw new Error('pgoutput: message truncated');
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}

function readTuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const values: TupleValue[] = new Array<TupleValue>(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    switch (kind) {
      case 0x6e: // 'n'
        values[i] = null;
        break;
      case 0x75: // 'u': unchanged TOASTed value
        values[i] = undefined;
        break;
      case 0x74: // 't'
        values[i] = r.text(r.i32());
        break;
      case 0x62: // 'b': only with the binary option, which we never request
        throw new Error('pgoutput: binary tuple values are not supported (the binary option must be off)');
      default:
        throw new Error(`pgoutput: unknown tuple value kind 0x${kind.toString(16)}`);
    }
  }
  return values;
}

/** Decodes one pgoutput message: the payload of an XLogData CopyData message, in `buf` from `offset` to `end`. */
export function decodePgoutput(buf: Buffer, offset = 0, end = buf.length): PgoutputMessage {
  const r = new Reader(buf, offset, end);
  const tag = r.u8();
  switch (tag) {
    case 0x42: // 'B'
      return { tag: 'begin', finalLsn: r.u64(), commitTimeMs: r.timestampMs(), xid: r.u32() };
    case 0x43: {
      // 'C'
      const flags = r.u8();
      return { tag: 'commit', flags, commitLsn: r.u64(), endLsn: r.u64(), commitTimeMs: r.timestampMs() };
    }
    case 0x4f: // 'O'
      return { tag: 'origin', originLsn: r.u64(), name: r.cstr() };
    case 0x52: {
      // 'R'
      const relationId = r.u32();
      const schema = r.cstr();
      const name = r.cstr();
      const replicaIdentity = String.fromCharCode(r.u8());
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ isKey: (flags & 1) === 1, name: r.cstr(), typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
    }
    case 0x59: // 'Y'
      return { tag: 'type', typeOid: r.u32(), schema: r.cstr(), name: r.cstr() };
    case 0x49: {
      // 'I'
      const relationId = r.u32();
      const kind = r.u8();
      if (kind !== 0x4e) throw new Error(`pgoutput: insert without a new tuple (0x${kind.toString(16)})`);
      return { tag: 'insert', relationId, newTuple: readTuple(r) };
    }
    case 0x55: {
      // 'U'
      const relationId = r.u32();
      let kind = r.u8();
      let keyTuple: TupleValue[] | undefined;
      let oldTuple: TupleValue[] | undefined;
      if (kind === 0x4b) {
        keyTuple = readTuple(r);
        kind = r.u8();
      } else if (kind === 0x4f) {
        oldTuple = readTuple(r);
        kind = r.u8();
      }
      if (kind !== 0x4e) throw new Error(`pgoutput: update without a new tuple (0x${kind.toString(16)})`);
      // Every field always present: one object shape for the code that reads updates.
      return { tag: 'update', relationId, keyTuple, oldTuple, newTuple: readTuple(r) };
    }
    case 0x44: {
      // 'D'
      const relationId = r.u32();
      const kind = r.u8();
      const tuple = readTuple(r);
      if (kind === 0x4b) return { tag: 'delete', relationId, keyTuple: tuple, oldTuple: undefined };
      if (kind === 0x4f) return { tag: 'delete', relationId, keyTuple: undefined, oldTuple: tuple };
      throw new Error(`pgoutput: delete without a key or old tuple (0x${kind.toString(16)})`);
    }
    case 0x54: {
      // 'T'
      const n = r.u32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      return { tag: 'truncate', cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationIds };
    }
    case 0x4d: {
      // 'M'
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstr();
      const len = r.u32();
      return { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content: r.bytes(len) };
    }
    default:
      throw new Error(`pgoutput: unknown message type '${String.fromCharCode(tag)}' (0x${tag.toString(16)})`);
  }
}
