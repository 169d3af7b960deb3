/**
 * The replication-instance lifecycle as pure rules: which status allows which operation, and
 * which status follows an event of the instance process. The API handlers and the
 * InstanceSupervisor apply these; timers, sockets and processes stay in the supervisor.
 *
 *   Create ──▶ creating ──hello──▶ available ◀──hello── rebooting ◀── Reboot, or the process died
 *                                  │    ▲               modifying ◀── Modify class/storage (now or in the window)
 *                 usage > quota    ▼    │ usage <= quota upgrading ◀── Modify EngineVersion
 *                                storage-full
 *   (5 crashes in a row without a hello: failed, retries go on; a hello makes it available)
 *   Delete (any status but deleting, no tasks) ──▶ deleting ──process exited──▶ gone
 */
import { invalidState } from '../model/faults.js';

export type InstanceStatus =
  | 'creating'
  | 'available'
  | 'modifying'
  | 'upgrading'
  | 'rebooting'
  | 'deleting'
  | 'failed'
  | 'storage-full';

/** An event to record (DescribeEvents) when something completes. */
export interface InstanceEventNote {
  message: string;
  categories: string[];
}

/** What a caller wants to do with an instance. `use` = create/start tasks on it, test connections, move tasks to it. */
export type InstanceOperation = 'modify' | 'grow-storage' | 'reboot' | 'delete' | 'use';

const ALL: readonly InstanceStatus[] = ['creating', 'available', 'modifying', 'upgrading', 'rebooting', 'deleting', 'failed', 'storage-full'];

export const ALLOWED_STATUSES: Record<InstanceOperation, readonly InstanceStatus[]> = {
  modify: ['available'],
  // A full instance must be able to grow, or it could never recover (spec §3.1).
  'grow-storage': ['available', 'storage-full'],
  reboot: ['available'],
  delete: ALL.filter((s) => s !== 'deleting'),
  use: ['available'],
};

const VERB: Record<InstanceOperation, string> = {
  modify: 'modified',
  'grow-storage': 'given more storage',
  reboot: 'rebooted',
  delete: 'deleted',
  use: 'used',
};

export function isAllowed(operation: InstanceOperation, status: string): boolean {
  return (ALLOWED_STATUSES[operation] as readonly string[]).includes(status);
}

/** Throws InvalidResourceStateFault naming the status and what would be needed. */
export function checkAllowed(operation: InstanceOperation, status: string, identifier: string): void {
  if (isAllowed(operation, status)) return;
  if (operation === 'delete') throw invalidState(`Replication instance ${identifier} is already being deleted.`);
  throw invalidState(
    `Replication instance ${identifier} is ${status}; it can be ${VERB[operation]} only when ${ALLOWED_STATUSES[operation].join(' or ')}.`,
  );
}

/** Crashes in a row (without a healthy connection) after which the status says `failed`. */
export const FAILED_AFTER_CRASHES = 5;

/**
 * The status after the process died unexpectedly, or undefined to keep the current one (a
 * create, reboot or modification in progress still completes with the next hello).
 */
export function statusAfterCrash(status: string, crashesInARow: number): InstanceStatus | undefined {
  if (status === 'deleting') return undefined;
  if (status === 'available' || status === 'storage-full') return 'rebooting';
  if (crashesInARow === FAILED_AFTER_CRASHES) return 'failed';
  return undefined;
}

/** The status once the process said hello (whatever brought it up). */
export function statusAfterHello(status: string): InstanceStatus | undefined {
  return status === 'deleting' ? undefined : 'available';
}

/** The event a new instance's first hello records. */
export const CREATED: InstanceEventNote = { message: 'Replication instance created.', categories: ['Creation'] };

/**
 * What the first hello after a control-plane restart completes, by the status the instance was
 * found in. A create, reboot or modification the previous control plane started was already
 * persisted (class, storage, engine version), so the new process completes it and its event is
 * still owed; an instance that was simply up gets no event.
 */
export function notesAfterServiceRestart(record: {
  ReplicationInstanceStatus: string;
  ReplicationInstanceClass: string;
  AllocatedStorage: number;
  EngineVersion: string;
}): InstanceEventNote[] {
  switch (record.ReplicationInstanceStatus) {
    case 'creating':
      return [CREATED];
    case 'rebooting':
      return [{ message: 'Replication instance rebooted.', categories: ['Maintenance'] }];
    case 'modifying':
      return [
        {
          message: `Replication instance modified: class ${record.ReplicationInstanceClass}, ${record.AllocatedStorage} GB storage.`,
          categories: ['Configuration Change'],
        },
      ];
    case 'upgrading':
      return [{ message: `Replication instance engine upgraded to version ${record.EngineVersion}.`, categories: ['Maintenance'] }];
    default:
      return [];
  }
}

/** The status the storage quota calls for, or undefined for no change. */
export function statusForStorage(status: string, usedBytes: number, quotaBytes: number): InstanceStatus | undefined {
  if (usedBytes > quotaBytes && status === 'available') return 'storage-full';
  if (usedBytes <= quotaBytes && status === 'storage-full') return 'available';
  return undefined;
}
