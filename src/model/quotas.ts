/**
 * Quotas [UG CHAP_Limits] (spec §10), the one place their numbers live: DescribeAccountAttributes
 * reports them and the create, modify and move operations enforce them, so the two can never
 * disagree. Names are the AccountQuotaName values AWS answers with, plus TasksPerInstance.
 *
 * AWS raises quotas on request; here the operator does it at start-up with
 * `opendms serve --quotas ReplicationTasks=2000,Endpoints=5000` (or OPENDMS_QUOTAS).
 */
import { z } from 'zod';

export const DEFAULT_QUOTAS = {
  ReplicationInstances: 60,
  /** Total AllocatedStorage of all replication instances, in GB. */
  AllocatedStorage: 30_000,
  Endpoints: 1000,
  ReplicationTasks: 600,
  ReplicationSubnetGroups: 60,
  EventSubscriptions: 60,
  Certificates: 100,
  /** Tasks assigned to one replication instance (moves heading there count). */
  TasksPerInstance: 200,
} as const;

export type QuotaName = keyof typeof DEFAULT_QUOTAS;
export type Quotas = Readonly<Record<QuotaName, number>>;

/** Quotas DescribeAccountAttributes lists (TasksPerInstance is per instance, not per account). */
export const ACCOUNT_QUOTA_NAMES = (Object.keys(DEFAULT_QUOTAS) as QuotaName[]).filter((n) => n !== 'TasksPerInstance');

/** Parses `Name=N,Name=N` over the defaults; unknown names and non-positive numbers are refused. */
export function resolveQuotas(overrides: string | undefined): Quotas {
  const quotas: Record<QuotaName, number> = { ...DEFAULT_QUOTAS };
  for (const part of (overrides ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', value = ''] = part.split('=', 2).map((s) => s.trim());
    if (!Object.hasOwn(DEFAULT_QUOTAS, name)) {
      throw new Error(`unknown quota "${name}"; known quotas: ${Object.keys(DEFAULT_QUOTAS).join(', ')}`);
    }
    const parsed = z.coerce.number().int().positive().safeParse(value);
    if (!parsed.success) throw new Error(`quota ${name} must be a positive integer, got "${value}"`);
    quotas[name as QuotaName] = parsed.data;
  }
  return Object.freeze(quotas);
}
