/**
 * PostgreSQL driver errors classified once, at the connector boundary: retryable (the connection
 * or the server went away, a transient conflict) or not (the data or the schema is wrong, which a
 * retry cannot fix).
 */

export interface ClassifiedError {
  retryable: boolean;
  /** SQLSTATE or Node error code, when there is one. */
  code?: string;
  message: string;
}

/** SQLSTATE classes and codes that a reconnect or a retry can clear. */
const RETRYABLE_SQLSTATE_PREFIXES = ['08', '53', '57P'];
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55P03', '58030']);
/** In class 08 but not transient: a protocol violation (e.g. binary COPY data the server cannot read) repeats on retry. */
const NOT_RETRYABLE_SQLSTATES = new Set(['08P01']);
const RETRYABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const RETRYABLE_MESSAGES = [/Connection terminated/i, /not queryable/i, /terminating connection/i, /connection ended/i, /Client has encountered a connection error/i, /timeout expired/i, /socket hang up/i];

export function classifyPostgresError(err: unknown): ClassifiedError {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  let retryable = false;
  if (code !== undefined && !NOT_RETRYABLE_SQLSTATES.has(code)) {
    retryable = RETRYABLE_SQLSTATES.has(code) || RETRYABLE_NODE_CODES.has(code) || RETRYABLE_SQLSTATE_PREFIXES.some((p) => code.startsWith(p));
  }
  if (!retryable && code === undefined) retryable = RETRYABLE_MESSAGES.some((re) => re.test(message));
  return code === undefined ? { retryable, message } : { retryable, code, message };
}

/**
 * The connection or the server went away (SQLSTATE classes 08 and 57P, or a socket error): the
 * same work on a new connection may well succeed. Narrower than `retryable`, which also covers
 * resource limits and conflicts.
 */
export function isConnectionLoss(err: unknown): boolean {
  const c = classifyPostgresError(err);
  if (c.code === undefined) return c.retryable;
  return !NOT_RETRYABLE_SQLSTATES.has(c.code) && (c.code.startsWith('08') || c.code.startsWith('57P') || RETRYABLE_NODE_CODES.has(c.code));
}
