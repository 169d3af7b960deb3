/**
 * PostgreSQL log sequence numbers (LSN) as a value type.
 *
 * An LSN is a 64-bit byte position in the WAL, printed by PostgreSQL as two hex halves
 * (`16/B374D848`). We keep it as a bigint so comparisons and arithmetic are exact (a JS number
 * loses precision past 2^53, which a long-lived cluster can reach).
 */
export type Lsn = bigint;

export const ZERO_LSN: Lsn = 0n;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** True when `text` looks like `X/Y` with 1-8 hex digits on each side. */
export function isLsnText(text: string): boolean {
  return LSN_TEXT.test(text.trim());
}

/** Parses `16/B374D848` (either case, any zero padding). Throws a message naming the bad value. */
export function parseLsn(text: string): Lsn {
  const m = LSN_TEXT.exec(text.trim());
  if (!m) throw new Error(`invalid PostgreSQL LSN '${text}': expected two hex numbers separated by '/', e.g. 16/B374D848`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** PostgreSQL's own form, `16/B374D848` (no padding), which pg_lsn accepts. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The zero-padded form AWS DMS prints inside recovery checkpoints, `00000016/B374D848`. */
export function formatLsnPadded(lsn: Lsn): string {
  const hi = (lsn >> 32n).toString(16).toUpperCase().padStart(8, '0');
  const lo = (lsn & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0');
  return `${hi}/${lo}`;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
