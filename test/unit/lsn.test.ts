import { describe, expect, it } from 'vitest';
import { formatLsn, formatLsnPadded, isLsnText, parseLsn } from '../../src/model/lsn.js';

describe('LSN', () => {
  it('parses PostgreSQL text form into a 64-bit position', () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('000004af/b00000d0')).toBe((0x4afn << 32n) | 0xb00000d0n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n);
  });

  it('formats both the PostgreSQL and the padded checkpoint form', () => {
    const lsn = parseLsn('4AF/B00000D0');
    expect(formatLsn(lsn)).toBe('4AF/B00000D0');
    expect(formatLsnPadded(lsn)).toBe('000004AF/B00000D0');
    expect(formatLsn(parseLsn('0/1'))).toBe('0/1');
    expect(formatLsnPadded(0n)).toBe('00000000/00000000');
  });

  it('orders positions past 2^53 exactly', () => {
    const a = parseLsn('FFFFFF/FFFFFFFE');
    const b = parseLsn('FFFFFF/FFFFFFFF');
    expect(a < b).toBe(true);
    expect(b - a).toBe(1n);
  });

  it('refuses malformed text with a message naming the value', () => {
    for (const bad of ['', '16', '16/', '/1', 'G/1', '1/2/3', '123456789/0']) {
      expect(isLsnText(bad)).toBe(false);
      expect(() => parseLsn(bad)).toThrow(/invalid PostgreSQL LSN/);
    }
  });
});
