/**
 * Schemas of an endpoint: DescribeSchemas (read live over a real connection), RefreshSchemas and
 * DescribeRefreshSchemasStatus (spec §1.4).
 *
 * The refresh status is kept in the endpoint's stored document under a private member, which the
 * API never returns as part of an Endpoint (the model's Endpoint shape does not declare it), so it
 * survives restarts and goes away with the endpoint. ModifyEndpoint starts the document afresh, so
 * it also resets the status: the schemas may differ at the new address.
 */
import type { DescribeRefreshSchemasStatusMessage, DescribeSchemasMessage, RefreshSchemasMessage } from '@aws-sdk/client-database-migration-service';
import { listSchemas } from '../../connectors/index.js';
import { ConnectionError, failureText } from '../../connectors/errors.js';
import type { App } from '../../control/app.js';
import { storedSpecOf } from '../../control/endpoint-spec.js';
import { invalidState, notFound } from '../../model/faults.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { paginate } from '../pagination.js';
import { requireEndpoint, requireInstance } from './lookups.js';

const STATUS_MEMBER = 'opendmsRefreshSchemasStatus';

interface RefreshStatus {
  EndpointArn: string;
  ReplicationInstanceArn: string;
  Status: 'refreshing' | 'successful' | 'failed';
  LastRefreshDate?: string;
  LastFailureMessage?: string;
}

/** Refreshes running in this process, by endpoint; a `refreshing` status without one was cut short by a restart. */
const running = new Map<string, number>();
let attempts = 0;

function storeStatus(app: App, arn: string, status: RefreshStatus): void {
  const current = app.store.endpoints.get(arn);
  if (current) app.store.endpoints.update({ ...current, [STATUS_MEMBER]: status });
}

export async function describeSchemas(input: DescribeSchemasMessage, ctx: RequestContext): Promise<{ Schemas: string[]; Marker?: string }> {
  const endpoint = requireEndpoint(ctx.app, input.EndpointArn!);
  let schemas: string[];
  try {
    schemas = await listSchemas(storedSpecOf(ctx.app, endpoint));
  } catch (err) {
    if (err instanceof ConnectionError) throw invalidState(`Cannot read the schemas of endpoint ${endpoint.EndpointIdentifier}: ${err.message}`);
    throw err;
  }
  const page = paginate(schemas, input, `DescribeSchemas:${endpoint.EndpointArn}`);
  return { Schemas: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

export function refreshSchemas(input: RefreshSchemasMessage, ctx: RequestContext): { RefreshSchemasStatus: RefreshStatus } {
  const { app } = ctx;
  const endpoint = requireEndpoint(app, input.EndpointArn!);
  const instance = requireInstance(app, input.ReplicationInstanceArn!);
  if (instance.ReplicationInstanceStatus !== 'available') {
    throw invalidState(`Replication instance ${instance.ReplicationInstanceIdentifier} is ${instance.ReplicationInstanceStatus}; schemas can be refreshed only through an available instance.`);
  }
  const arn = endpoint.EndpointArn;
  const base = { EndpointArn: arn, ReplicationInstanceArn: instance.ReplicationInstanceArn };
  const refreshing: RefreshStatus = { ...base, Status: 'refreshing', LastRefreshDate: new Date().toISOString() };
  storeStatus(app, arn, refreshing);
  const attempt = ++attempts;
  running.set(arn, attempt);
  const spec = storedSpecOf(app, endpoint);
  const finish = (status: RefreshStatus): void => {
    if (running.get(arn) !== attempt) return;
    running.delete(arn);
    storeStatus(app, arn, status);
  };
  listSchemas(spec)
    .then(
      () => finish({ ...base, Status: 'successful', LastRefreshDate: new Date().toISOString() }),
      (err: unknown) =>
        finish({ ...base, Status: 'failed', LastRefreshDate: new Date().toISOString(), LastFailureMessage: failureText(err, spec.password) }),
    )
    // Recording the outcome can fail only if the store went away (shutdown): never crash for it.
    .catch((err: unknown) => app.log.warn({ err: failureText(err, spec.password) }, 'could not record a schema refresh result'));
  return { RefreshSchemasStatus: refreshing };
}

export function describeRefreshSchemasStatus(input: DescribeRefreshSchemasStatusMessage, ctx: RequestContext): { RefreshSchemasStatus: RefreshStatus } {
  const endpoint = requireEndpoint(ctx.app, input.EndpointArn!);
  const status = endpoint[STATUS_MEMBER] as RefreshStatus | undefined;
  if (!status) throw notFound(`Schemas of endpoint ${endpoint.EndpointIdentifier} were never refreshed; call RefreshSchemas first.`);
  if (status.Status === 'refreshing' && !running.has(endpoint.EndpointArn)) {
    const failed: RefreshStatus = { ...status, Status: 'failed', LastFailureMessage: 'The refresh was interrupted by a restart of the service; run RefreshSchemas again.' };
    storeStatus(ctx.app, endpoint.EndpointArn, failed);
    return { RefreshSchemasStatus: failed };
  }
  return { RefreshSchemasStatus: status };
}

export const schemaOperations: OperationTable = {
  DescribeSchemas: describeSchemas,
  RefreshSchemas: refreshSchemas,
  DescribeRefreshSchemasStatus: describeRefreshSchemasStatus,
};
