import { describe, expect, it } from 'vitest';
import { warmUpCdc } from '../../src/engine/cdc/warm-up.js';

describe('CDC warm-up', () => {
  it('pushes synthetic changes through the real decode, netting and SQL path, once per process', async () => {
    const result = await warmUpCdc();
    // Undefined would mean the warm-up failed (and every first task of a process starts cold).
    expect(result).toBeDefined();
    // 4 replays (SQL and streaming framing, batch and transactional apply), 4-5 changes per transaction.
    expect(result!.changes).toBeGreaterThan(4 * 300 * 4);
    expect(result!.statements).toBeGreaterThan(4);
    expect(await warmUpCdc()).toBe(result);
  });
});
