/**
 * DescribeAccountAttributes (spec §1.4, §10): the account's quotas with current usage, and the
 * UniqueAccountIdentifier (`c` + 11 digits) that AWS uses in default bucket names.
 */
import { createHash } from 'node:crypto';
import type { App } from '../../control/app.js';
import { ACCOUNT_QUOTA_NAMES, type QuotaName } from '../../model/quotas.js';
import type { OperationTable } from '../handler.js';

/** Each quota's current usage; the maxima are in src/model/quotas.ts, shared with the operations that enforce them. */
const USAGE: Record<Exclude<QuotaName, 'TasksPerInstance'>, (app: App) => number> = {
  ReplicationInstances: (app) => app.store.instances.count(),
  AllocatedStorage: (app) => app.store.instances.totalAllocatedStorage(),
  Endpoints: (app) => app.store.endpoints.count(),
  ReplicationTasks: (app) => app.store.tasks.count(),
  // Not implemented as resources yet: nothing is used.
  ReplicationSubnetGroups: () => 0,
  EventSubscriptions: () => 0,
  Certificates: () => 0,
};

/** The account's quotas as configured (src/model/quotas.ts), with current usage. */
export function accountQuotas(app: App): { AccountQuotaName: string; Used: number; Max: number }[] {
  return ACCOUNT_QUOTA_NAMES.map((name) => ({ AccountQuotaName: name, Used: USAGE[name as keyof typeof USAGE](app), Max: app.config.quotas[name] }));
}

/** `c` + 11 digits, derived from the account id so it never changes for an account. */
export function uniqueAccountIdentifier(accountId: string): string {
  const digest = createHash('sha256').update(`opendms-account:${accountId}`).digest();
  return `c${(digest.readBigUInt64BE(0) % 10n ** 11n).toString().padStart(11, '0')}`;
}

export const accountOperations: OperationTable = {
  DescribeAccountAttributes(_input: unknown, { app }) {
    return {
      AccountQuotas: accountQuotas(app),
      UniqueAccountIdentifier: uniqueAccountIdentifier(app.config.accountId),
    };
  },
};
