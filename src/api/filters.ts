/**
 * Describe* filters: `[{Name, Values}]`. Values within one filter are ORed, filters are ANDed.
 * Each operation declares the filter names it knows and how to read them off a resource; any
 * other name is refused, naming the allowed ones.
 */
import { invalidParameter } from '../model/faults.js';

export interface Filter {
  Name: string;
  Values: string[];
}

export type FilterFields<T> = Record<string, (item: T) => string | string[] | undefined>;

export function applyFilters<T>(items: T[], filters: Filter[] | undefined, fields: FilterFields<T>, caseInsensitive: string[] = []): T[] {
  if (!filters?.length) return items;
  for (const f of filters) {
    if (!Object.hasOwn(fields, f.Name)) {
      throw invalidParameter(`Invalid filter name "${f.Name}". Valid filter names: ${Object.keys(fields).join(', ')}.`);
    }
  }
  return items.filter((item) =>
    filters.every((f) => {
      const raw = fields[f.Name]!(item);
      const have = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((v) => (caseInsensitive.includes(f.Name) ? v.toLowerCase() : v));
      return f.Values.some((v) => have.includes(caseInsensitive.includes(f.Name) ? v.toLowerCase() : v));
    }),
  );
}
