/**
 * The CLI's only way to the service: the AWS SDK v3 client, signing with SigV4 exactly as any
 * other client would. The SDK is imported on first use so `--help` and usage errors stay fast.
 */
import type * as DmsSdk from '@aws-sdk/client-database-migration-service';
import type { CliConfig } from '../config/cli-config.js';
import { toPlain } from './output.js';

type Sdk = typeof DmsSdk;
type CommandCtor = new (input: Record<string, unknown>) => unknown;

let sdkPromise: Promise<Sdk> | undefined;

export type OperationCall = (operation: string, input: Record<string, unknown>) => Promise<Record<string, unknown>>;

export async function connect(config: CliConfig): Promise<OperationCall> {
  const sdk = await (sdkPromise ??= import('@aws-sdk/client-database-migration-service'));
  const client = new sdk.DatabaseMigrationServiceClient({ endpoint: config.endpointUrl, region: config.region, credentials: config.credentials });
  return async (operation, input) => {
    const Ctor = (sdk as unknown as Record<string, CommandCtor | undefined>)[`${operation}Command`];
    if (!Ctor) throw new Error(`this version of the AWS SDK has no ${operation}Command`);
    const output = await client.send(new Ctor(input) as Parameters<typeof client.send>[0]);
    return toPlain(output) as Record<string, unknown>;
  };
}

/** The fault code of a service error (`ResourceNotFoundFault`), or undefined for local errors. */
export function faultCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number }; $fault?: unknown };
  return e.$fault !== undefined && e.$metadata?.httpStatusCode !== undefined && typeof e.name === 'string' ? e.name : undefined;
}
