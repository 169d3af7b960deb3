import { describe, expect, it } from 'vitest';
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
