/**
 * Auto-pagination as the AWS CLI does it: follow `Marker` until the service stops returning one
 * and merge the result lists into one response. `--max-items` stops early and hands back a
 * `NextToken` that `--starting-token` resumes from (it carries the marker and how many items of
 * that page were already shown, so a cut in the middle of a page loses nothing).
 */
import type { Paginator } from './cli-model.js';
import { UsageError } from './errors.js';

export interface PaginationOptions {
  maxItems?: number;
  startingToken?: string;
  pageSize?: number;
}

type Call = (input: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Token {
  Marker?: string;
  skip: number;
}

export function encodeToken(t: Token): string {
  return Buffer.from(JSON.stringify(t)).toString('base64');
}

export function decodeToken(raw: string): Token {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Token;
    if (typeof t.skip === 'number' && (t.Marker === undefined || typeof t.Marker === 'string')) return t;
  } catch {
    // fall through to the usage error
  }
  throw new UsageError('--starting-token: not a NextToken printed by a previous opendms call with --max-items');
}

export async function paginate(call: Call, paginator: Paginator, input: Record<string, unknown>, options: PaginationOptions): Promise<Record<string, unknown>> {
  const { input_token: inToken, output_token: outToken, limit_key: limitKey, result_key: resultKey } = paginator;
  const start = options.startingToken ? decodeToken(options.startingToken) : { skip: 0 };
  let marker = start.Marker;
  let skip = start.skip;
  const items: unknown[] = [];
  let first: Record<string, unknown> | undefined;
  for (;;) {
    const pageInput = { ...input };
    if (marker !== undefined) pageInput[inToken] = marker;
    if (options.pageSize !== undefined) pageInput[limitKey] = options.pageSize;
    const page = await call(pageInput);
    first ??= page;
    const pageItems = (Array.isArray(page[resultKey]) ? (page[resultKey] as unknown[]) : []).slice(skip);
    const next = typeof page[outToken] === 'string' && page[outToken] !== '' ? (page[outToken] as string) : undefined;
    if (options.maxItems !== undefined && items.length + pageItems.length >= options.maxItems) {
      const take = options.maxItems - items.length;
      items.push(...pageItems.slice(0, take));
      const consumedWholePage = take === pageItems.length;
      const token = consumedWholePage ? (next === undefined ? undefined : { Marker: next, skip: 0 }) : { ...(marker !== undefined ? { Marker: marker } : {}), skip: skip + take };
      return merge(paginator, first, items, token);
    }
    items.push(...pageItems);
    skip = 0;
    if (next === undefined || next === marker) return merge(paginator, first, items, undefined);
    marker = next;
  }
}

/**
 * The merged result holds what botocore's build_full_result keeps: the result list, the
 * NextToken, and the paginator's non-aggregate keys; other members of the first page are not
 * repeated, so `--query` behaves as it does with `aws`.
 */
function merge(paginator: Paginator, first: Record<string, unknown>, items: unknown[], token: Token | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { [paginator.result_key]: items };
  if (token) out.NextToken = encodeToken(token);
  for (const k of paginator.non_aggregate_keys ?? []) if (first[k] !== undefined) out[k] = first[k];
  return out;
}
