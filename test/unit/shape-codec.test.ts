/** Model-driven validation and serialization. */
import { describe, expect, it } from 'vitest';
import { decodeInput, encodeOutput } from '../../src/api/shape-codec.js';

describe('decodeInput', () => {
  it('requires required members and names them', () => {
    expect(() => decodeInput('CreateEndpointMessage', { EndpointType: 'source' })).toThrow(/EndpointIdentifier/);
  });

  it('checks enums, types and nested paths', () => {
    expect(() => decodeInput('CreateEndpointMessage', { EndpointIdentifier: 'a', EndpointType: 'sideways', EngineName: 'postgres' })).toThrow(
      /EndpointType.*source/,
    );
    expect(() => decodeInput('DescribeEndpointsMessage', { Filters: [{ Name: 'x', Values: 'y' }] })).toThrow(/Filters\[0\]\.Values/);
    expect(() => decodeInput('DescribeEndpointsMessage', { MaxRecords: 1.5 })).toThrow(/MaxRecords/);
    expect(() => decodeInput('CreateReplicationInstanceMessage', { ReplicationInstanceIdentifier: 'a', ReplicationInstanceClass: 'x'.repeat(31) })).toThrow(
      /ReplicationInstanceClass.*at most 30/,
    );
  });

  it('turns timestamps into Dates (epoch seconds and ISO without zone as UTC)', () => {
    const a = decodeInput('CreateReplicationTaskMessage', {
      ReplicationTaskIdentifier: 't',
      SourceEndpointArn: 's',
      TargetEndpointArn: 't',
      ReplicationInstanceArn: 'r',
      MigrationType: 'cdc',
      TableMappings: '{}',
      CdcStartTime: 1590524772.5,
    });
    expect((a.CdcStartTime as Date).toISOString()).toBe('2020-05-26T20:26:12.500Z');
    const b = decodeInput('StartReplicationTaskMessage', {
      ReplicationTaskArn: 'x',
      StartReplicationTaskType: 'start-replication',
      CdcStartTime: '2018-03-08T12:12:12',
    });
    expect((b.CdcStartTime as Date).toISOString()).toBe('2018-03-08T12:12:12.000Z');
  });

  it('ignores members the model does not know (newer clients)', () => {
    expect(decodeInput('DescribeEndpointsMessage', { Future: 1 })).toEqual({});
  });
});

describe('encodeOutput', () => {
  it('drops undeclared and sensitive members and writes epoch-second timestamps', () => {
    const out = encodeOutput('CreateEndpointResponse', {
      Endpoint: {
        EndpointIdentifier: 'e',
        Password: 'secret',
        Internal: 'x',
        PostgreSQLSettings: { Password: 'secret', SlotName: 'slot' },
      },
    });
    expect(out).toEqual({ Endpoint: { EndpointIdentifier: 'e', PostgreSQLSettings: { SlotName: 'slot' } } });
    const inst = encodeOutput('DescribeReplicationInstancesResponse', {
      ReplicationInstances: [{ InstanceCreateTime: '2020-05-26T20:26:12.500Z' }],
    });
    expect(inst).toEqual({ ReplicationInstances: [{ InstanceCreateTime: 1590524772.5 }] });
  });
});

describe('enum values the model lacks', () => {
  it('accepts SourceType replication-task (documented, missing from the model enum)', () => {
    expect(decodeInput('DescribeEventsMessage', { SourceType: 'replication-task' })).toEqual({ SourceType: 'replication-task' });
    expect(() => decodeInput('DescribeEventsMessage', { SourceType: 'endpoint-ish' })).toThrow(/replication-instance, replication-task/);
  });
});
