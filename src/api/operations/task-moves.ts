/**
 * MoveReplicationTask (spec §2.2, §2.3, §3.3; AWS's side-by-side upgrade).
 *
 * What can be known at call time is answered synchronously: the task and the target instance exist
 * (ResourceNotFoundFault), the task rests in ready/stopped/failed/failed-move, the target is another
 * instance, `available`, and on an engine that can continue the task's checkpoint
 * (InvalidResourceStateFault), and the target has room under its per-instance task quota
 * (ResourceQuotaExceededFault). The task is then persisted as `moving` with
 * TargetReplicationInstanceArn set and returned as AWS returns it; the target instance takes the
 * task in the background (control/task-move.ts), ending in the resting status it left or in
 * `failed-move`.
 */
import type { MoveReplicationTaskMessage } from '@aws-sdk/client-database-migration-service';
import { requestMove } from '../../control/task-move.js';
import { taskOutput } from '../../control/task-record.js';
import type { OperationTable, RequestContext } from '../handler.js';

const moveReplicationTask = (input: MoveReplicationTaskMessage, { app }: RequestContext) => ({
  ReplicationTask: taskOutput(requestMove(app, input.ReplicationTaskArn!, input.TargetReplicationInstanceArn!)),
});

export const taskMoveOperations: OperationTable = {
  MoveReplicationTask: moveReplicationTask,
};
