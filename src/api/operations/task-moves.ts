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
import { engineCompatibilityFault, type MovingTaskDoc } from '../../control/task-move.js';
import { getTask, taskEvent, taskFacts, taskOutput, updateTask } from '../../control/task-record.js';
import { invalidState, notFound, quotaExceeded } from '../../model/faults.js';
import { transition } from '../../model/task-state-machine.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { TASKS_PER_INSTANCE_QUOTA } from './replication-tasks.js';

const moveReplicationTask = (input: MoveReplicationTaskMessage, { app }: RequestContext) => {
  const task = getTask(app, input.ReplicationTaskArn!);
  const targetArn = input.TargetReplicationInstanceArn!;
  const target = app.store.instances.get(targetArn);
  if (!target) {
    throw notFound(`Replication instance ${targetArn} (TargetReplicationInstanceArn) not found. Check the ARN with DescribeReplicationInstances.`);
  }
  // The status check first: a moving or running task is refused whatever the target.
  const allowed = transition(taskFacts(task), { type: 'Move' });
  if (!allowed.ok) throw allowed.fault;
  if (task.ReplicationInstanceArn === target.ReplicationInstanceArn) {
    throw invalidState(
      `Replication task ${task.ReplicationTaskIdentifier} already runs on replication instance ${target.ReplicationInstanceIdentifier}; ` +
        'give another instance as TargetReplicationInstanceArn.',
    );
  }
  if (target.ReplicationInstanceStatus !== 'available') {
    throw invalidState(
      `Replication instance ${target.ReplicationInstanceIdentifier} is in status ${target.ReplicationInstanceStatus}; ` +
        'a task can move only to an available instance. Wait until it is available (aws dms wait replication-instance-available).',
    );
  }
  const compatibility = engineCompatibilityFault(task, app.store.instances.get(task.ReplicationInstanceArn), target);
  if (compatibility) throw compatibility;

  const doc = app.store.transaction(() => {
    // Counted inside the transaction, with the moves already heading there, so two moves cannot both squeeze in.
    const hosted = app.store.tasks.listByInstance(targetArn).length;
    const incoming = (app.store.tasks.list() as MovingTaskDoc[]).filter((t) => t.Status === 'moving' && t.TargetReplicationInstanceArn === targetArn).length;
    if (hosted + incoming >= TASKS_PER_INSTANCE_QUOTA) {
      throw quotaExceeded(
        `Replication instance ${target.ReplicationInstanceIdentifier} already has ${hosted + incoming} replication tasks (including moves under way), ` +
          `the most allowed per instance is ${TASKS_PER_INSTANCE_QUOTA}. Move the task to another instance.`,
      );
    }
    return updateTask(app, task.ReplicationTaskArn, { type: 'Move' }, (d, from) => {
      const m = d as MovingTaskDoc;
      // From failed-move, a retry returns to the status the first attempt left.
      m._moveResting = from === 'failed-move' ? (m._moveResting ?? (m._hasRun ? 'stopped' : 'ready')) : from;
      m.TargetReplicationInstanceArn = targetArn;
    });
  });
  taskEvent(app, doc, `Replication task is moving to replication instance ${target.ReplicationInstanceIdentifier}.`, ['State Change']);
  app.moves.begin(doc.ReplicationTaskArn);
  return { ReplicationTask: taskOutput(doc) };
};

export const taskMoveOperations: OperationTable = {
  MoveReplicationTask: moveReplicationTask,
};
