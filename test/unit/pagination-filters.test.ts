import { describe, expect, it, vi } from 'vitest';
import { applyFilters } from '../../src/api/filters.js';
import { paginate } from '../../src/api/pagination.js';

describe('paginate', () => {
  const items = Array.from({ length: 45 }, (_, i) => i);

  it('walks every item exactly once with markers', () => {
    const seen: number[] = [];
    let marker: string | undefined;
    do {
      const page = paginate(items, { MaxRecords: 20, ...(marker ? { Marker: marker } : {}) }, 'op');
      seen.push(...page.items);
      marker = page.marker;
    } while (marker);
    expect(seen).toEqual(items);
  });

  it('refuses out-of-range MaxRecords and forged or foreign markers', () => {
    expect(() => paginate(items, { MaxRecords: 5 }, 'op')).toThrow(/between 20 and 100/);
    expect(() => paginate(items, { MaxRecords: 101 }, 'op')).toThrow(/MaxRecords/);
    const page = paginate(items, { MaxRecords: 20 }, 'op');
    expect(() => paginate(items, { Marker: page.marker! }, 'other-op')).toThrow(/Marker/);
    expect(() => paginate(items, { Marker: '20.forged' }, 'op')).toThrow(/Marker/);
  });

  it('has no marker on the last page', () => {
    expect(paginate(items, {}, 'op').marker).toBeUndefined();
  });
});

describe('applyFilters', () => {
  const rows = [
    { id: 'a', kind: 'source' },
    { id: 'b', kind: 'target' },
    { id: 'c', kind: 'source' },
  ];
  const fields = { 'endpoint-id': (r: { id: string }) => r.id, 'endpoint-type': (r: { kind: string }) => r.kind };

  it('ORs values and ANDs filters', () => {
    expect(applyFilters(rows, [{ Name: 'endpoint-type', Values: ['source'] }], fields).map((r) => r.id)).toEqual(['a', 'c']);
    expect(
      applyFilters(rows, [{ Name: 'endpoint-type', Values: ['source'] }, { Name: 'endpoint-id', Values: ['c', 'b'] }], fields).map((r) => r.id),
    ).toEqual(['c']);
  });

  it('refuses unknown filter names, listing the valid ones', () => {
    expect(() => applyFilters(rows, [{ Name: 'colour', Values: ['x'] }], fields)).toThrow(/endpoint-id, endpoint-type/);
  });
});

describe('markers across a restart', () => {
  it('a marker from one service process is accepted by the next (fresh module state)', async () => {
    vi.resetModules();
    const before = await import('../../src/api/pagination.js');
    const first = before.paginate(Array.from({ length: 30 }, (_, i) => i), { MaxRecords: 20 }, 'DescribeThings');
    vi.resetModules();
    const after = await import('../../src/api/pagination.js');
    expect(after.paginate(Array.from({ length: 30 }, (_, i) => i), { MaxRecords: 20, Marker: first.marker }, 'DescribeThings').items).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(() => after.paginate([1, 2, 3], { MaxRecords: 20, Marker: first.marker }, 'DescribeOtherThings')).toThrow(/Marker/);
  });
});
