/**
 * Marker/MaxRecords pagination as the DMS model describes it: MaxRecords 20..100 (default 100),
 * an opaque Marker in the response only when more records exist. Markers are offsets bound to
 * the operation (and its scope, e.g. the endpoint) by a hash, so one is not taken for another's.
 * The hash key is fixed, not per process: a client paging with the AWS CLI while the service
 * restarts keeps going. Guessing a marker gains nothing a smaller MaxRecords would not give.
 */
import { createHmac } from 'node:crypto';
import { invalidParameter } from '../model/faults.js';

const markerKey = 'opendms-pagination-marker-v1';

export interface PageLimits {
  min?: number;
  max?: number;
  default?: number;
}

export interface Page<T> {
  items: T[];
  marker?: string;
}

function sign(scope: string, offset: number): string {
  return createHmac('sha256', markerKey).update(`${scope}:${offset}`).digest('base64url').slice(0, 16);
}

export function paginate<T>(
  all: T[],
  input: { MaxRecords?: number; Marker?: string },
  scope: string,
  limits: PageLimits = {},
): Page<T> {
  const min = limits.min ?? 20;
  const max = limits.max ?? 100;
  const size = input.MaxRecords ?? limits.default ?? 100;
  if (size < min || size > max) {
    throw invalidParameter(`Invalid value for parameter MaxRecords: ${size}. It must be between ${min} and ${max}.`);
  }
  let offset = 0;
  if (input.Marker !== undefined) {
    const m = /^(\d+)\.([A-Za-z0-9_-]+)$/.exec(input.Marker);
    if (!m || sign(scope, Number(m[1])) !== m[2]) {
      throw invalidParameter('Invalid value for parameter Marker: use the Marker returned by the previous call of the same operation.');
    }
    offset = Number(m[1]);
  }
  const items = all.slice(offset, offset + size);
  const next = offset + size;
  return next < all.length ? { items, marker: `${next}.${sign(scope, next)}` } : { items };
}
