/**
 * Netting of row changes per key, for set-based apply. Pure: no I/O.
 *
 * Within a batch, only the last state of each key matters, provided that
 *  - an update that leaves TOASTed columns unchanged (`undefined` in the row) keeps whatever the
 *    earlier state of that key says for them, or, when the key had no earlier state in the batch,
 *    leaves the target's value alone (the UPDATE sets only the columns that were sent);
 *  - deletes are applied before upserts (a key deleted then re-inserted ends as an upsert anyway).
 *
 *   (none)  --insert--> UPSERT    --update--> UPSERT (merged)   --delete--> DELETE
 *   (none)  --update--> UPDATE    --update--> UPDATE (merged)   --delete--> DELETE
 *   (none)  --delete--> DELETE    --insert--> UPSERT            --update--> UPDATE
 *
 * Key-changing updates are not netted: the caller applies what is pending first and then runs
 * the move as its own statement (see applier.ts).
 */
import type { Row } from './apply-table.js';

export type NetOp = 'upsert' | 'update' | 'delete';

export interface NetEntry {
  op: NetOp;
  row: Row;
  /**
   * Not a conflict whatever the target holds: an upsert that may replace a row (it follows a
   * delete of the key in this batch, or the caller asked for it), or a delete that may find no row
   * (it follows an insert of the key in this batch, or the caller asked for it).
   */
  tolerant: boolean;
}

/** A key of a row: the key columns' text values joined with a separator that cannot occur in text. */
export function keyOf(row: Row, keyIdx: number[]): string {
  if (keyIdx.length === 1) return String(row[keyIdx[0]!]);
  let s = '';
  for (const i of keyIdx) s += `${row[i] === null ? '\u0001' : String(row[i])}\u0000`;
  return s;
}

/** Later values win; columns the later row did not send (unchanged TOAST) keep the earlier value. */
export function mergeRows(earlier: Row, later: Row): Row {
  // Usually the later row is complete: it is the merged row (rows are never modified).
  if (!later.includes(undefined)) return later;
  const out = later.slice();
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = earlier[i];
  return out;
}

/**
 * Every entry has the same three fields, so the code that walks them sees one object shape (a
 * missing field would make two, and V8 recompiled that code for each: measured).
 */
export class NetChanges {
  readonly entries = new Map<string, NetEntry>();

  constructor(private readonly keyIdx: number[]) {}

  get size(): number {
    return this.entries.size;
  }

  insert(row: Row, tolerant = false): void {
    const key = keyOf(row, this.keyIdx);
    this.entries.set(key, { op: 'upsert', row, tolerant: tolerant || this.entries.get(key)?.op === 'delete' });
  }

  update(row: Row): void {
    const key = keyOf(row, this.keyIdx);
    const prev = this.entries.get(key);
    if (!prev || prev.op === 'delete') {
      this.entries.set(key, { op: 'update', row, tolerant: false });
    } else {
      // Entries are this object's own: a hot key (a counter row) is updated in place.
      prev.row = mergeRows(prev.row, row);
    }
  }

  delete(keyRow: Row, tolerant = false): void {
    const key = keyOf(keyRow, this.keyIdx);
    this.entries.set(key, { op: 'delete', row: keyRow, tolerant: tolerant || this.entries.get(key)?.op === 'upsert' });
  }

  clear(): void {
    this.entries.clear();
  }
}
