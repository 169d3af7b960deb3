/**
 * Finding the resource an input ARN names, for every operation that takes one: a missing one is
 * ResourceNotFoundFault naming the member and where to find valid ARNs, worded the same everywhere.
 */
import type { App } from '../../control/app.js';
import { notFound } from '../../model/faults.js';
import type { EndpointRecord, ReplicationInstanceRecord } from '../../store/index.js';

export function requireEndpoint(app: App, arn: string, member = 'EndpointArn'): EndpointRecord {
  const endpoint = app.store.endpoints.get(arn);
  if (!endpoint) throw notFound(`Endpoint ${arn} (${member}) not found. Check the ARN with DescribeEndpoints.`);
  return endpoint;
}

export function requireInstance(app: App, arn: string, member = 'ReplicationInstanceArn'): ReplicationInstanceRecord {
  const instance = app.store.instances.get(arn);
  if (!instance) throw notFound(`Replication instance ${arn} (${member}) not found. Check the ARN with DescribeReplicationInstances.`);
  return instance;
}
