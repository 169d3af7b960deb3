import { describe, expect, it } from 'vitest';
import { ACCOUNT_QUOTAS } from '../../src/api/operations/account.js';
import { QUOTAS } from '../../src/model/quotas.js';
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

describe('account quotas', () => {
  it('DescribeAccountAttributes reports the same maxima the operations enforce (one table)', () => {
    expect(Object.fromEntries(ACCOUNT_QUOTAS.map((q) => [q.name, q.max]))).toEqual(QUOTAS);
  });
});
