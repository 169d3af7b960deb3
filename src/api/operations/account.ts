/**
 * DescribeAccountAttributes (spec §1.4, §10): the account's quotas with current usage, and the
 * UniqueAccountIdentifier (`c` + 11 digits) that AWS uses in default bucket names.
 */
import { createHash } from 'node:crypto';
import type { App } from '../../control/app.js';
import { QUOTAS, type QuotaName } from '../../model/quotas.js';
import type { OperationTable } from '../handler.js';

interface Quota {
  name: QuotaName;
  max: number;
  used: (app: App) => number;
}

/** Each quota's current usage; the maxima are in src/model/quotas.ts, shared with the operations that enforce them. */
const USAGE: Record<QuotaName, (app: App) => number> = {
  ReplicationInstances: (app) => app.store.instances.count(),
  AllocatedStorage: (app) => app.store.instances.totalAllocatedStorage(),
  Endpoints: (app) => app.store.endpoints.count(),
  ReplicationTasks: (app) => app.store.tasks.count(),
  // Not implemented as resources yet: nothing is used.
  ReplicationSubnetGroups: () => 0,
  EventSubscriptions: () => 0,
  Certificates: () => 0,
};

export const ACCOUNT_QUOTAS: readonly Quota[] = (Object.keys(QUOTAS) as QuotaName[]).map((name) => ({ name, max: QUOTAS[name], used: USAGE[name] }));

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
