import { migration001 } from './001-initial.js';
import { migration030 } from './030-task-describe-index.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema migration, in order. Append new ones; never edit one that has shipped. */
export const migrations: Migration[] = [migration001, migration030];
