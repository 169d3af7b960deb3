import { describe, expect, it } from 'vitest';
import { CopyDataFramer } from '../../src/connectors/postgres/copy-data-framer.js';

/** One backend message: type byte, int32 length (itself included), payload. */
function msg(type: string, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** Feeds `stream` in the given chunk sizes; returns what came out, in order. */
function frame(stream: Buffer, sizes: number[]): string[] {
  const out: string[] = [];
  const framer = new CopyDataFramer(
    (run) => {
      for (let o = 0; o < run.length; ) {
        expect(run[o]).toBe(0x64);
        const end = o + 1 + run.readInt32BE(o + 1);
        out.push(`d:${run.toString('utf8', o + 5, end)}`);
        o = end;
      }
    },
    (message) => out.push(`${String.fromCharCode(message[0]!)}:${message.toString('utf8', 5)}`),
  );
  let o = 0;
  for (let i = 0; o < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    framer.push(stream.subarray(o, o + n));
    o += n;
  }
  return out;
}

describe('CopyDataFramer', () => {
  const big = 'x'.repeat(10_000);
  const stream = Buffer.concat([msg('W', 'both'), msg('d', 'one'), msg('d', 'two'), msg('N', 'notice'), msg('d', big), msg('d', ''), msg('c', ''), msg('C', 'COPY 0'), msg('Z', 'I')]);
  const expected = ['W:both', 'd:one', 'd:two', 'N:notice', `d:${big}`, 'd:', 'c:', 'C:COPY 0', 'Z:I'];

  it('passes CopyData runs to the consumer and every other message to pg, in order, from one chunk', () => {
    expect(frame(stream, [stream.length])).toEqual(expected);
  });

  it('reassembles messages split anywhere: inside the header, inside the payload, across many chunks', () => {
    for (const sizes of [[1], [2], [3], [4], [5], [6], [7], [13], [1, 4096], [8191, 3], [64 * 1024]]) {
      expect(frame(stream, sizes), `chunks of ${sizes.join('/')}`).toEqual(expected);
    }
  });

  it('hands out runs that share the socket chunk without copying', () => {
    const chunk = Buffer.concat([msg('d', 'a'), msg('d', 'b')]);
    let run: Buffer | undefined;
    new CopyDataFramer((r) => (run = r), () => undefined).push(chunk);
    expect(run!.buffer).toBe(chunk.buffer);
    expect(run!.length).toBe(chunk.length);
  });
});
