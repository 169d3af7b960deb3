/**
 * Recovery checkpoints: the opaque, versioned string DescribeReplicationTasks shows as
 * RecoveryCheckpoint and CdcStartPosition accepts back.
 *
 * Shape (same as AWS DMS for PostgreSQL): `checkpoint:V1#<seq>#<LSN %08X/%08X>#0#0#*#0#0`.
 * The third `#` field is the native position (the commit end-LSN of the last source transaction
 * committed on the target); operators copy it from the console, so it must stay there. `seq` is a
 * counter that only grows, so two checkpoints of one task can be ordered without parsing the LSN.
 * The remaining fields are zeros / `*` for shape compatibility.
 *
 * Versioning: the `V1` tag is checked on parse; a version this engine does not know is refused with
 * a message saying so, which is what lets an older engine refuse a newer engine's checkpoint
 * (MoveReplicationTask back to an older engine) instead of misreading it.
 */
import { formatLsnPadded, isLsnText, parseLsn } from '../model/lsn.js';
import type { Lsn } from '../model/lsn.js';

export const CHECKPOINT_VERSION = 'V1';
/** Checkpoint versions this engine can read. */
export const READABLE_CHECKPOINT_VERSIONS = ['V1'];

export interface Checkpoint {
  version: string;
  seq: number;
  /** Commit end-LSN of the last source transaction committed on the target. */
  lsn: Lsn;
}

export function formatCheckpoint(cp: { seq: number; lsn: Lsn }): string {
  return `checkpoint:${CHECKPOINT_VERSION}#${cp.seq}#${formatLsnPadded(cp.lsn)}#0#0#*#0#0`;
}

export function parseCheckpoint(text: string): Checkpoint {
  const trimmed = text.trim();
  if (!trimmed.startsWith('checkpoint:')) {
    throw new Error(`invalid recovery checkpoint '${text}': it must start with 'checkpoint:'`);
  }
  const fields = trimmed.slice('checkpoint:'.length).split('#');
  const version = fields[0] ?? '';
  if (!READABLE_CHECKPOINT_VERSIONS.includes(version)) {
    throw new Error(
      `recovery checkpoint version '${version}' is not supported by this engine (it reads ${READABLE_CHECKPOINT_VERSIONS.join(', ')}); ` +
        'resume the task on an engine version that wrote it, or start a new CDC task from a native LSN',
    );
  }
  if (fields.length < 3) throw new Error(`invalid recovery checkpoint '${text}': expected checkpoint:V1#<seq>#<LSN>#...`);
  const seq = Number(fields[1]);
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`invalid recovery checkpoint '${text}': sequence '${fields[1]}' is not a number`);
  const lsnText = fields[2] ?? '';
  if (!isLsnText(lsnText)) throw new Error(`invalid recovery checkpoint '${text}': '${lsnText}' is not a PostgreSQL LSN`);
  return { version, seq, lsn: parseLsn(lsnText) };
}

/**
 * CdcStartPosition for a PostgreSQL source: a recovery checkpoint or a bare LSN (`4AF/B00000D0`).
 * Dates are not accepted for PostgreSQL (no time -> LSN mapping), as AWS says.
 */
export function parseCdcStartPosition(text: string): Lsn {
  const trimmed = text.trim();
  if (trimmed.startsWith('checkpoint:')) return parseCheckpoint(trimmed).lsn;
  if (isLsnText(trimmed)) return parseLsn(trimmed);
  throw new Error(
    `CdcStartPosition '${text}' is neither a recovery checkpoint (checkpoint:V1#...) nor a PostgreSQL LSN (e.g. 4AF/B00000D0); ` +
      'dates are not supported for PostgreSQL sources',
  );
}

export type CdcStop = { kind: 'server_time' | 'commit_time'; at: Date };

/** CdcStopPosition: `server_time:YYYY-MM-DDTHH:MM:SS` or `commit_time:...` (UTC). */
export function parseCdcStopPosition(text: string): CdcStop {
  const m = /^(server_time|commit_time):(.+)$/.exec(text.trim());
  if (!m) throw new Error(`CdcStopPosition '${text}' must be server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS`);
  const raw = m[2]!.trim();
  const at = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`);
  if (Number.isNaN(at.getTime())) throw new Error(`CdcStopPosition '${text}': '${raw}' is not a date (YYYY-MM-DDTHH:MM:SS, UTC)`);
  return { kind: m[1] as CdcStop['kind'], at };
}
