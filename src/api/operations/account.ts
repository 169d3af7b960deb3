/**
 * DescribeAccountAttributes (spec §1.4, §10): the account's quotas with current usage, and the
 * UniqueAccountIdentifier (`c` + 11 digits) that AWS uses in default bucket names.
 */
import { createHash } from 'node:crypto';
import type { App } from '../../control/app.js';
import type { OperationTable } from '../handler.js';

interface Quota {
  name: string;
  max: number;
  used: (app: App) => number;
}

const sumStorage = (app: App): number => app.store.instances.list().reduce((sum, i) => sum + (i.AllocatedStorage ?? 0), 0);

/**
 * Quotas [UG CHAP_Limits]. Operations that create resources enforce the same maxima (endpoints
 * and tasks carry their own constants next to the code that enforces them).
 */
export const ACCOUNT_QUOTAS: readonly Quota[] = [
  { name: 'ReplicationInstances', max: 60, used: (app) => app.store.instances.count() },
  { name: 'AllocatedStorage', max: 30000, used: sumStorage },
  { name: 'Endpoints', max: 1000, used: (app) => app.store.endpoints.count() },
  { name: 'ReplicationTasks', max: 600, used: (app) => app.store.tasks.count() },
  // Not implemented as resources yet: nothing is used.
  { name: 'ReplicationSubnetGroups', max: 60, used: () => 0 },
  { name: 'EventSubscriptions', max: 60, used: () => 0 },
  { name: 'Certificates', max: 100, used: () => 0 },
];

/** `c` + 11 digits, derived from the account id so it never changes for an account. */
export function uniqueAccountIdentifier(accountId: string): string {
  const digest = createHash('sha256').update(`opendms-account:${accountId}`).digest();
  return `c${(digest.readBigUInt64BE(0) % 10n ** 11n).toString().padStart(11, '0')}`;
}

export const accountOperations: OperationTable = {
  DescribeAccountAttributes(_input: unknown, { app }) {
    return {
      AccountQuotas: ACCOUNT_QUOTAS.map((q) => ({ AccountQuotaName: q.name, Used: q.used(app), Max: q.max })),
      UniqueAccountIdentifier: uniqueAccountIdentifier(app.config.accountId),
    };
  },
};
