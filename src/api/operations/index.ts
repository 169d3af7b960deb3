/** Every implemented operation, by name. Each resource family lives in its own module. */
import type { OperationTable } from '../handler.js';
import { accountOperations } from './account.js';
import { eventOperations } from './events.js';
import { tagOperations } from './tags.js';
import { replicationInstanceOperations } from './replication-instances.js';
import { connectionOperations } from './connections.js';
import { endpointOperations } from './endpoints.js';
import { replicationTaskOperations } from './replication-tasks.js';
import { taskMoveOperations } from './task-moves.js';

export const operations: OperationTable = {
  ...tagOperations,
  ...eventOperations,
  ...accountOperations,
  ...replicationInstanceOperations,
  ...endpointOperations,
  ...connectionOperations,
  ...replicationTaskOperations,
  ...taskMoveOperations,
};
