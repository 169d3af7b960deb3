/** Every implemented operation, by name. Each resource family lives in its own module. */
import type { OperationTable } from '../handler.js';

export const operations: OperationTable = {
};
