import { describe, expect, it } from 'vitest';
import { copyDataEnd } from '../../src/connectors/postgres/copy-data-queue.js';
import { decodeSlotChangeRow } from '../../src/connectors/postgres/slot-changes-reader.js';

/** One CopyData backend message around `payload`. */
function copyData(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write('d', 0);
  head.writeInt32BE(4 + payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A binary COPY row of one bytea field. */
function row(data: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt16BE(1, 0);
  head.writeInt32BE(data.length, 2);
  return Buffer.concat([head, data]);
}

const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

/** pgoutput Begin: 'B', final LSN, commit time, xid. */
function begin(finalLsn: bigint, xid: number): Buffer {
  const b = Buffer.alloc(21);
  b.write('B', 0);
  b.writeBigUInt64BE(finalLsn, 1);
  b.writeBigInt64BE(0n, 9);
  b.writeUInt32BE(xid, 17);
  return b;
}

/** pgoutput Commit: 'C', flags, commit LSN, end LSN, commit time. */
function commit(commitLsn: bigint, endLsn: bigint): Buffer {
  const b = Buffer.alloc(26);
  b.write('C', 0);
  b.writeUInt8(0, 1);
  b.writeBigUInt64BE(commitLsn, 2);
  b.writeBigUInt64BE(endLsn, 10);
  b.writeBigInt64BE(0n, 18);
  return b;
}

describe('decodeSlotChangeRow (binary COPY of pg_logical_slot_get_binary_changes)', () => {
  it('skips the header carried by the first row and ignores the trailer', () => {
    const run = Buffer.concat([
      copyData(Buffer.concat([HEADER, row(begin(0x100n, 7))])),
      copyData(row(commit(0x100n, 0x128n))),
      copyData(TRAILER),
    ]);
    const out: unknown[] = [];
    for (let o = 0; o < run.length; o = copyDataEnd(run, o)) out.push(decodeSlotChangeRow(run, o));
    expect(out).toEqual([
      expect.objectContaining({ tag: 'begin', finalLsn: 0x100n, xid: 7 }),
      expect.objectContaining({ tag: 'commit', commitLsn: 0x100n, endLsn: 0x128n }),
      undefined,
    ]);
  });

  it('reads an empty COPY (header and trailer in one message) as nothing', () => {
    const run = copyData(Buffer.concat([HEADER, TRAILER]));
    expect(decodeSlotChangeRow(run, 0)).toBeUndefined();
  });
});
