import { describe, expect, it } from 'vitest';
import { FallBehindWatch } from '../../src/engine/cdc/fall-behind-watch.js';

const MB = 1024n * 1024n;
/**
 * The source `lagMb` ahead of what the stream received (at 1 GB), which the slot confirmed; its
 * restart_lsn `redecodeMb` before that.
 */
const at = (lagMb: bigint, redecodeMb = 1n) => ({
  source: { current: 1024n * MB + lagMb * MB, confirmed: 1024n * MB, restart: 1024n * MB - redecodeMb * MB },
  received: 1024n * MB,
});

function observe(w: FallBehindWatch, now: number, lagMb: bigint, redecodeMb?: bigint): number | undefined {
  const r = at(lagMb, redecodeMb);
  return w.observe(now, r.source, r.received);
}

describe('FallBehindWatch', () => {
  it('switches only once the lag has lasted sustainMs, and reports it', () => {
    const w = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024, sustainMs: 10_000 });
    expect(observe(w, 0, 100n)).toBeUndefined();
    expect(observe(w, 9_999, 100n)).toBeUndefined();
    expect(observe(w, 10_000, 120n)).toBe(120 * 1024 * 1024);
  });

  it('starts counting again when the lag drops below behindBytes', () => {
    const w = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024, sustainMs: 10_000 });
    observe(w, 0, 100n);
    expect(observe(w, 5_000, 10n)).toBeUndefined();
    expect(observe(w, 10_000, 100n)).toBeUndefined();
    expect(observe(w, 19_999, 100n)).toBeUndefined();
    expect(observe(w, 20_000, 100n)).toBeDefined();
  });

  it('never switches while a long transaction holds restart_lsn back (each SQL call would decode it again)', () => {
    const w = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024, sustainMs: 10_000, maxRedecodeBytes: 256 * 1024 * 1024 });
    for (let t = 0; t <= 60_000; t += 1_000) expect(observe(w, t, 500n, 300n)).toBeUndefined();
    // The transaction ended: the stream has been behind all along, so it switches at once.
    expect(observe(w, 61_000, 500n, 10n)).toBe(500 * 1024 * 1024);
  });

  it('a restart_lsn that lags for one reading only defers the switch', () => {
    const w = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024, sustainMs: 10_000 });
    expect(observe(w, 0, 100n)).toBeUndefined();
    expect(observe(w, 10_000, 100n, 300n)).toBeUndefined();
    expect(observe(w, 11_000, 100n)).toBeDefined();
  });

  it('waits minIntervalMs after a switch, and a new session counts its own lag', () => {
    const w = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024, sustainMs: 1_000, minIntervalMs: 60_000 });
    observe(w, 0, 100n);
    expect(observe(w, 1_000, 100n)).toBeDefined();
    w.switched(1_000);
    w.reset();
    expect(observe(w, 2_000, 100n)).toBeUndefined();
    expect(observe(w, 30_000, 100n)).toBeUndefined();
    expect(observe(w, 61_000, 100n)).toBeDefined();
    w.reset();
    expect(observe(w, 62_000, 100n)).toBeUndefined();
  });
});
