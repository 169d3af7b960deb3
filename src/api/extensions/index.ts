/**
 * opendms's own API operations, beyond AWS DMS, under their own X-Amz-Target prefix so AWS
 * clients never meet them: `OpenDmsExtensions20261101.<Operation>`, AWS JSON 1.1, SigV4 like the
 * rest. Inputs are checked here (they are not in the AWS model); outputs are sent as returned.
 *
 *   UpgradeReplicationInstance          {SourceReplicationInstanceArn, TargetReplicationInstanceArn,
 *                                        MaxConcurrent?, MaxCdcLatencySeconds?, HealthCheckTimeoutSeconds?, DryRun?}
 *                                        -> {Upgrade}  (DryRun: the plan and each task's pre-handover
 *                                        checks, `Preparation` or `WouldBlock`; nothing changes)
 *   DescribeReplicationInstanceUpgrades {UpgradeId?} -> {Upgrades: [...]} newest first
 */
import { z } from 'zod';
import { invalidParameter } from '../../model/faults.js';
import type { RequestContext } from '../handler.js';

export const EXTENSIONS_TARGET_PREFIX = 'OpenDmsExtensions20261101';

export type ExtensionHandler = (input: unknown, ctx: RequestContext) => unknown;

/** Parses with zod; a bad input is InvalidParameterValueException naming the member. */
function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw invalidParameter(`Invalid ${issue.path.join('.') || 'input'}: ${issue.message}.`);
}

const upgradeInput = z
  .object({
    SourceReplicationInstanceArn: z.string().min(1),
    TargetReplicationInstanceArn: z.string().min(1),
    MaxConcurrent: z.number().int().min(1).max(20).optional(),
    MaxCdcLatencySeconds: z.number().positive().optional(),
    HealthCheckTimeoutSeconds: z.number().positive().optional(),
    DryRun: z.boolean().optional(),
  })
  .strict();

const describeInput = z.object({ UpgradeId: z.string().min(1).optional() }).strict();

export const extensionOperations: Record<string, ExtensionHandler> = {
  UpgradeReplicationInstance: async (raw, { app }) => {
    const input = parse(upgradeInput, raw);
    const upgrade = await app.upgrades.begin({
      sourceArn: input.SourceReplicationInstanceArn,
      targetArn: input.TargetReplicationInstanceArn,
      ...(input.MaxConcurrent !== undefined ? { maxConcurrent: input.MaxConcurrent } : {}),
      ...(input.MaxCdcLatencySeconds !== undefined ? { maxCdcLatencySeconds: input.MaxCdcLatencySeconds } : {}),
      ...(input.HealthCheckTimeoutSeconds !== undefined ? { healthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds } : {}),
      ...(input.DryRun !== undefined ? { dryRun: input.DryRun } : {}),
    });
    return { Upgrade: upgrade };
  },
  DescribeReplicationInstanceUpgrades: (raw, { app }) => {
    const input = parse(describeInput, raw);
    return { Upgrades: app.upgrades.describe(input.UpgradeId) };
  },
};
