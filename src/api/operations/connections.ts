/**
 * Connections: TestConnection, DescribeConnections, DeleteConnection (spec §1.1).
 *
 * TestConnection records the pair as `testing` and answers at once; the test itself runs in the
 * background and records `successful` or `failed` with LastFailureMessage. It runs inside the
 * replication instance when the instance supervisor can relay it (the network path that matters
 * is the instance's), else in the control plane with the same `testConnection` function.
 */
import type { DeleteConnectionMessage, DescribeConnectionsMessage, TestConnectionMessage } from '@aws-sdk/client-database-migration-service';
import { testConnection } from '../../connectors/index.js';
import { failureText } from '../../connectors/errors.js';
import type { App } from '../../control/app.js';
import { storedSpecOf } from '../../control/endpoint-spec.js';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';
import { invalidState, notFound } from '../../model/faults.js';
import type { ConnectionRecord, EndpointRecord, ReplicationInstanceRecord } from '../../store/index.js';
import { applyFilters, type Filter } from '../filters.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { paginate } from '../pagination.js';
import { requireEndpoint, requireInstance } from './lookups.js';

/** How long a test relayed to an instance may take before it counts as failed. */
export const INSTANCE_TEST_TIMEOUT_MS = 30_000;

/** Tests in flight in this process, by pair; only the latest attempt for a pair records its result. */
const inFlight = new Map<string, number>();
let attempts = 0;

const pairKey = (endpointArn: string, instanceArn: string): string => `${endpointArn}\n${instanceArn}`;

/** True when an instance's refusal means "I cannot run that request" rather than "the test failed". */
function unsupportedByInstance(err: unknown): boolean {
  return /not supported|unsupported|unknown (request|message)|not implemented|is not connected/i.test(err instanceof Error ? err.message : String(err));
}

/** Runs the test where it belongs: in the instance if it can, otherwise here. */
async function runTest(app: App, instanceArn: string, spec: EndpointConnectionSpec): Promise<void> {
  try {
    await app.instances.request(instanceArn, { type: 'test-connection', endpoint: spec }, INSTANCE_TEST_TIMEOUT_MS);
  } catch (err) {
    if (!unsupportedByInstance(err)) throw err;
    app.log.debug({ instanceArn }, 'instance cannot test connections; testing from the control plane');
    await testConnection(spec);
  }
}

function record(endpoint: EndpointRecord, instance: ReplicationInstanceRecord, status: string, failure?: string): ConnectionRecord {
  return {
    ReplicationInstanceArn: instance.ReplicationInstanceArn,
    EndpointArn: endpoint.EndpointArn,
    Status: status,
    ...(failure !== undefined ? { LastFailureMessage: failure } : {}),
    EndpointIdentifier: endpoint.EndpointIdentifier,
    ReplicationInstanceIdentifier: instance.ReplicationInstanceIdentifier,
  };
}

export function testConnectionOperation(input: TestConnectionMessage, ctx: RequestContext): { Connection: ConnectionRecord } {
  const { app } = ctx;
  const instance = requireInstance(app, input.ReplicationInstanceArn!);
  const endpoint = requireEndpoint(app, input.EndpointArn!);
  if (instance.ReplicationInstanceStatus !== 'available') {
    throw invalidState(
      `Replication instance ${instance.ReplicationInstanceIdentifier} is ${instance.ReplicationInstanceStatus}; connections can be tested only from an available instance.`,
    );
  }
  const spec = storedSpecOf(app, endpoint);
  const testing = record(endpoint, instance, 'testing');
  app.store.connections.upsert(testing);

  const key = pairKey(endpoint.EndpointArn, instance.ReplicationInstanceArn);
  const attempt = ++attempts;
  inFlight.set(key, attempt);
  const finish = (status: 'successful' | 'failed', failure?: string): void => {
    if (inFlight.get(key) !== attempt) return;
    inFlight.delete(key);
    // The endpoint, instance or connection may have gone while the test ran: never resurrect them.
    const current = app.store.connections.get(endpoint.EndpointArn, instance.ReplicationInstanceArn);
    if (!current || current.Status !== 'testing') return;
    app.store.connections.upsert(record(endpoint, instance, status, failure));
    ctx.log.info({ endpointArn: endpoint.EndpointArn, instanceArn: instance.ReplicationInstanceArn, status }, 'connection test finished');
  };
  runTest(app, instance.ReplicationInstanceArn, spec)
    .then(
      () => finish('successful'),
      (err: unknown) => finish('failed', failureText(err, spec.password)),
    )
    // Recording the outcome can fail only if the store went away (shutdown): never crash for it.
    .catch((err: unknown) => app.log.warn({ err: failureText(err, spec.password) }, 'could not record a connection test result'));
  return { Connection: testing };
}

/** A `testing` row no test in this process will finish (the service restarted mid-test) becomes `failed`. */
function settleOrphans(app: App, connections: ConnectionRecord[]): ConnectionRecord[] {
  return connections.map((c) => {
    if (c.Status !== 'testing' || inFlight.has(pairKey(c.EndpointArn, c.ReplicationInstanceArn))) return c;
    const failed = { ...c, Status: 'failed', LastFailureMessage: 'The test was interrupted by a restart of the service; run TestConnection again.' };
    app.store.connections.upsert(failed);
    return failed;
  });
}

/** Identifiers as they are now: an endpoint or instance may have been renamed since its test. */
function withCurrentIdentifiers(app: App, c: ConnectionRecord): ConnectionRecord {
  const endpoint = app.store.endpoints.get(c.EndpointArn);
  const instance = app.store.instances.get(c.ReplicationInstanceArn);
  return {
    ...c,
    EndpointIdentifier: endpoint?.EndpointIdentifier ?? c.EndpointIdentifier,
    ReplicationInstanceIdentifier: instance?.ReplicationInstanceIdentifier ?? c.ReplicationInstanceIdentifier,
  };
}

export function describeConnections(input: DescribeConnectionsMessage, ctx: RequestContext): { Connections: ConnectionRecord[]; Marker?: string } {
  const all = settleOrphans(ctx.app, ctx.app.store.connections.list()).map((c) => withCurrentIdentifiers(ctx.app, c));
  const filtered = applyFilters(all, input.Filters as Filter[] | undefined, {
    'endpoint-arn': (c) => c.EndpointArn,
    'replication-instance-arn': (c) => c.ReplicationInstanceArn,
  });
  if (input.Filters?.length && filtered.length === 0) throw notFound('No Connections found matching provided filters');
  const page = paginate(filtered, input, 'DescribeConnections');
  return { Connections: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

export function deleteConnection(input: DeleteConnectionMessage, ctx: RequestContext): { Connection: ConnectionRecord } {
  const { app } = ctx;
  const existing = app.store.connections.get(input.EndpointArn!, input.ReplicationInstanceArn!);
  if (!existing) {
    throw notFound(`No connection between endpoint ${input.EndpointArn!} and replication instance ${input.ReplicationInstanceArn!} found. Check EndpointArn and ReplicationInstanceArn with DescribeConnections.`);
  }
  app.store.connections.delete(existing.EndpointArn, existing.ReplicationInstanceArn);
  inFlight.delete(pairKey(existing.EndpointArn, existing.ReplicationInstanceArn));
  return { Connection: { ...existing, Status: 'deleting' } };
}

export const connectionOperations: OperationTable = {
  TestConnection: testConnectionOperation,
  DescribeConnections: describeConnections,
  DeleteConnection: deleteConnection,
};
