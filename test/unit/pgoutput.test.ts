import { describe, expect, it } from 'vitest';
import { dateToPgTimestamp, decodePgoutput } from '../../src/connectors/postgres/pgoutput.js';
import { NetChanges, mergeRows } from '../../src/engine/apply/net-changes.js';

/** A tiny pgoutput encoder, written from the protocol documentation, to synthesize messages. */
class Enc {
  private parts: Buffer[] = [];
  u8(v: number) {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.parts.push(b);
    return this;
  }
  ch(c: string) {
    return this.u8(c.charCodeAt(0));
  }
  i16(v: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  str(s: string) {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  tuple(values: (string | null | 'u')[]) {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.ch('n');
      else if (v === 'u') this.ch('u');
      else {
        const b = Buffer.from(v, 'utf8');
        this.ch('t').i32(b.length);
        this.parts.push(b);
      }
    }
    return this;
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

const when = new Date('2026-11-25T10:00:00.123Z');

describe('pgoutput decoder', () => {
  it('decodes Begin and Commit', () => {
    const begin = decodePgoutput(new Enc().ch('B').u64(0x1_0000_0010n).i64(dateToPgTimestamp(when)).u32(4242).done());
    expect(begin).toEqual({ tag: 'begin', finalLsn: 0x1_0000_0010n, commitTimeMs: when.getTime(), xid: 4242 });
    const commit = decodePgoutput(new Enc().ch('C').u8(0).u64(0x10n).u64(0x40n).i64(dateToPgTimestamp(when)).done());
    expect(commit).toEqual({ tag: 'commit', flags: 0, commitLsn: 0x10n, endLsn: 0x40n, commitTimeMs: when.getTime() });
  });

  it('decodes Relation with key flags, type oids and modifiers', () => {
    const buf = new Enc().ch('R').u32(16384).str('public').str('Orders').ch('d').i16(2);
    buf.u8(1).str('id').u32(23).i32(-1);
    buf.u8(0).str('amount').u32(1700).i32(((10 << 16) | 2) + 4);
    expect(decodePgoutput(buf.done())).toEqual({
      tag: 'relation',
      relationId: 16384,
      schema: 'public',
      name: 'Orders',
      replicaIdentity: 'd',
      columns: [
        { isKey: true, name: 'id', typeOid: 23, typeMod: -1 },
        { isKey: false, name: 'amount', typeOid: 1700, typeMod: 655366 },
      ],
    });
  });

  it('decodes Insert with text, null and multi-byte values', () => {
    const m = decodePgoutput(new Enc().ch('I').u32(7).ch('N').tuple(['1', null, 'héllo ☃', '']).done());
    expect(m).toEqual({ tag: 'insert', relationId: 7, newTuple: ['1', null, 'héllo ☃', ''] });
  });

  it('decodes Update without old tuple, keeping unchanged-TOAST markers', () => {
    const m = decodePgoutput(new Enc().ch('U').u32(7).ch('N').tuple(['1', 'u', 'x']).done());
    expect(m).toEqual({ tag: 'update', relationId: 7, newTuple: ['1', undefined, 'x'] });
  });

  it('decodes Update with a key (K) tuple and with an old (O) tuple', () => {
    const k = decodePgoutput(new Enc().ch('U').u32(7).ch('K').tuple(['1', null]).ch('N').tuple(['2', 'b']).done());
    expect(k).toEqual({ tag: 'update', relationId: 7, keyTuple: ['1', null], newTuple: ['2', 'b'] });
    const o = decodePgoutput(new Enc().ch('U').u32(7).ch('O').tuple(['1', 'a']).ch('N').tuple(['1', 'b']).done());
    expect(o).toEqual({ tag: 'update', relationId: 7, oldTuple: ['1', 'a'], newTuple: ['1', 'b'] });
  });

  it('decodes Delete by key and by old row', () => {
    expect(decodePgoutput(new Enc().ch('D').u32(9).ch('K').tuple(['5', null]).done())).toEqual({ tag: 'delete', relationId: 9, keyTuple: ['5', null] });
    expect(decodePgoutput(new Enc().ch('D').u32(9).ch('O').tuple(['5', 'z']).done())).toEqual({ tag: 'delete', relationId: 9, oldTuple: ['5', 'z'] });
  });

  it('decodes Truncate, Origin, Type and logical Message', () => {
    expect(decodePgoutput(new Enc().ch('T').u32(2).u8(3).u32(10).u32(11).done())).toEqual({
      tag: 'truncate',
      cascade: true,
      restartIdentity: true,
      relationIds: [10, 11],
    });
    expect(decodePgoutput(new Enc().ch('O').u64(99n).str('node_a').done())).toEqual({ tag: 'origin', originLsn: 99n, name: 'node_a' });
    expect(decodePgoutput(new Enc().ch('Y').u32(50000).str('public').str('mood').done())).toEqual({ tag: 'type', typeOid: 50000, schema: 'public', name: 'mood' });
    const msg = decodePgoutput(new Enc().ch('M').u8(0).u64(0x20n).str('opendms_heartbeat').u32(2).ch('h').ch('i').done());
    expect(msg).toMatchObject({ tag: 'message', transactional: false, lsn: 0x20n, prefix: 'opendms_heartbeat' });
  });

  it('refuses truncated messages, unknown tags and binary values', () => {
    const full = new Enc().ch('I').u32(7).ch('N').tuple(['hello']).done();
    expect(() => decodePgoutput(full.subarray(0, full.length - 2))).toThrow(/truncated/);
    expect(() => decodePgoutput(Buffer.from('Z'))).toThrow(/unknown message type 'Z'/);
    const bin = new Enc().ch('I').u32(7).ch('N').i16(1).ch('b').i32(1).u8(1).done();
    expect(() => decodePgoutput(bin)).toThrow(/binary/);
  });
});

describe('net changes per key', () => {
  it('nets insert/update/delete sequences to the final state, keeping unchanged TOAST from earlier images', () => {
    const net = new NetChanges([0]);
    net.insert(['1', 'a', 'big']);
    net.update(['1', 'b', undefined]);
    expect(net.entries.get('1')).toEqual({ op: 'upsert', row: ['1', 'b', 'big'], tolerant: false });
    net.update(['2', 'x', undefined]);
    net.update(['2', undefined, 'y']);
    expect(net.entries.get('2')).toEqual({ op: 'update', row: ['2', 'x', 'y'], tolerant: false });
    net.delete(['1', null, null]);
    expect(net.entries.get('1')!.op).toBe('delete');
    net.insert(['1', 'again', 'v']);
    // Re-inserted after its delete in the batch: replaces the row, not an insert conflict.
    expect(net.entries.get('1')).toEqual({ op: 'upsert', row: ['1', 'again', 'v'], tolerant: true });
    expect(net.size).toBe(2);
  });

  it('keys on several columns and keeps null distinct from the text "null"', () => {
    const net = new NetChanges([0, 1]);
    net.insert(['a', null, '1']);
    net.insert(['a', 'null', '2']);
    expect(net.size).toBe(2);
    expect(mergeRows(['1', 'x'], ['1', undefined])).toEqual(['1', 'x']);
  });
});
