/** AWS-form ARNs: arn:aws:dms:<region>:<account>:<type>:<26-char upper-case base32 id>. */
import { randomBytes } from 'node:crypto';

export type ArnResourceType = 'rep' | 'task' | 'endpoint' | 'subgrp' | 'cert' | 'es' | 'assessment-run';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function generateResourceId(): string {
  return Array.from(randomBytes(26), (b) => BASE32[b % 32]).join('');
}

export function makeArn(region: string, account: string, type: ArnResourceType, id: string): string {
  return `arn:aws:dms:${region}:${account}:${type}:${id}`;
}

export interface ParsedArn {
  region: string;
  account: string;
  type: string;
  id: string;
}

export function parseArn(arn: string): ParsedArn | undefined {
  const m = /^arn:aws[a-z-]*:dms:([a-z0-9-]+):(\d{12}):([a-z-]+):(.+)$/.exec(arn);
  return m ? { region: m[1]!, account: m[2]!, type: m[3]!, id: m[4]! } : undefined;
}

/** The ARN suffix: the "external resource id" control tables use as TASK_NAME. */
export function resourceIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
