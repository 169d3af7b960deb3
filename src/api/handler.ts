/** What an operation handler receives and returns. One module per resource family registers handlers. */
import type { Logger } from '../config/logger.js';
import type { App } from '../control/app.js';

export interface RequestContext {
  app: App;
  requestId: string;
  log: Logger;
}

/**
 * Input is the request body after model validation (timestamps are Dates). Handlers cast it to the
 * SDK's input type for the operation and return an object shaped like the output shape; the
 * protocol layer drops anything the output shape does not declare.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationHandler = (input: any, ctx: RequestContext) => unknown;

export type OperationTable = Record<string, OperationHandler>;
