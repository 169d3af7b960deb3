import { describe, expect, it } from 'vitest';
import { ACCOUNT_QUOTA_NAMES, DEFAULT_QUOTAS, resolveQuotas } from '../../src/model/quotas.js';
import { checkTagKey, checkTags } from '../../src/model/tags.js';

describe('checkTags', () => {
  it('accepts the characters the model allows', () => {
    expect(checkTags([{ Key: 'team/Ünit_1.a:b=c+d-e f', Value: 'data' }])).toEqual([{ Key: 'team/Ünit_1.a:b=c+d-e f', Value: 'data' }]);
  });

  it('refuses @ in a key and in a value, as the model pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-] does', () => {
    expect(() => checkTagKey('owner@team')).toThrow(/Tags.Key "owner@team" has characters/);
    expect(() => checkTags([{ Key: 'owner', Value: 'me@example.com' }])).toThrow(/Tags.Value for key "owner"/);
  });

  it('refuses reserved prefixes and duplicate keys', () => {
    expect(() => checkTagKey('aws:x')).toThrow(/reserved prefix/);
    expect(() => checkTags([{ Key: 'a' }, { Key: 'a' }])).toThrow(/twice/);
  });
});

describe('quotas', () => {
  it('default to the AWS quotas; DescribeAccountAttributes lists all but the per-instance one', () => {
    expect(resolveQuotas(undefined)).toEqual(DEFAULT_QUOTAS);
    expect(ACCOUNT_QUOTA_NAMES).toContain('ReplicationTasks');
    expect(ACCOUNT_QUOTA_NAMES).not.toContain('TasksPerInstance');
  });

  it('take overrides by name', () => {
    expect(resolveQuotas('ReplicationTasks=2000, TasksPerInstance=1500')).toMatchObject({ ReplicationTasks: 2000, TasksPerInstance: 1500, Endpoints: 1000 });
  });

  it('refuse unknown names and numbers that are not positive integers', () => {
    expect(() => resolveQuotas('Tasks=5')).toThrow(/unknown quota "Tasks".*ReplicationTasks/);
    expect(() => resolveQuotas('Endpoints=0')).toThrow(/positive integer/);
    expect(() => resolveQuotas('Endpoints=many')).toThrow(/positive integer/);
  });
});
