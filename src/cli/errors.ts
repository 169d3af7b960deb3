/**
 * The AWS CLI's exit codes, so scripts that branch on `$?` behave the same with opendms:
 * 252 usage (bad option or value), 253 no credentials, 254 the service answered with a fault,
 * 255 anything else (connection refused, waiter failure).
 */
export const EXIT = { ok: 0, usage: 252, credentials: 253, fault: 254, other: 255 } as const;

/** A mistake on the command line; printed with the command's usage hint, exit 252. */
export class UsageError extends Error {
  override name = 'UsageError';
}
