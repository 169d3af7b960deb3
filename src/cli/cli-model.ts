/**
 * What the CLI reads from the botocore model beyond what the API layer needs: documentation for
 * `--help`, the paginators (auto-pagination) and the waiters (`opendms wait`). The service model
 * JSON module is the same one `api-model.ts` imports, so it is parsed once per process.
 */
import model from '../model/aws/dms-service-2.json' with { type: 'json' };
import paginators from '../model/aws/dms-paginators-1.json' with { type: 'json' };
import waiters from '../model/aws/dms-waiters-2.json' with { type: 'json' };

interface DocumentedModel {
  operations: Record<string, { documentation?: string }>;
  shapes: Record<string, { documentation?: string; members?: Record<string, { shape: string; documentation?: string }> }>;
}

const documented = model as unknown as DocumentedModel;

export interface Paginator {
  input_token: string;
  output_token: string;
  limit_key: string;
  result_key: string;
  non_aggregate_keys?: string[];
}

export interface WaiterAcceptor {
  matcher: 'path' | 'pathAll' | 'pathAny' | 'error' | 'status';
  expected: string | number | boolean;
  state: 'success' | 'failure' | 'retry';
  argument?: string;
}

export interface Waiter {
  operation: string;
  delay: number;
  maxAttempts: number;
  description?: string;
  acceptors: WaiterAcceptor[];
}

const paginatorTable = (paginators as unknown as { pagination: Record<string, Paginator> }).pagination;
const waiterTable = (waiters as unknown as { waiters: Record<string, Waiter> }).waiters;

export function operationDocumentation(operation: string): string {
  return htmlToText(documented.operations[operation]?.documentation ?? '');
}

/** One line for `opendms --help`: the first sentence that is not an <important> notice. */
export function operationSummary(operation: string): string {
  const html = documented.operations[operation]?.documentation ?? '';
  return firstSentence(htmlToText(html.replace(/<important>[\s\S]*?<\/important>/gi, ''))) || firstSentence(htmlToText(html));
}

export function memberDocumentation(structure: string, member: string): string {
  return htmlToText(documented.shapes[structure]?.members?.[member]?.documentation ?? '');
}

export function paginatorFor(operation: string): Paginator | undefined {
  return Object.hasOwn(paginatorTable, operation) ? paginatorTable[operation] : undefined;
}

export function waiterNames(): string[] {
  return Object.keys(waiterTable);
}

export function getWaiter(name: string): Waiter | undefined {
  return Object.hasOwn(waiterTable, name) ? waiterTable[name] : undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The model's documentation is HTML; help text is plain: keep paragraphs and list items, drop tags. */
export function htmlToText(html: string): string {
  return html
    .replace(/<li>/gi, '\n  * ')
    .replace(/<\/p>|<br\s*\/?>|<\/ul>|<\/ol>/gi, '\n')
    .replace(/<p>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#?\w+);/g, (m, e: string) => (e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : (ENTITIES[e] ?? m)))
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The first sentence, for one-line summaries in command and option lists. */
export function firstSentence(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  const m = /^(.*?[.!?])(\s|$)/.exec(line);
  return (m ? m[1]! : line).trim();
}
