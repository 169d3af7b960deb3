/**
 * Account quotas [UG CHAP_Limits] (spec §10), the one place their numbers live:
 * DescribeAccountAttributes reports them and the create and modify operations enforce them, so the
 * two can never disagree. Names are the AccountQuotaName values AWS answers with.
 */
export const QUOTAS = {
  ReplicationInstances: 60,
  /** Total AllocatedStorage of all replication instances, in GB. */
  AllocatedStorage: 30_000,
  Endpoints: 1000,
  ReplicationTasks: 600,
  ReplicationSubnetGroups: 60,
  EventSubscriptions: 60,
  Certificates: 100,
} as const;

export type QuotaName = keyof typeof QUOTAS;
