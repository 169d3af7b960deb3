/**
 * `opendms wait <name>`: the botocore waiter algorithm driven by dms-waiters-2.json. Each attempt
 * calls the operation; the first acceptor that matches decides (success ends, failure aborts,
 * retry goes on); an error no acceptor expects aborts; after maxAttempts the waiter gives up.
 */
import jmespath from 'jmespath';
import type { Waiter, WaiterAcceptor } from './cli-model.js';

export class WaiterError extends Error {
  override name = 'WaiterError';
}

export interface CallOutcome {
  output?: unknown;
  /** The fault code when the call failed (`ResourceNotFoundFault`), with the error itself. */
  errorCode?: string;
  error?: unknown;
}

export interface WaitOptions {
  delay?: number;
  maxAttempts?: number;
  sleep?: (seconds: number) => Promise<void>;
}

const defaultSleep = (seconds: number): Promise<void> => new Promise((r) => setTimeout(r, seconds * 1000));

export function acceptorMatches(a: WaiterAcceptor, outcome: CallOutcome): boolean {
  if (a.matcher === 'error') {
    // `expected: true/false` means "any error" / "no error" in newer waiter definitions.
    if (typeof a.expected === 'boolean') return a.expected === (outcome.errorCode !== undefined);
    return outcome.errorCode === a.expected;
  }
  if (outcome.errorCode !== undefined) return false;
  if (a.matcher === 'status') return a.expected === 200;
  const result = jmespath.search(outcome.output as never, a.argument ?? '@') as unknown;
  if (a.matcher === 'path') return result === a.expected;
  if (!Array.isArray(result) || result.length === 0) return false;
  if (a.matcher === 'pathAll') return result.every((v) => v === a.expected);
  return result.some((v) => v === a.expected); // pathAny
}

export async function runWaiter(name: string, waiter: Waiter, attempt: () => Promise<CallOutcome>, options: WaitOptions = {}): Promise<void> {
  const delay = options.delay ?? waiter.delay;
  const maxAttempts = options.maxAttempts ?? waiter.maxAttempts;
  const sleep = options.sleep ?? defaultSleep;
  for (let n = 1; ; n++) {
    const outcome = await attempt();
    const accepted = waiter.acceptors.find((a) => acceptorMatches(a, outcome));
    if (accepted?.state === 'success') return;
    if (accepted?.state === 'failure') {
      const why =
        accepted.matcher === 'error'
          ? `the operation failed with ${String(outcome.errorCode)}`
          : `For expression "${accepted.argument}" we matched expected path: "${String(accepted.expected)}"`;
      throw new WaiterError(`Waiter ${name} failed: Waiter encountered a terminal failure state: ${why}`);
    }
    if (!accepted && outcome.errorCode !== undefined) {
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      throw new WaiterError(`Waiter ${name} failed: An error occurred (${outcome.errorCode}): ${message}`);
    }
    if (n >= maxAttempts) throw new WaiterError(`Waiter ${name} failed: Max attempts exceeded (${maxAttempts} attempts, ${delay}s apart)`);
    await sleep(delay);
  }
}
